/**
 * OpenPGP signed messages (RFC 9580 §10.3: one-pass signature, literal data, signature), the container of
 * a simple signature, made and checked with openpgp.js. Its defaults stay: SHA-1 signatures are refused.
 */
import type * as pgp from 'openpgp';
import { FerryError } from '../../errors.js';
import { type KeyringInput, loadOpenPGP, message, readTrustedKeyring, type TrustedKeyring } from './keys.js';
import { type SignatureRejection, signatureError } from './errors.js';

export interface VerifiedMessage {
  /** The signed bytes (the simple-signing payload, still unparsed). */
  content: Uint8Array;
  /** Fingerprint of the primary key whose key (or subkey) made the signature, uppercase. */
  primaryFingerprint: string;
  /** Fingerprint of the key or subkey that made the signature, uppercase. */
  signingKeyFingerprint: string;
}

/** A packet openpgp.js cannot read is an error, not silently dropped (a version 3 signature would vanish). */
const READ_CONFIG = { ignoreUnsupportedPackets: false };

function unreadable(e: unknown): Error {
  const text = message(e);
  if (/unsupported/i.test(text))
    return signatureError('unsupported-format', `signature cannot be read: ${text}`, {}, e);
  return signatureError('corrupt', `signature is not an OpenPGP message: ${text}`, {}, e);
}

/** Which rule a failed openpgp.js verification broke, from its message (openpgp.js has no error codes). */
function rejectionOf(text: string): SignatureRejection {
  if (/expired/i.test(text)) return 'expired';
  if (/revoked/i.test(text)) return 'revoked';
  if (/insecure|weak|too short|not secure/i.test(text)) return 'weak-algorithm';
  return 'bad-signature';
}

async function readSignedMessage(bytes: Uint8Array): Promise<pgp.Message<Uint8Array>> {
  const openpgp = await loadOpenPGP();
  try {
    if (isArmoredBytes(bytes)) {
      return (await openpgp.readMessage({
        armoredMessage: Buffer.from(bytes).toString('utf8'),
        config: READ_CONFIG,
      })) as pgp.Message<Uint8Array>;
    }
    return await openpgp.readMessage({ binaryMessage: bytes, config: READ_CONFIG });
  } catch (e) {
    throw unreadable(e);
  }
}

function isArmoredBytes(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
}

function keyIdMatches(key: pgp.PublicKey, keyID: pgp.KeyID): pgp.PublicKey | pgp.Subkey | undefined {
  return key.getKeys(keyID)[0];
}

/**
 * Verifies an OpenPGP signed message against `trusted` public keys; returns its content and the signer.
 * Refuses (FerryError INVALID_SIGNATURE, details.reason) what gpgme refuses: data that does not parse, no
 * signature or more than one, a key not in `trusted`, a bad signature, a key or subkey expired or revoked
 * (at signing time or at `date`), an expired signature, a weak hash.
 */
export async function verifySignedMessage(
  signature: Uint8Array,
  trusted: TrustedKeyring | KeyringInput | readonly KeyringInput[],
  date: Date = new Date(),
): Promise<VerifiedMessage> {
  const keyring = isKeyring(trusted) ? trusted : await readTrustedKeyring(trusted);
  const msg = await readSignedMessage(signature);
  let keyIDs: pgp.KeyID[];
  try {
    keyIDs = msg.getSigningKeyIDs();
  } catch (e) {
    throw unreadable(e);
  }
  if (keyIDs.length === 0) throw signatureError('not-signed', 'the OpenPGP message is not signed');
  if (keyIDs.length !== 1) {
    throw signatureError('corrupt', `the OpenPGP message has ${keyIDs.length} signatures, expected exactly 1`);
  }
  const keyID = keyIDs[0] as pgp.KeyID;
  const owner = keyring.keys.find((k) => keyIdMatches(k, keyID) !== undefined);
  const signingKey = owner === undefined ? undefined : keyIdMatches(owner, keyID);
  if (owner === undefined || signingKey === undefined) {
    throw signatureError(
      'unknown-key',
      `signature made by key ID ${keyID.toHex().toUpperCase()}, which is not in the trusted keyring`,
      { keyID: keyID.toHex().toUpperCase() },
    );
  }
  const details = {
    primaryFingerprint: owner.getFingerprint().toUpperCase(),
    signingKeyFingerprint: signingKey.getFingerprint().toUpperCase(),
  };
  const openpgp = await loadOpenPGP();
  let result: pgp.VerifyMessageResult<Uint8Array>;
  try {
    result = await openpgp.verify({
      message: msg,
      verificationKeys: [owner],
      expectSigned: true,
      format: 'binary',
      date,
    });
    await Promise.all(result.signatures.map((s) => s.verified));
    // openpgp.js accepts a key valid when it signed; gpgme (EXPKEYSIG, REVKEYSIG) needs it valid now too.
    await owner.getSigningKey(keyID, date);
  } catch (e) {
    throw signatureError(
      rejectionOf(message(e)),
      `OpenPGP signature by key ${details.primaryFingerprint} does not verify: ${message(e)}`,
      details,
      e,
    );
  }
  return { content: result.data, ...details };
}

