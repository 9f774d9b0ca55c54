/**
 * Public keys for sigstore signatures: PEM `PUBLIC KEY` (PKIX) or `RSA PUBLIC KEY` (PKCS #1), as
 * sigstore's cryptoutils.UnmarshalPEMToPublicKey reads them; ECDSA, RSA and Ed25519 keys. Each key
 * verifies with SHA-256 (sigstore's LoadVerifier with the hash containers/image hard-codes):
 * ECDSA ASN.1 signatures, RSA PKCS #1 v1.5, Ed25519 over the message itself.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { FerryError } from '../../errors.js';

/** One PEM block: its label, DER bytes and what follows it. */
export interface PEMBlock {
  label: string;
  der: Buffer;
  rest: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----(?:\r?\n)?/;

/** The first PEM block of `text` (text before it is skipped, as Go's pem.Decode does), or undefined. */
export function decodePEM(text: string): PEMBlock | undefined {
  const m = PEM_BLOCK.exec(text);
  if (!m || m.index === undefined) return undefined;
  const body = (m[2] as string).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return undefined;
  return { label: m[1] as string, der: Buffer.from(body, 'base64'), rest: text.slice(m.index + m[0].length) };
}

function invalidKey(what: string, rule: string): FerryError {
  return new FerryError('INVALID_CONFIG', `${what}: ${rule}`, { details: { key: what } });
}

/**
 * A public key from PEM text; `what` names it in errors (a file path, "keyData 2"). Private keys and
 * certificates are refused: a policy names the key it trusts.
 */
export function parsePublicKeyPEM(pem: string | Uint8Array, what: string): KeyObject {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const block = decodePEM(text);
  if (block === undefined) throw invalidKey(what, 'no PEM block found');
  let key: KeyObject;
  try {
    if (block.label === 'PUBLIC KEY') key = createPublicKey({ key: block.der, format: 'der', type: 'spki' });
    else if (block.label === 'RSA PUBLIC KEY') key = createPublicKey({ key: block.der, format: 'der', type: 'pkcs1' });
    else throw invalidKey(what, `PEM block "${block.label}" is not a public key`);
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw invalidKey(what, `the PEM block is not a valid public key (${(e as Error).message})`);
  }
  const type = key.asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa' && type !== 'ed25519') {
    throw invalidKey(what, `key type ${type ?? 'unknown'} is not supported (ECDSA, RSA, Ed25519)`);
  }
  return key;
}

/** Whether `signature` over `message` verifies with `key`, by the rules above; never throws for bad input. */
export function verifyWithKey(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', message, key, signature);
  } catch {
    return false; // a malformed signature (bad ASN.1, wrong length) is a failed verification
  }
}

/** The key's PKIX DER (the form a Rekor entry records a public key in). */
export function publicKeyDER(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}
