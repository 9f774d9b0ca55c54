/**
 * Writing a blob from a stream into a directory of content-addressed files (an OCI layout's
 * `blobs/`, a `dir:` image): stream into a temp file while digesting (or verifying a known
 * digest) in batched writes, fsync, then rename to the blob's final name. A reader never sees a partial blob; on any
 * error the temp file (named BLOB_TEMP_PREFIX + pid + random) is removed.
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../../digest/digest.js';
import { Digester, DigestVerifier } from '../../digest/verify.js';
import { abortError, FerryError, throwIfAborted } from '../../errors.js';
import { tempPathIn } from '../../util/temp.js';

/** The start of a blob temp file's name (util/temp.ts names). */
export const BLOB_TEMP_PREFIX = '.ferry-blob-';

export interface StoreBlobOptions {
  /** Directory for the temp file; must be on the same filesystem as every final path. */
  tempDir: string;
  /** The final file name of a blob with this digest. */
  pathFor: (digest: Digest) => string;
  /** Creates the final file's directory if needed (default: none needed). */
  ensureDir?: (dir: string) => Promise<void>;
  /** Known digest: the bytes are verified against it (DIGEST_MISMATCH otherwise). */
  expectedDigest?: Digest;
  /** Known size, or -1 (SIZE_MISMATCH when the stream has another length). */
  expectedSize: number;
  /**
   * The caller verifies the stream against `expectedDigest` and fails it on a mismatch
   * (PutBlobOptions.callerVerifiesDigest): the bytes are not hashed again, only counted. The blob is
   * kept only when the stream ended normally.
   */
  callerVerifiesDigest?: boolean;
  /** false: skip the fsync (a private spool file, deleted once the real output is written). Default true. */
  durable?: boolean;
  signal?: AbortSignal;
}

export interface StoredBlob {
  digest: Digest;
  size: number;
  path: string;
}

/**
 * Incoming chunks (64 KiB from a socket) are written in batches of at least this many bytes: one
 * writev per 128 KiB instead of one write per chunk (system calls are dear on this kind of VM).
 * Batches of 1 MiB (plus as much again queued in the stream) held ~2 MiB per blob in flight, ~12 MiB
 * for a pull's 6 parallel blobs, at no measurable gain in speed; 128 KiB against 256 KiB: ~2 MiB
 * less peak RSS for a pull of 8 x 16 MiB, the same wall time (medians of 11).
 */
const WRITE_BATCH = 128 * 1024;

/** Writes a stream into a new file in batches (one writev each) and, if durable, fsyncs it before finishing. */
class FileSink extends Writable {
  readonly #path: string;
  readonly #durable: boolean;
  #fh: FileHandle | undefined;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Bytes accepted so far (all of them written once the stream has finished). */
  bytesWritten = 0;

  constructor(path: string, durable: boolean) {
    super({ highWaterMark: WRITE_BATCH });
    this.#path = path;
    this.#durable = durable;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.#path, 'wx', 0o644).then(
      (fh) => {
        this.#fh = fh;
        callback();
      },
      (e: unknown) => callback(e as Error),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    this.bytesWritten += chunk.length;
    if (this.#pendingBytes < WRITE_BATCH) {
      callback();
      return;
    }
    this.#flush().then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#flush()
      .then(() => (this.#durable ? this.#fh?.sync() : undefined))
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fh = this.#fh;
    this.#fh = undefined;
    this.#pending = [];
    if (fh === undefined) {
      callback(error);
      return;
    }
    fh.close().then(
      () => callback(error),
      (e: unknown) => callback(error ?? (e as Error)),
    );
  }

  async #flush(): Promise<void> {
    let buffers = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    const fh = this.#fh;
    if (fh === undefined) throw new FerryError('UNSUPPORTED_OPERATION', `${this.#path} is not open for writing`);
    while (buffers.length > 0) {
      const { bytesWritten } = await fh.writev(buffers);
      buffers = remainder(buffers, bytesWritten);
    }
  }
}

/** The part of `buffers` after the first `written` bytes (a short writev). */
function remainder(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let i = 0;
  while (i < buffers.length && skip >= (buffers[i] as Buffer).length) skip -= (buffers[i++] as Buffer).length;
  const rest = buffers.slice(i);
  if (skip > 0 && rest.length > 0) rest[0] = (rest[0] as Buffer).subarray(skip);
  return rest;
}

export async function storeBlob(stream: Readable, options: StoreBlobOptions): Promise<StoredBlob> {
  throwIfAborted(options.signal);
  const tmp = tempPathIn(options.tempDir, BLOB_TEMP_PREFIX);
  const trusted = options.expectedDigest !== undefined && options.callerVerifiesDigest === true;
  const digester = trusted
    ? undefined
    : options.expectedDigest === undefined
      ? new Digester()
      : new DigestVerifier(options.expectedDigest, options.expectedSize);
  try {
    const out = new FileSink(tmp, options.durable !== false);
    try {
      // A stream that errors (the caller's verification failed) rejects here: the temp file is removed below.
      await (digester === undefined
        ? pipeline(stream, out, { signal: options.signal })
        : pipeline(stream, digester, out, { signal: options.signal }));
    } catch (e) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw e;
    }
    const size = digester === undefined ? out.bytesWritten : digester.size();
    const digest = digester === undefined ? (options.expectedDigest as Digest) : digester.digest();
    if (options.expectedSize >= 0 && size !== options.expectedSize) {
      throw new FerryError(
        'SIZE_MISMATCH',
        `size mismatch for ${digest}: expected ${options.expectedSize} bytes, got ${size}`,
        {
          details: { expected: options.expectedSize, actual: size },
        },
      );
    }
    const path = options.pathFor(digest);
    await options.ensureDir?.(dirname(path));
    await rename(tmp, path);
    return { digest, size, path };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * A blob spooled into the private directory `spoolDir` until an archive is written from it
 * (docker-archive:, docker-daemon:): named by digest, not fsynced (the archive is, once written).
 */
export function spoolBlob(
  stream: Readable,
  spoolDir: string,
  info: { digest?: Digest; size: number },
  options: { callerVerifiesDigest?: boolean; signal?: AbortSignal },
): Promise<StoredBlob> {
  return storeBlob(stream, {
    tempDir: spoolDir,
    pathFor: (d) => join(spoolDir, d.replace(':', '-')),
    expectedDigest: info.digest,
    expectedSize: info.size,
    callerVerifiesDigest: options.callerVerifiesDigest === true,
    durable: false,
    signal: options.signal,
  });
}
