/**
 * The payload a cosign signature signs ("cosign container image signature"), parsed as strictly as
 * containers/image signature/internal/sigstore_payload.go does: exact fields in `critical`, `optional`
 * an object or null with only `creator` and an integer `timestamp` read.
 * https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
 */
import { type Digest, parseDigest } from '../../digest/digest.js';
import { isFerryError } from '../../errors.js';
import {
  exactFields,
  integerField,
  invalidSignature,
  isJSONObject,
  objectField,
  parseStrictJSONObject,
  stringField,
} from './strict-json.js';

export const SIGSTORE_SIGNATURE_TYPE = 'cosign container image signature';

export interface SigstorePayload {
  dockerManifestDigest: Digest;
  /** The identity the signer claimed, as written (no normalisation). */
  dockerReference: string;
  creator?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
}

const WHAT = 'sigstore signature payload';

/** Parses the (still untrusted) payload bytes. */
export function parseSigstorePayload(bytes: Uint8Array): SigstorePayload {
  const obj = parseStrictJSONObject(Buffer.from(bytes).toString('utf8'), WHAT);
  exactFields(obj, ['critical', 'optional'], WHAT);
  const out: Partial<SigstorePayload> = {};
  // cosign writes "optional": null when there are no annotations.
  if (obj.optional !== null) {
    if (!isJSONObject(obj.optional)) throw invalidSignature('"optional" is not a JSON object', WHAT);
    if (Object.hasOwn(obj.optional, 'creator')) out.creator = stringField(obj.optional, 'creator', `${WHAT} optional`);
    if (Object.hasOwn(obj.optional, 'timestamp')) {
      out.timestamp = integerField(obj.optional, 'timestamp', `${WHAT} optional`);
    }
  }
  const critical = objectField(obj, 'critical', WHAT);
  exactFields(critical, ['type', 'image', 'identity'], `${WHAT} critical`);
  const type = stringField(critical, 'type', `${WHAT} critical`);
  if (type !== SIGSTORE_SIGNATURE_TYPE) {
    throw invalidSignature(`unrecognized signature type ${JSON.stringify(type)}`, WHAT);
  }
  const image = objectField(critical, 'image', `${WHAT} critical`);
  exactFields(image, ['docker-manifest-digest'], `${WHAT} critical.image`);
  const digest = stringField(image, 'docker-manifest-digest', `${WHAT} critical.image`);
  try {
    out.dockerManifestDigest = parseDigest(digest);
  } catch (e) {
    if (!isFerryError(e)) throw e;
    throw invalidSignature(`invalid docker-manifest-digest: ${e.message}`, WHAT);
  }
  const identity = objectField(critical, 'identity', `${WHAT} critical`);
  exactFields(identity, ['docker-reference'], `${WHAT} critical.identity`);
  out.dockerReference = stringField(identity, 'docker-reference', `${WHAT} critical.identity`);
  return out as SigstorePayload;
}

/** The payload bytes for signing `dockerManifestDigest` as `dockerReference` (key order as upstream writes it). */
export function sigstorePayloadBytes(p: SigstorePayload): Buffer {
  const optional: Record<string, unknown> = {};
  if (p.creator !== undefined) optional.creator = p.creator;
  if (p.timestamp !== undefined) optional.timestamp = p.timestamp;
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': p.dockerReference },
        image: { 'docker-manifest-digest': p.dockerManifestDigest },
        type: SIGSTORE_SIGNATURE_TYPE,
      },
      optional,
    }),
    'utf8',
  );
}
