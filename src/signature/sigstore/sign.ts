/**
 * Making a sigstore signature with a private key, as containers/image's sigstore signer does
 * (signature/sigstore/internal/signer.go): the payload names the manifest digest and the full docker
 * reference (tag included, unlike cosign, so that a rollback to an older tag is detectable), the signature
 * is over the payload bytes (ECDSA ASN.1 with SHA-256, RSA PKCS #1 v1.5 with SHA-256, or Ed25519), and it
 * travels base64 in the `dev.cosignproject.cosign/signature` annotation. No Rekor upload, no Fulcio.
 * https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
 */
import { type KeyObject, sign } from 'node:crypto';
import { FerryError } from '../../errors.js';
import { manifestDigest } from '../../manifest/digest.js';
import { SIGSTORE_SIGNATURE_ANNOTATION, SIGSTORE_SIGNATURE_MIME_TYPE, type SigstoreSignature } from './format.js';
import { sigstorePayloadBytes } from './payload.js';

export interface SigstoreSignOptions {
  /** optional.creator (default: none). */
  creator?: string;
  /** optional.timestamp, seconds since the epoch (default now). */
  timestamp?: number;
}

/** The signature bytes of `message` by `key`, with the hash each key type uses for sigstore. */
export function signWithSigstoreKey(key: KeyObject, message: Uint8Array): Buffer {
  const type = key.asymmetricKeyType;
  if (type !== 'ec' && type !== 'rsa' && type !== 'ed25519') {
    throw new FerryError('SIGNING_FAILED', `sigstore signing with a ${type ?? 'unknown'} key is not supported`);
  }
  return sign(type === 'ed25519' ? null : 'sha256', message, key);
}

/**
 * A sigstore signature of `manifest` as `dockerReference` (a docker reference with a tag or digest; the
 * caller checks that). Store it with `sigstoreBlob()` in a `dir:` signature file.
 */
export function sigstoreSign(
  manifest: Buffer,
  dockerReference: string,
  privateKey: KeyObject,
  options: SigstoreSignOptions = {},
): SigstoreSignature {
  const payload = sigstorePayloadBytes({
    dockerManifestDigest: manifestDigest(manifest),
    dockerReference,
    ...(options.creator === undefined ? {} : { creator: options.creator }),
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
  });
  const signature = signWithSigstoreKey(privateKey, payload);
  return {
    mimeType: SIGSTORE_SIGNATURE_MIME_TYPE,
    payload,
    annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: signature.toString('base64') },
  };
}
