/**
 * Signing and verifying a manifest with local files, as skopeo's standalone-sign and standalone-verify
 * (containers/image signature/docker.go: SignDockerManifestWithOptions, VerifyImageManifestSignatureUsingKeyIdentityList).
 */
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { manifestDigest, manifestMatchesDigest } from '../../manifest/digest.js';
import { parseDockerReference } from '../../reference/reference.js';
import { quoteInput } from '../../util/quote.js';
import { signatureError } from './errors.js';
import { type GpgSignOptions, signWithGpg } from './gpg.js';
import { type KeyringInput, readTrustedKeyring } from './keys.js';
import { readSigningKey, signWithKey, verifySignedMessage } from './openpgp.js';
import { parsePayload, type SimpleSigningPayload, serializePayload } from './payload.js';
import { checkIdentity } from './verify.js';

/** optional.creator of the signatures Ferry writes (containers/image writes `atomic <version>`). */
export const DEFAULT_CREATOR = 'ferry';

export interface StandaloneSignOptions extends GpgSignOptions {
  /** Sign with this private key (armored or binary) through openpgp.js instead of the gpg binary. */
  privateKey?: KeyringInput;
  /** Passphrase of `privateKey`, or of the gpg key (also possible as `passphraseFile`). */
  passphrase?: string;
  creator?: string;
  /** optional.timestamp, seconds since the epoch (default now). */
  timestamp?: number;
}

/** The payload a signature of `manifest` as `dockerReference` carries. */
export function payloadFor(manifest: Buffer, dockerReference: string, options: StandaloneSignOptions = {}): Buffer {
  return serializePayload({
    dockerManifestDigest: manifestDigest(manifest),
    dockerReference,
    creator: options.creator ?? DEFAULT_CREATOR,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
  });
}

/**
 * A simple signature of `manifest` as `dockerReference`, signed by the key `fingerprint`: with
 * `options.privateKey` through openpgp.js (the key's fingerprint must be `fingerprint`), else through gpg.
 */
export async function standaloneSign(
  manifest: Buffer,
  dockerReference: string,
  fingerprint: string,
  options: StandaloneSignOptions = {},
): Promise<Buffer> {
  if (options.passphrase?.includes('\n')) {
    throw new FerryError('INVALID_ARGUMENT', 'invalid passphrase: must not contain a line break');
  }
  const payload = payloadFor(manifest, dockerReference, options);
  if (options.privateKey === undefined) return signWithGpg(payload, fingerprint, options);
  const key = await readSigningKey(options.privateKey, options.passphrase);
  const want = fingerprint.toUpperCase();
  const fingerprints = [key, ...key.subkeys].map((k) => k.getFingerprint().toUpperCase());
  if (!fingerprints.includes(want)) {
    throw new FerryError(
      'SIGNING_FAILED',
      `the private key given is ${fingerprints[0]}, not ${quoteInput(fingerprint)}`,
    );
  }
  return Buffer.from(await signWithKey(payload, key));
}

/** A signature that verified: its payload and the key that signed it. */
export interface VerifiedSimpleSignature {
  dockerManifestDigest: Digest;
  dockerReference: string;
  /** The accepted fingerprint that verified it (a primary key's, or a subkey's when that was listed). */
  fingerprint: string;
  payload: SimpleSigningPayload;
}

/**
 * Verifies `signature` of `manifest` as `dockerReference` by one of `expectedFingerprints` (or `'any'` key of
 * `keyring`), as skopeo standalone-verify: the key must be accepted, the signed digest must be the manifest's,
 * and the signed reference must equal `dockerReference` once both are normalised (`busybox` = `docker.io/library/busybox`).
 * Fingerprints are compared in uppercase (gpgme's form; skopeo itself would refuse a lowercase one).
 */
export async function standaloneVerify(
  manifest: Buffer,
  dockerReference: string,
  expectedFingerprints: readonly string[] | 'any',
  signature: Uint8Array,
  keyring: KeyringInput | readonly KeyringInput[],
): Promise<VerifiedSimpleSignature> {
  const expectedRef = parseDockerReference(dockerReference);
  const trusted = await readTrustedKeyring(keyring);
  const accepted =
    expectedFingerprints === 'any' ? trusted.fingerprints : expectedFingerprints.map((f) => f.toUpperCase());
  const verified = await verifySignedMessage(signature, trusted);
  let fingerprint: string;
  if (accepted.includes(verified.signingKeyFingerprint)) fingerprint = verified.signingKeyFingerprint;
  else if (accepted.includes(verified.primaryFingerprint)) fingerprint = verified.primaryFingerprint;
  else {
    const subkey =
      verified.signingKeyFingerprint === verified.primaryFingerprint ? '' : `${verified.signingKeyFingerprint} of `;
    throw signatureError(
      'key-not-accepted',
      `signature by key ${subkey}${verified.primaryFingerprint} is not accepted`,
      {
        primaryFingerprint: verified.primaryFingerprint,
        signingKeyFingerprint: verified.signingKeyFingerprint,
      },
    );
  }
  const payload = parsePayload(verified.content);
  if (!manifestMatchesDigest(manifest, payload.dockerManifestDigest)) {
    throw signatureError(
      'digest-mismatch',
      `signature for docker digest ${payload.dockerManifestDigest} does not match the manifest`,
      { signedDigest: payload.dockerManifestDigest },
    );
  }
  checkIdentity(payload.dockerReference, expectedRef.toString(), dockerReference);
  return {
    dockerManifestDigest: payload.dockerManifestDigest,
    dockerReference: payload.dockerReference,
    fingerprint,
    payload,
  };
}
