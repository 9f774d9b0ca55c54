/**
 * Sigstore (cosign) signatures as containers/image stores them: a payload (the simple-signing-like
 * JSON cosign signs) plus annotations, in a `dir:` signature file or an OCI layer of the `sha256-<hex>.sig`
 * tag. Names from sigstore/cosign pkg/types and pkg/oci/static; the `\0sigstore-json\n` file form from
 * containers/image internal/signature.
 */
import { type Digest, digestAlgorithm, digestHex, parseDigest } from '../../digest/digest.js';
import { goMarshal } from '../../manifest/json.js';
import { quoteInput } from '../../util/quote.js';
import { decodeBase64, invalidSignature, isJSONObject, parseStrictJSONObject } from './strict-json.js';

/** The media type of a cosign signature layer (cosign pkg/types.SimpleSigningMediaType). */
export const SIGSTORE_SIGNATURE_MIME_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
/** The base64 signature of the payload. */
export const SIGSTORE_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
/** The Rekor SET bundle (`{"SignedEntryTimestamp", "Payload"}`). */
export const SIGSTORE_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
/** The signing certificate (PEM), for Fulcio and PKI signatures. */
export const SIGSTORE_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
/** Intermediate certificates (PEM), for Fulcio and PKI signatures. */
export const SIGSTORE_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';

/** One sigstore signature (or other attachment): nothing in it is trusted until verified. */
export interface SigstoreSignature {
  mimeType: string;
  payload: Buffer;
  /** All annotations, including ones Ferry does not know (kept for forward compatibility, as upstream). */
  annotations: Record<string, string>;
}

const FORMAT_PREFIX = Buffer.from('\0sigstore-json\n', 'latin1');

/** True for an attachment that is a signature (the others are attestations and the like). */
export function isSigstoreSignatureAttachment(sig: SigstoreSignature): boolean {
  return sig.mimeType === SIGSTORE_SIGNATURE_MIME_TYPE;
}

/** True when `blob` (a `dir:` signature file) is in the sigstore form. */
export function isSigstoreBlob(blob: Uint8Array): boolean {
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
    .subarray(0, FORMAT_PREFIX.length)
    .equals(FORMAT_PREFIX);
}

/** Parses a `dir:` signature file of the sigstore form: `\0sigstore-json\n{mimeType, payload, annotations}`. */
export function parseSigstoreBlob(blob: Uint8Array): SigstoreSignature {
  const what = 'sigstore signature';
  if (!isSigstoreBlob(blob)) throw invalidSignature('does not start with the sigstore-json format marker', what);
  const text = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
    .subarray(FORMAT_PREFIX.length)
    .toString('utf8');
  const obj = parseStrictJSONObject(text, what);
  const { mimeType, payload, annotations } = obj;
  if (typeof mimeType !== 'string') throw invalidSignature('"mimeType" is not a string', what);
  if (typeof payload !== 'string') throw invalidSignature('"payload" is not a base64 string', what);
  const out: Record<string, string> = {};
  if (annotations !== null && annotations !== undefined) {
    if (!isJSONObject(annotations)) throw invalidSignature('"annotations" is not a JSON object', what);
    for (const [k, v] of Object.entries(annotations)) {
      if (typeof v !== 'string') throw invalidSignature(`annotation ${quoteInput(k)} is not a string`, what);
      out[k] = v;
    }
  }
  return { mimeType, payload: decodeBase64(payload, `${what} payload`), annotations: out };
}

/**
 * The `dir:` signature file form of `sig`, byte for byte as containers/image writes it (Go's
 * json.Marshal: fields in struct order, annotation keys sorted, `<`, `>`, `&` escaped), so a
 * signature read from a registry is stored the same by Ferry and by skopeo.
 */
export function sigstoreBlob(sig: SigstoreSignature): Buffer {
  const annotations: Record<string, string> = {};
  for (const key of Object.keys(sig.annotations).sort()) annotations[key] = sig.annotations[key] as string;
  const json = goMarshal({ mimeType: sig.mimeType, payload: sig.payload.toString('base64'), annotations });
  return Buffer.concat([FORMAT_PREFIX, json]);
}

/**
 * The tag cosign stores an image's signatures under: `sha256-<hex>.sig`, the digest with its `:` made
 * a `-` (cosign pkg/oci/remote; containers/image docker sigstoreAttachmentTag).
 */
export function cosignSignatureTag(manifestDigest: Digest): string {
  const d = parseDigest(manifestDigest); // validated: the hex becomes a tag
  return `${digestAlgorithm(d)}-${digestHex(d)}.sig`;
}
