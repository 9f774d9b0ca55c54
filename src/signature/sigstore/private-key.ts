/**
 * Sigstore private keys in cosign's encrypted form: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (or the
 * older `ENCRYPTED COSIGN PRIVATE KEY`, which containers/image still writes) whose bytes are the JSON of
 * secure-systems-lab/go-securesystemslib `encrypted`:
 *   {"kdf":{"name":"scrypt","params":{"N":…,"r":8,"p":1},"salt":B64},"cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 * The key is scrypt(passphrase, salt, N, r, p, 32 bytes); the ciphertext is NaCl secretbox (XSalsa20-Poly1305,
 * tag first) of the PKCS #8 DER private key. Only the three scrypt parameter sets that library writes are
 * accepted (it refuses others so that a tampered file cannot make key derivation arbitrarily costly).
 * Readable keys are what containers/image's sigstore signer loads: ECDSA, RSA and Ed25519 in PKCS #8.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from 'node:crypto';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import { decodePEM } from './keys.js';

/** The PEM label cosign writes today. */
export const SIGSTORE_PRIVATE_KEY_PEM_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
/** The older label; containers/image (and so skopeo) still writes it, for cosign releases that predate the new one. */
export const COSIGN_PRIVATE_KEY_PEM_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** go-securesystemslib's Legacy, Standard (the default for new keys) and OWASP parameter sets. */
const ACCEPTED_SCRYPT_PARAMS: readonly ScryptParams[] = [
  { N: 32768, r: 8, p: 1 },
  { N: 65536, r: 8, p: 1 },
  { N: 131072, r: 8, p: 1 },
];
const STANDARD_SCRYPT_PARAMS = ACCEPTED_SCRYPT_PARAMS[1] as ScryptParams;
const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const BOX_KEY_SIZE = 32;

/** A private key that was read and decrypted, with the public key a policy would name. */
export interface SigstorePrivateKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

function invalidKey(what: string, rule: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', `sigstore private key ${what}: ${rule}`, {
    details: { key: what, reason: 'invalid-key' },
  });
}

function base64Field(obj: Record<string, unknown>, key: string, what: string): Buffer {
  const v = obj[key];
  if (typeof v !== 'string') throw invalidKey(what, `${quoteInput(key)} is not a base64 string`);
  const clean = v.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    throw invalidKey(what, `${quoteInput(key)} is not valid base64`);
  }
  return Buffer.from(clean, 'base64');
}

function objectField(obj: Record<string, unknown>, key: string, what: string): Record<string, unknown> {
  const v = obj[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalidKey(what, `${quoteInput(key)} is not a JSON object`);
  }
  return v as Record<string, unknown>;
}

