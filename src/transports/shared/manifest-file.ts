/** Reading and checking manifest files kept on disk by the on-disk transports. */
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { manifestMatchesDigest } from '../../manifest/digest.js';
import { MAX_MANIFEST_SIZE } from '../../manifest/limits.js';
import { readFileLimited } from './files.js';

/**
 * Reads a manifest file (4 MiB limit). With `expected`, the bytes must be the manifest of that
 * digest (DIGEST_MISMATCH otherwise). Undefined when the file does not exist.
 */
export async function readManifestFile(path: string, expected?: Digest): Promise<Buffer | undefined> {
  const bytes = await readFileLimited(path, MAX_MANIFEST_SIZE, `manifest ${path}`);
  if (bytes !== undefined && expected !== undefined) checkManifestDigest(bytes, expected, path);
  return bytes;
}

/** Fails with DIGEST_MISMATCH unless `bytes` are the manifest `expected` names. */
export function checkManifestDigest(bytes: Buffer, expected: Digest, what: string): void {
  if (!manifestMatchesDigest(bytes, expected)) {
    throw new FerryError('DIGEST_MISMATCH', `manifest ${what} does not match its digest ${expected}`, {
      details: { expected, path: what },
    });
  }
}
