/** Public keyrings for verification: binary (a `pubring.gpg`, `gpg --export`) or ASCII-armored. */
import type * as pgp from 'openpgp';
import { FerryError } from '../../errors.js';

let loading: Promise<typeof pgp> | undefined;

/**
 * openpgp.js, loaded on first use: setting up its module (cipher tables, curves) costs ~20–50 ms of
 * every command's start-up, and most commands neither sign nor verify.
 */
export function loadOpenPGP(): Promise<typeof pgp> {
  loading ??= import('openpgp');
  return loading;
}

/** Public keys read from keyring blobs; `fingerprints` are the primary keys', uppercase as gpgme writes them. */
export interface TrustedKeyring {
  readonly keys: readonly pgp.PublicKey[];
  readonly fingerprints: readonly string[];
}

export type KeyringInput = Uint8Array | string;

function isArmored(blob: KeyringInput): boolean {
  const head = typeof blob === 'string' ? blob.slice(0, 64) : Buffer.from(blob.subarray(0, 64)).toString('latin1');
  return head.trimStart().startsWith('-----BEGIN PGP');
}

async function readOne(blob: KeyringInput, index: number): Promise<pgp.Key[]> {
  const openpgp = await loadOpenPGP();
  try {
    if (isArmored(blob)) {
      const text = typeof blob === 'string' ? blob : Buffer.from(blob).toString('utf8');
      return await openpgp.readKeys({ armoredKeys: text });
    }
    const binary = typeof blob === 'string' ? Buffer.from(blob, 'latin1') : blob;
    if (binary.length === 0) return [];
    return await openpgp.readKeys({ binaryKeys: binary });
  } catch (e) {
    throw new FerryError('INVALID_CONFIG', `keyring ${index + 1} is not an OpenPGP public keyring: ${message(e)}`, {
      cause: e,
    });
  }
}

/** Reads every public key of `blobs` (each a keyring of one or more keys); an empty blob holds no keys. */
export async function readTrustedKeyring(blobs: KeyringInput | readonly KeyringInput[]): Promise<TrustedKeyring> {
  const list = Array.isArray(blobs) ? (blobs as readonly KeyringInput[]) : [blobs as KeyringInput];
  const keys: pgp.PublicKey[] = [];
  for (const [i, blob] of list.entries()) {
    for (const key of await readOne(blob, i)) keys.push(key.toPublic());
  }
  return { keys, fingerprints: keys.map((k) => k.getFingerprint().toUpperCase()) };
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
