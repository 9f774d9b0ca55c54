/**
 * The `dir:` layout (containers/image directory/): a `version` file, `manifest.json`, blobs named
 * by their digest's encoded part, `signature-1..N`, and for list instances
 * `<encoded>.manifest.json` and `<encoded>.signature-N`.
 */
import { join } from 'node:path';
import { type Digest, digestHex, parseDigest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { readFileLimited } from '../shared/files.js';

export const VERSION_FILE = 'version';
/** The exact contents of the `version` file (v1.0 used `<hex>.tar` blob names). */
export const DIR_VERSION = 'Directory Transport Version: 1.1\n';

export function versionPath(dir: string): string {
  return join(dir, VERSION_FILE);
}

export function manifestPath(dir: string, instance?: Digest): string {
  return join(dir, instance === undefined ? 'manifest.json' : `${digestHex(parseDigest(instance))}.manifest.json`);
}

/** Blobs are named by the digest's encoded part only, whatever the algorithm (as containers/image does). */
export function blobPath(dir: string, digest: Digest): string {
  return join(dir, digestHex(parseDigest(digest)));
}

/** `signature-N` (N from 1), or `<encoded>.signature-N` for a list instance. */
export function signaturePath(dir: string, n: number, instance?: Digest): string {
  const prefix = instance === undefined ? '' : `${digestHex(parseDigest(instance))}.`;
  return join(dir, `${prefix}signature-${n}`);
}

/** 'match' when `dir/version` holds exactly DIR_VERSION, 'missing' when absent, else 'other'. */
export async function readVersion(dir: string): Promise<'match' | 'missing' | 'other'> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileLimited(versionPath(dir), 4096, versionPath(dir));
  } catch (e) {
    if (e instanceof FerryError && e.code === 'TOO_LARGE') return 'other';
    throw e;
  }
  if (bytes === undefined) return 'missing';
  return bytes.toString('utf8') === DIR_VERSION ? 'match' : 'other';
}
