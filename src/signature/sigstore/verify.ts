/**
 * Verifying a sigstore signature with public keys (optionally with a Rekor SET proving the signature
 * is in the log), as containers/image's sigstoreSigned requirement does for its key sources: the
 * signature over the payload must verify with one of the keys, the payload must parse strictly, and
 * its docker-manifest-digest must be the image's manifest. Matching the signed identity against the
 * image's reference is the policy's part: the verified identity is returned.
 */
import type { KeyObject } from 'node:crypto';
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { manifestMatchesDigest } from '../../manifest/digest.js';
import { quoteInput } from '../../util/quote.js';
import {
  isSigstoreSignatureAttachment,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_CHAIN_ANNOTATION,
  SIGSTORE_SIGNATURE_ANNOTATION,
  type SigstoreSignature,
} from './format.js';
import { type FulcioTrust, verifyFulcioCertificate } from './fulcio.js';
import { publicKeyDER, verifyWithKey } from './keys.js';
import { parseSigstorePayload, type SigstorePayload } from './payload.js';
import { type PKITrust, verifyPKICertificate } from './pki.js';
import { verifyRekorSET } from './rekor-set.js';
import { decodeBase64, invalidSignature } from './strict-json.js';

export interface SigstoreKeyTrust {
  /** Keys any of which may have made the signature (parsePublicKeyPEM); at least one. */
  publicKeys: KeyObject[];
  /** When set, the signature must carry a Rekor SET signed by one of these keys, recording the signing key. */
  rekorPublicKeys?: KeyObject[];
}

/** A Fulcio-issued certificate, proven in the Rekor log (a Rekor key is required). */
export interface SigstoreFulcioTrust {
  fulcio: FulcioTrust;
  rekorPublicKeys: KeyObject[];
}

/** A certificate from the user's own PKI (no Rekor). */
export interface SigstorePKITrust {
  pki: PKITrust;
}

/** What a sigstoreSigned requirement trusts: exactly one of public keys, Fulcio, or a PKI. */
export type SigstoreTrust = SigstoreKeyTrust | SigstoreFulcioTrust | SigstorePKITrust;

export interface VerifiedSigstoreSignature extends SigstorePayload {
  /** The key that verified the signature. */
  publicKey: KeyObject;
  /** When a Rekor SET was checked: when the log integrated the entry. */
  rekorIntegratedTime?: Date;
}

const WHAT = 'sigstore signature';

/** The signature annotation, or a typed refusal saying what the attachment is instead. */
function signatureAnnotation(sig: SigstoreSignature): string {
  if (!isSigstoreSignatureAttachment(sig)) {
    throw invalidSignature(`attachment of type ${quoteInput(sig.mimeType)} is not a signature`, WHAT, {
      mimeType: sig.mimeType,
    });
  }
  const b64 = sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION];
  if (b64 === undefined) throw invalidSignature(`annotation ${SIGSTORE_SIGNATURE_ANNOTATION} is missing`, WHAT);
  return b64;
}

function annotation(sig: SigstoreSignature, name: string, what: string): string {
  const v = sig.annotations[name];
  if (v === undefined) throw invalidSignature(`annotation ${name} (${what}) is missing`, WHAT);
  return v;
}

/** The keys trusted for this signature: from the certificate, all the public keys, or the one a Rekor SET records. */
function candidateKeys(sig: SigstoreSignature, trust: SigstoreTrust, b64: string): { keys: KeyObject[]; time?: Date } {
  if ('fulcio' in trust) {
    const { publicKey, time } = verifyFulcioCertificate({
      trust: trust.fulcio,
      rekorPublicKeys: trust.rekorPublicKeys,
      set: annotation(sig, SIGSTORE_BUNDLE_ANNOTATION, 'Rekor SET'),
      certificate: annotation(sig, SIGSTORE_CERTIFICATE_ANNOTATION, 'certificate'),
      chain: sig.annotations[SIGSTORE_CHAIN_ANNOTATION],
      base64Signature: b64,
      payload: sig.payload,
    });
    return { keys: [publicKey], time };
  }
  if ('pki' in trust) {
    const cert = annotation(sig, SIGSTORE_CERTIFICATE_ANNOTATION, 'certificate');
    return { keys: [verifyPKICertificate(trust.pki, cert, sig.annotations[SIGSTORE_CHAIN_ANNOTATION])] };
  }
  if (trust.publicKeys.length === 0) {
    throw new FerryError('INVALID_ARGUMENT', 'verifying a sigstore signature needs at least one public key');
  }
  if (trust.rekorPublicKeys === undefined) return { keys: trust.publicKeys };
  const set = sig.annotations[SIGSTORE_BUNDLE_ANNOTATION];
  if (set === undefined)
    throw invalidSignature(`annotation ${SIGSTORE_BUNDLE_ANNOTATION} (Rekor SET) is missing`, WHAT);
  const failures: string[] = [];
  for (const key of trust.publicKeys) {
    try {
      const time = verifyRekorSET({
        rekorPublicKeys: trust.rekorPublicKeys,
        set,
        signerDER: publicKeyDER(key),
        base64Signature: b64,
        payload: sig.payload,
      });
      return { keys: [key], time }; // a SET records one key
    } catch (e) {
      if (!(e instanceof FerryError) || e.code !== 'INVALID_SIGNATURE') throw e;
      failures.push(e.message);
    }
  }
  throw invalidSignature(`no public key verified against the Rekor SET: ${failures.join('; ')}`, WHAT, {
    reason: 'rekor-set',
  });
}

/**
 * Verifies `sig` for the image whose manifest is `manifest`; returns the signed identity.
 * Every refusal is INVALID_SIGNATURE with `details.reason`: the signature does not verify, the payload
 * is malformed, or it signs another manifest (`details.signedDigest`).
 */
export function verifySigstoreSignature(
  sig: SigstoreSignature,
  manifest: Buffer,
  trust: SigstoreTrust,
): VerifiedSigstoreSignature {
  const b64 = signatureAnnotation(sig);
  const { keys, time } = candidateKeys(sig, trust, b64);
  const signature = decodeBase64(b64, `${WHAT} annotation`);
  const key = keys.find((k) => verifyWithKey(k, sig.payload, signature));
  if (key === undefined) {
    throw invalidSignature(
      `cryptographic signature verification failed with ${keys.length === 1 ? 'the public key' : `each of ${keys.length} public keys`}`,
      WHAT,
      { reason: 'signature-mismatch' },
    );
  }
  const payload = parseSigstorePayload(sig.payload);
  if (!manifestDigestMatches(manifest, payload.dockerManifestDigest)) {
    throw invalidSignature(`signature is for manifest ${payload.dockerManifestDigest}, not this image's`, WHAT, {
      reason: 'manifest-mismatch',
      signedDigest: payload.dockerManifestDigest,
    });
  }
  return { ...payload, publicKey: key, ...(time === undefined ? {} : { rekorIntegratedTime: time }) };
}

/** Whether the manifest bytes are the signed digest; a manifest whose digest cannot be computed matches nothing. */
function manifestDigestMatches(manifest: Buffer, signed: Digest): boolean {
  try {
    return manifestMatchesDigest(manifest, signed);
  } catch (e) {
    if (e instanceof FerryError) {
      throw invalidSignature(`the image's manifest digest cannot be computed: ${e.message}`, WHAT, {
        reason: 'manifest-digest-error',
        cause: e.code,
      });
    }
    throw e;
  }
}