function isKeyring(v: unknown): v is TrustedKeyring {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && 'keys' in v && 'fingerprints' in v;
}

export interface SignWithKeyOptions {
  /** Passphrase of an encrypted private key. */
  passphrase?: string;
  /** Signature creation time (default now). */
  date?: Date;
}

/** Reads an armored or binary private key and decrypts it with `passphrase` when it is encrypted. */
export async function readSigningKey(privateKey: KeyringInput, passphrase?: string): Promise<pgp.PrivateKey> {
  const openpgp = await loadOpenPGP();
  let key: pgp.PrivateKey;
  try {
    if (typeof privateKey === 'string' || isArmoredBytes(privateKey)) {
      const armoredKey = typeof privateKey === 'string' ? privateKey : Buffer.from(privateKey).toString('utf8');
      key = await openpgp.readPrivateKey({ armoredKey });
    } else {
      key = await openpgp.readPrivateKey({ binaryKey: privateKey });
    }
  } catch (e) {
    throw new FerryError('SIGNING_FAILED', `not an OpenPGP private key: ${message(e)}`, { cause: e });
  }
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) {
    throw new FerryError('SIGNING_FAILED', `private key ${key.getFingerprint().toUpperCase()} needs a passphrase`);
  }
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch (e) {
    throw new FerryError(
      'SIGNING_FAILED',
      `cannot decrypt private key ${key.getFingerprint().toUpperCase()}: ${message(e)}`,
      { cause: e },
    );
  }
}

/** Signs `content` into a binary OpenPGP signed message (as gpgme's SigModeNormal, unarmored). */
export async function signWithKey(
  content: Uint8Array,
  privateKey: KeyringInput | pgp.PrivateKey,
  options: SignWithKeyOptions = {},
): Promise<Uint8Array> {
  const openpgp = await loadOpenPGP();
  const key =
    privateKey instanceof openpgp.PrivateKey ? privateKey : await readSigningKey(privateKey, options.passphrase);
  try {
    const message = await openpgp.createMessage({ binary: content, date: options.date });
    return await openpgp.sign({ message, signingKeys: [key], format: 'binary', date: options.date });
  } catch (e) {
    throw new FerryError(
      'SIGNING_FAILED',
      `signing with key ${key.getFingerprint().toUpperCase()} failed: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/** What an OpenPGP signed message claims before any verification: the signing key IDs and the signed bytes. */
export interface UnverifiedMessage {
  /** Key IDs of the signatures (16 hex digits, uppercase); untrusted. */
  keyIDs: string[];
  content: Uint8Array;
}

/** Reads a signed message without verifying it, to describe a signature (never to trust one). */
export async function readUnverifiedMessage(signature: Uint8Array): Promise<UnverifiedMessage> {
  const msg = await readSignedMessage(signature);
  try {
    const keyIDs = msg.getSigningKeyIDs().map((k) => k.toHex().toUpperCase());
    const content = msg.getLiteralData();
    if (!(content instanceof Uint8Array)) throw new Error('the message holds no literal data');
    return { keyIDs, content };
  } catch (e) {
    throw unreadable(e);
  }
}
