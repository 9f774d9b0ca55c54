/**
 * Opening archives given by path: a regular file (plain, gzip or zstd, known from its first bytes) or
 * a stream such as /dev/stdin or a FIFO (compression detected as it flows). Random access needs an
 * uncompressed regular file, so anything else is first copied, decompressed, into a private temp dir.
 */
import { createReadStream, createWriteStream, open as openFd, type Stats } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { pipeline, type Readable } from 'node:stream';
import { pipeline as pipelineAsync } from 'node:stream/promises';
import { autoDecompressStream, decompressStream } from '../../compression/codecs.js';
import { type DetectedCompression, detectCompression, MAGIC_LENGTH } from '../../compression/detect.js';
import { FerryError } from '../../errors.js';
import { makePrivateTempDir } from '../shared/temp-dir.js';
import { archiveError } from './archive-error.js';

export interface PlainTar {
  /** An uncompressed tar file. */
  readonly path: string;
  /** Removes the temp copy, if one was made. Safe to call twice. */
  close(): Promise<void>;
}

/** Stats an archive path: IMAGE_NOT_FOUND when it cannot be opened, INVALID_ARCHIVE for a directory. */
export async function statArchive(path: string): Promise<Stats> {
  const st = await stat(path).catch((e: unknown) => {
    throw new FerryError('IMAGE_NOT_FOUND', `cannot open archive "${path}": ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  });
  if (st.isDirectory()) {
    throw new FerryError('INVALID_ARCHIVE', `archive "${path}" is a directory, not a tar file`, { details: { path } });
  }
  return st;
}

async function compressionOfFile(path: string): Promise<DetectedCompression> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAGIC_LENGTH);
      const { bytesRead } = await fh.read(buf, 0, MAGIC_LENGTH, 0);
      return detectCompression(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw archiveError(path, e);
  }
}

/**
 * A FIFO or socket read as a libuv pipe: a file stream's pending read blocks a thread and holds its
 * destroy until data comes, so an abort (Ctrl-C) would wait on the writer; a pipe's stops at once.
 */
async function openPipe(path: string): Promise<Readable> {
  const fd = await new Promise<number>((resolve, reject) =>
    openFd(path, 'r', (e, fd) => (e ? reject(e) : resolve(fd))),
  );
  return new Socket({ fd, readable: true, writable: false });
}

/** The uncompressed bytes of the archive at `path` (stat it first with statArchive). */
export async function readArchive(path: string, st: Stats): Promise<Readable> {
  if (!st.isFile()) {
    const raw = st.isFIFO() || st.isSocket() ? await openPipe(path) : createReadStream(path);
    try {
      return (await autoDecompressStream(raw)).stream;
    } catch (e) {
      throw archiveError(path, e);
    }
  }
  const algorithm = await compressionOfFile(path);
  if (algorithm === 'none') return createReadStream(path);
  const decompressor = decompressStream(algorithm); // throws for bzip2/xz before a file is opened
  return pipeline(createReadStream(path), decompressor, () => {});
}

/**
 * A tar arriving as a stream (`name`: what errors call it), copied, decompressed if it is compressed,
 * into a private temp dir under `tmpDir`: random access needs a file. close() removes the copy.
 */
export async function spoolPlainTar(
  stream: Readable,
  name: string,
  tmpDir?: string,
  signal?: AbortSignal,
): Promise<PlainTar> {
  const dir = await makePrivateTempDir(tmpDir, 'archive');
  return copyToTemp(dir, name, signal, async () => {
    try {
      return (await autoDecompressStream(stream)).stream;
    } catch (e) {
      throw archiveError(name, e);
    }
  });
}

/** Writes `contents()` into `dir`/archive.tar; the PlainTar removes `dir` on close, as does a failure here. */
async function copyToTemp(
  dir: string,
  name: string,
  signal: AbortSignal | undefined,
  contents: () => Promise<Readable>,
): Promise<PlainTar> {
  const copy = join(dir, 'archive.tar');
  try {
    await pipelineAsync(await contents(), createWriteStream(copy, { flags: 'wx', mode: 0o600 }), { signal });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw archiveError(name, e, signal);
  }
  let closed = false;
  return {
    path: copy,
    async close() {
      if (closed) return;
      closed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The archive at `path` as an uncompressed tar file: the file itself when it is a regular, uncompressed
 * file; otherwise a decompressed copy in a private temp dir under `tmpDir`, removed by close().
 */
export async function openPlainTar(path: string, tmpDir?: string, signal?: AbortSignal): Promise<PlainTar> {
  const st = await statArchive(path);
  if (st.isFile() && (await compressionOfFile(path)) === 'none') return { path, close: async () => {} };
  const dir = await makePrivateTempDir(tmpDir, 'archive');
  return copyToTemp(dir, path, signal, () => readArchive(path, st));
}
