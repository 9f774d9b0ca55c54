/**
 * Writing a blob from a stream into a directory of content-addressed files (an OCI layout's
 * `blobs/`, a `dir:` image): stream into a temp file while digesting (or verifying a known
 * digest), fsync, then rename to the blob's final name. A reader never sees a partial blob; on any
 * error the temp file is removed.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../../digest/digest.js';
import { Digester, DigestVerifier } from '../../digest/verify.js';
import { abortError, FerryError, throwIfAborted } from '../../errors.js';
import { pathExists } from './files.js';

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
  signal?: AbortSignal;
}

export interface StoredBlob {
  digest: Digest;
  size: number;
  path: string;
  /** False when a file with this name already existed (it was replaced by identical bytes). */
  created: boolean;
}

export async function storeBlob(stream: Readable, options: StoreBlobOptions): Promise<StoredBlob> {
  throwIfAborted(options.signal);
  const tmp = join(options.tempDir, `.ferry-blob-${randomBytes(8).toString('hex')}`);
  const digester =
    options.expectedDigest === undefined ? new Digester() : new DigestVerifier(options.expectedDigest, options.expectedSize);
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    try {
      await pipeline(stream, digester, out, { signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) throw abortError(options.signal);
      throw e;
    }
    const size = digester.size();
    const digest = digester.digest();
    if (options.expectedSize >= 0 && size !== options.expectedSize) {
      throw new FerryError('SIZE_MISMATCH', `size mismatch for ${digest}: expected ${options.expectedSize} bytes, got ${size}`, {
        details: { expected: options.expectedSize, actual: size },
      });
    }
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const path = options.pathFor(digest);
    await options.ensureDir?.(dirname(path));
    const existed = await pathExists(path);
    await rename(tmp, path);
    return { digest, size, path, created: !existed };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