function deriveKey(passphrase: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // scrypt needs 128·N·r bytes (128 MiB for the OWASP set); node's default ceiling is 32 MiB.
    const maxmem = 128 * params.N * params.r + 16 * 1024 * 1024;
    scrypt(passphrase, salt, BOX_KEY_SIZE, { N: params.N, r: params.r, p: params.p, maxmem }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function passphraseBytes(passphrase: string | Uint8Array): Uint8Array {
  return typeof passphrase === 'string' ? Buffer.from(passphrase, 'utf8') : passphrase;
}

/**
 * Decrypts a cosign-format private key (PEM text or bytes) with `passphrase`; `what` names it in errors
 * (a file path). A wrong passphrase is SIGNING_FAILED with details.reason `wrong-passphrase` (secretbox's
 * authentication tag does not match: nothing of the key or the passphrase is reported); a malformed file
 * is INVALID_ARGUMENT.
 */
export async function readSigstorePrivateKey(
  pem: string | Uint8Array,
  passphrase: string | Uint8Array,
  what = 'key',
): Promise<SigstorePrivateKey> {
  const text = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  const block = decodePEM(text);
  if (block === undefined) throw invalidKey(what, 'no PEM block found');
  if (block.label !== SIGSTORE_PRIVATE_KEY_PEM_LABEL && block.label !== COSIGN_PRIVATE_KEY_PEM_LABEL) {
    throw invalidKey(what, `unsupported PEM type ${quoteInput(block.label)} (want ${SIGSTORE_PRIVATE_KEY_PEM_LABEL})`);
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(block.der.toString('utf8'));
  } catch {
    throw invalidKey(what, 'the PEM block is not the JSON of an encrypted key');
  }
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
    throw invalidKey(what, 'the PEM block is not a JSON object');
  }
  const data = envelope as Record<string, unknown>;
  const kdf = objectField(data, 'kdf', what);
  const cipher = objectField(data, 'cipher', what);
  if (kdf.name !== 'scrypt') throw invalidKey(what, `unknown kdf name ${quoteInput(String(kdf.name))}`);
  if (cipher.name !== 'nacl/secretbox') {
    throw invalidKey(what, `unknown cipher name ${quoteInput(String(cipher.name))}`);
  }
  const params = objectField(kdf, 'params', what);
  const accepted = ACCEPTED_SCRYPT_PARAMS.find((a) => a.N === params.N && a.r === params.r && a.p === params.p);
  if (accepted === undefined) throw invalidKey(what, 'unsupported scrypt parameters');
  const salt = base64Field(kdf, 'salt', what);
  const nonce = base64Field(cipher, 'nonce', what);
  const ciphertext = base64Field(data, 'ciphertext', what);
  if (nonce.length !== NONCE_SIZE) throw invalidKey(what, `the nonce is ${nonce.length} bytes, not ${NONCE_SIZE}`);

  const boxKey = await deriveKey(passphraseBytes(passphrase), salt, accepted);
  let der: Uint8Array;
  try {
    der = xsalsa20poly1305(boxKey, nonce).decrypt(ciphertext);
  } catch {
    throw new FerryError('SIGNING_FAILED', `cannot decrypt sigstore private key ${what}: wrong passphrase`, {
      details: { key: what, reason: 'wrong-passphrase' },
    });
  } finally {
    boxKey.fill(0);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw invalidKey(what, 'the decrypted key is not a PKCS #8 private key');
  } finally {
    der.fill(0);
  }
  const type = privateKey.asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa' && type !== 'ed25519') {
    throw invalidKey(what, `key type ${type ?? 'unknown'} is not supported (ECDSA, RSA, Ed25519)`);
  }
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

/** Go's pem.EncodeToMemory: base64 in lines of 64 characters. */
function encodePEM(label: string, bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Encrypts a PKCS #8 DER private key into the PEM form above (Standard scrypt parameters, fresh salt and nonce). */
export async function encryptSigstorePrivateKey(
  pkcs8: Uint8Array,
  passphrase: string | Uint8Array,
  label: string = COSIGN_PRIVATE_KEY_PEM_LABEL,
): Promise<string> {
  const salt = randomBytes(SALT_SIZE);
  const nonce = randomBytes(NONCE_SIZE);
  const boxKey = await deriveKey(passphraseBytes(passphrase), salt, STANDARD_SCRYPT_PARAMS);
  let ciphertext: Uint8Array;
  try {
    ciphertext = xsalsa20poly1305(boxKey, nonce).encrypt(pkcs8);
  } finally {
    boxKey.fill(0);
  }
  // Field order and names as Go's json.Marshal of go-securesystemslib's struct writes them.
  const json = JSON.stringify({
    kdf: { name: 'scrypt', params: STANDARD_SCRYPT_PARAMS, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
  return encodePEM(label, Buffer.from(json, 'utf8'));
}

/** A new key pair for sigstore signing, as files: the encrypted private key and the public key, both PEM. */
export interface SigstoreKeyPair {
  /** cosign's encrypted form (label ENCRYPTED COSIGN PRIVATE KEY, as containers/image writes it). */
  privateKeyPEM: string;
  /** PKIX `PUBLIC KEY`, what a sigstoreSigned requirement's keyPath names. */
  publicKeyPEM: string;
}

/**
 * Generates an ECDSA P-256 key pair (the one scheme cosign's signature spec requires every verifier to
 * support; containers/image signature/sigstore.GenerateKeyPair makes the same choice).
 */
export async function generateSigstoreKeyPair(passphrase: string | Uint8Array): Promise<SigstoreKeyPair> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'der' });
  try {
    return {
      privateKeyPEM: await encryptSigstorePrivateKey(pkcs8, passphrase),
      publicKeyPEM: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
  } finally {
    pkcs8.fill(0);
  }
}
