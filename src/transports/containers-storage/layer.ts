/**
 * Writing one layer into the store (what containers/storage's PutLayer/ApplyDiff does for vfs) and
 * reading it back as the exact tar it came from (layer Diff with tar-split).
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { autoDecompressStream } from '../../compression/codecs.js';
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { tempName } from '../../util/temp.js';
import { createOverlayLayer, removeOverlayLayer } from './overlay.js';
import { memberComponents, resolveInRoot } from './rootfs.js';
import { COMPRESSION_CODE, type Store } from './store.js';
import { Crc64, decodeEntry, disassembleTar, FILE_TYPE } from './tar-split.js';
import { copyLayerTree, LayerApplier } from './vfs.js';

/** Removes a layer's files: its directories (and overlay short link) and its tar-split data. */
export async function removeLayerFiles(store: Store, id: string): Promise<void> {
  if (store.driver === 'overlay') await removeOverlayLayer(store, id);
  else await rm(store.layerDir(id), { recursive: true, force: true });
  await rm(store.tarSplitPath(id), { force: true });
  await rm(join(store.layersDir, id), { recursive: true, force: true });
}

export interface WrittenLayer {
  diffID: Digest;
  diffSize: number;
  compression: number;
  uids: number[];
  gids: number[];
}

/**
 * Creates layer `id` on top of `parent` from `blob` (compressed or not): copies the parent's tree,
 * applies the diff, writes `id.tar-split.gz`. The caller holds the layers lock and has recorded the
 * layer as incomplete.
 */
export async function writeLayer(
  store: Store,
  id: string,
  parent: string | undefined,
  blob: Readable,
  what: string,
): Promise<WrittenLayer> {
  const dir = store.layerDir(id);
  if (store.driver === 'overlay') {
    await createOverlayLayer(store, id, parent);
  } else {
    await rm(dir, { recursive: true, force: true });
    if (parent === undefined) await mkdir(dir, { mode: 0o555 });
    else await copyLayerTree(store.layerDir(parent), dir);
  }

  const { stream, algorithm } = await autoDecompressStream(blob);
  if (algorithm !== 'none' && algorithm !== 'gzip' && algorithm !== 'zstd') {
    throw new FerryError('UNSUPPORTED_COMPRESSION', `${what}: ${algorithm}-compressed layers are not supported`);
  }
  const hash = createHash('sha256');
  let diffSize = 0;
  const hashed = (async function* () {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      diffSize += chunk.length;
      yield chunk;
    }
  })();

  const tsTemp = join(store.layersDir, tempName('.ferry-tar-split-'));
  const gzip = createGzip();
  const out = createWriteStream(tsTemp, { mode: 0o600 });
  const written = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
    gzip.on('error', reject);
  });
  // On a failure below nothing awaits it: a write after the destroy must not be an unhandled rejection.
  written.catch(() => {});
  gzip.pipe(out);
  const applier = new LayerApplier(dir, store.driver === 'overlay' ? 'overlay' : 'vfs');
  try {
    await disassembleTar(
      hashed,
      what,
      (line) => gzip.write(line),
      (m, contents) => applier.apply(m, contents),
    );
    await applier.finish();
    gzip.end();
    await written;
    await rename(tsTemp, store.tarSplitPath(id));
  } catch (e) {
    gzip.destroy();
    out.destroy();
    await rm(tsTemp, { force: true });
    throw e;
  }
  const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
  return {
    diffID: `sha256:${hash.digest('hex')}`,
    diffSize,
    compression: COMPRESSION_CODE[algorithm],
    uids: sorted(applier.uids),
    gids: sorted(applier.gids),
  };
}

/**
 * Longest tar-split line read: one member's headers (at most 16 MiB of extension headers, see
 * tar-split.ts) base64-encoded in JSON stay well under it; a longer line is a damaged or crafted file.
 */
const MAX_TAR_SPLIT_LINE = 32 * 1024 * 1024;

/** The lines of a gzipped tar-split file, each scanned once (a newline is looked for in new bytes only). */
async function* lines(path: string): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  for await (const data of createReadStream(path).pipe(createGunzip())) {
    let chunk = data as Buffer;
    let nl = chunk.indexOf(0x0a);
    while (nl !== -1) {
      pending.push(chunk.subarray(0, nl));
      yield Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingLength = 0;
      chunk = chunk.subarray(nl + 1);
      nl = chunk.indexOf(0x0a);
    }
    pending.push(chunk);
    pendingLength += chunk.length;
    if (pendingLength > MAX_TAR_SPLIT_LINE) {
      throw new FerryError(
        'INVALID_LAYOUT',
        `${path}: invalid tar-split data: a line is longer than ${MAX_TAR_SPLIT_LINE} bytes`,
        { details: { path } },
      );
    }
  }
  const rest = Buffer.concat(pending).toString('utf8');
  if (rest.trim() !== '') yield rest;
}

/**
 * The layer's tar, byte for byte as it was stored: tar-split segments, and member contents read
 * from the layer directory and checked against their recorded CRC-64 and size.
 */
export async function* assembleLayer(store: Store, id: string, what: string): AsyncGenerator<Buffer> {
  const root = store.layerDir(id);
  const tsPath = store.tarSplitPath(id);
  try {
    await lstat(tsPath);
  } catch {
    throw new FerryError(
      'BLOB_NOT_FOUND',
      `${what}: layer ${id} has no tar-split data (${tsPath}), so its tar cannot be rebuilt exactly`,
      {
        details: { layer: id },
      },
    );
  }
  for await (const line of lines(tsPath)) {
    if (line === '') continue;
    const e = decodeEntry(line, tsPath);
    if (e.type !== FILE_TYPE) {
      if (e.payload !== undefined && e.payload.length > 0) yield e.payload;
      continue;
    }
    const size = e.size ?? 0;
    if (size === 0) continue;
    const name = (e.name ?? Buffer.alloc(0)).toString('utf8');
    const parts = memberComponents(name);
    if (parts.length === 0) throw new FerryError('INVALID_LAYOUT', `${tsPath}: a file entry names the layer root`);
    const parent = await resolveInRoot(root, parts.slice(0, -1), name);
    const path = join(parent, parts[parts.length - 1] as string);
    // O_NOFOLLOW: a later member may have replaced the file with a symbolic link (to a host file).
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
      throw new FerryError(
        'BLOB_NOT_FOUND',
        `${what}: layer ${id} lacks ${JSON.stringify(name)} (${(err as Error).message})`,
        {
          cause: err,
        },
      );
    });
    const crc = new Crc64();
    let got = 0;
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new FerryError('INVALID_LAYOUT', `${what}: ${path} is not a regular file`);
      const buf = Buffer.alloc(Math.min(size, 1024 * 1024));
      while (got < size) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - got), got);
        if (bytesRead === 0) break;
        const chunk = Buffer.from(buf.subarray(0, bytesRead));
        crc.update(chunk);
        got += bytesRead;
        yield chunk;
      }
    } finally {
      await fh.close();
    }
    if (got !== size || (e.payload !== undefined && !crc.digest().equals(e.payload))) {
      throw new FerryError(
        'DIGEST_MISMATCH',
        `${what}: ${path} in layer ${id} is not the file the layer was stored with (size or CRC-64 differs)`,
        {
          details: { layer: id, path },
        },
      );
    }
  }
}
