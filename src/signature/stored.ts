/**
 * Signatures as sources return them (one blob each, containers/image internal/signature): a blob that
 * starts with `\0sigstore-json\n` is a sigstore signature, anything else is a simple signature (the
 * OpenPGP message itself). Also a description of each, read WITHOUT verification, for reports.
 */
import type { Digest } from '../digest/digest.js';
import { isFerryError } from '../errors.js';
import type { UnverifiedSignature } from './policy/evaluate.js';
import { SIGSTORE_CERTIFICATE_ANNOTATION, isSigstoreBlob, parseSigstoreBlob } from './sigstore/format.js';
import { parseSigstorePayload } from './sigstore/payload.js';
import { readUnverifiedMessage } from './simple/openpgp.js';
import { parsePayload } from './simple/payload.js';

/** A stored signature blob as an UnverifiedSignature; a sigstore blob that does not parse is an INVALID_SIGNATURE FerryError. */
export function parseStoredSignature(blob: Uint8Array): UnverifiedSignature {
  if (!isSigstoreBlob(blob)) return { kind: 'simpleSigning', blob };
  const s = parseSigstoreBlob(blob);
  return { kind: 'sigstore', mimeType: s.mimeType, payload: s.payload, annotations: s.annotations };
}

/** What a signature claims, unverified: for reports only (the policy decides what is trusted). */
export interface SignatureDescription {
  kind: 'simpleSigning' | 'sigstore';
  /** simpleSigning: the key ID(s) the OpenPGP signature names. */
  keyIDs?: string[];
  /** sigstore: signed with a certificate (Fulcio or PKI) rather than a bare public key. */
  certificate?: boolean;
  /** The Docker reference the signature claims. */
  identity?: string;
  /** The manifest digest the signature claims. */
  manifestDigest?: Digest;
  /** Why the signature could not be read at all (corrupt, unknown format). */
  unreadable?: string;
}

/** Describes one stored signature blob; never throws for bad signature data. */
export async function describeStoredSignature(blob: Uint8Array): Promise<SignatureDescription> {
  if (isSigstoreBlob(blob)) {
    return describe({ kind: 'sigstore' }, async (out) => {
      const s = parseSigstoreBlob(blob);
      out.certificate = s.annotations[SIGSTORE_CERTIFICATE_ANNOTATION] !== undefined;
      return parseSigstorePayload(s.payload);
    });
  }
  return describe({ kind: 'simpleSigning' }, async (out) => {
    const message = await readUnverifiedMessage(blob);
    out.keyIDs = message.keyIDs;
    return parsePayload(message.content);
  });
}

/** `out` with what `read` finds (filling `out` as it goes) and the claims of the payload it returns. */
async function describe(
  out: SignatureDescription,
  read: (out: SignatureDescription) => Promise<{ dockerReference: string; dockerManifestDigest: Digest }>,
): Promise<SignatureDescription> {
  try {
    const payload = await read(out);
    out.identity = payload.dockerReference;
    out.manifestDigest = payload.dockerManifestDigest;
  } catch (e) {
    if (!isFerryError(e)) throw e;
    out.unreadable = e.message;
  }
  return out;
}
