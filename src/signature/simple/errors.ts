import { FerryError } from '../../errors.js';

/** Which rule a simple signature broke (FerryError `INVALID_SIGNATURE`, in `details.reason`). */
export type SignatureRejection =
  | 'corrupt' // not an OpenPGP signed message, or its packets do not parse
  | 'unsupported-format' // valid OpenPGP that openpgp.js does not read (version 3 signature packets)
  | 'not-signed' // an OpenPGP message without a signature
  | 'unknown-key' // signed by a key not in the trusted keyring
  | 'key-not-accepted' // the key is known but not among the expected fingerprints
  | 'bad-signature' // the cryptographic check failed (tampered or corrupt data)
  | 'expired' // the signature, or the key or subkey that made it, had expired
  | 'revoked' // the key or subkey that made it is revoked
  | 'weak-algorithm' // a hash or key algorithm OpenPGP no longer accepts (SHA-1, short RSA)
  | 'invalid-payload' // the signed JSON is not an atomic container signature
  | 'digest-mismatch' // the signature is for another manifest
  | 'identity-mismatch'; // the signature is for another docker reference

export function signatureError(
  reason: SignatureRejection,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): FerryError {
  return new FerryError('INVALID_SIGNATURE', message, { details: { reason, ...details }, cause });
}
