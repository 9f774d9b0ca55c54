/** Simple signatures as a whole: payload inside an OpenPGP signed message, signed and verified. */
import type { Digest } from '../../digest/digest.js';
import { isFerryError } from '../../errors.js';
import { parseDockerReference } from '../../reference/reference.js';
import { quoteInput } from '../../util/quote.js';
import { signatureError } from './errors.js';
import type { KeyringInput, TrustedKeyring } from './keys.js';
import { type SignWithKeyOptions, signWithKey, verifySignedMessage } from './openpgp.js';
import { parsePayload, type SimpleSigningPayload, serializePayload } from './payload.js';

/** Signs `payload` with an armored or binary private key (decrypted with `options.passphrase`). */
export async function signPayload(
  payload: SimpleSigningPayload,
  privateKey: KeyringInput,
  options: SignWithKeyOptions = {},
): Promise<Buffer> {
  return Buffer.from(await signWithKey(serializePayload(payload), privateKey, options));
}

export interface VerifySignatureOptions {
  /** The signed reference must equal this one, both normalised (`busybox` = `docker.io/library/busybox:latest`). */
  expectedIdentity?: string;
  /** The signed manifest digest must be this one. */
  expectedDigest?: Digest;
  /** Verification time (default now): keys and signatures expired then are refused. */
  date?: Date;
}

export interface VerifiedSignature extends SimpleSigningPayload {
  /** The primary key's fingerprint, uppercase. */
  fingerprint: string;
  /** The fingerprint of the key or subkey that signed, uppercase. */
  signingKeyFingerprint: string;
}

/**
 * Verifies a simple signature by any key of `trustedKeys` and parses its payload; FerryError
 * INVALID_SIGNATURE with details.reason (SignatureRejection) when it is refused.
 */
export async function verifySignature(
  signature: Uint8Array,
  trustedKeys: TrustedKeyring | KeyringInput | readonly KeyringInput[],
  options: VerifySignatureOptions = {},
): Promise<VerifiedSignature> {
  const expectedRef =
    options.expectedIdentity === undefined ? undefined : parseDockerReference(options.expectedIdentity).toString();
  const verified = await verifySignedMessage(signature, trustedKeys, options.date);
  const payload = parsePayload(verified.content);
  if (options.expectedDigest !== undefined && payload.dockerManifestDigest !== options.expectedDigest) {
    throw signatureError(
      'digest-mismatch',
      `signature is for manifest ${payload.dockerManifestDigest}, not ${options.expectedDigest}`,
      { signedDigest: payload.dockerManifestDigest },
    );
  }
  if (expectedRef !== undefined) checkIdentity(payload.dockerReference, expectedRef, options.expectedIdentity ?? '');
  return {
    ...payload,
    fingerprint: verified.primaryFingerprint,
    signingKeyFingerprint: verified.signingKeyFingerprint,
  };
}

/** Checks a signed reference against an expected one (normalised), as containers/image's docker.go. */
export function checkIdentity(signed: string, expectedNormalised: string, expectedAsGiven: string): void {
  let signedRef: string;
  try {
    signedRef = parseDockerReference(signed).toString();
  } catch (e) {
    if (!isFerryError(e)) throw e;
    throw signatureError('invalid-payload', `invalid docker reference ${quoteInput(signed)} in signature`, {}, e);
  }
  if (signedRef !== expectedNormalised) {
    throw signatureError(
      'identity-mismatch',
      `docker reference ${quoteInput(signed)} does not match ${quoteInput(expectedAsGiven)}`,
      { signedReference: signed },
    );
  }
}
