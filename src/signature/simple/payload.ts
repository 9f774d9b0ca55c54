/**
 * The simple-signing payload, "atomic container signature":
 * https://github.com/containers/image/blob/main/docs/containers-signature.5.md#json-data-format
 * Written byte for byte as containers/image writes it (Go's json.Marshal of maps: keys sorted, HTML-safe
 * escapes); read as strictly as it reads it (signature/simple.go): `critical` and its objects have exactly
 * their fields, `optional` may hold anything but `creator` must be a string and `timestamp` an integer.
 */
import { type Digest, parseDigest } from '../../digest/digest.js';
import { isFerryError } from '../../errors.js';
import { findDuplicateKey } from '../../util/json-duplicate-key.js';
import { quoteInput } from '../../util/quote.js';
import { signatureError } from './errors.js';

export const SIGNATURE_TYPE = 'atomic container signature';

/** What a simple signature says. Untrusted until a verification function returns it. */
export interface SimpleSigningPayload {
  dockerManifestDigest: Digest;
  dockerReference: string;
  /** optional.creator, e.g. `atomic 5.23.1` (containers/image) */
  creator?: string;
  /** optional.timestamp, seconds since the epoch */
  timestamp?: number;
}

/** Go's json.Marshal string encoding (HTML-safe: <, >, & and U+2028/9 escaped). */
function goJSONString(s: string): string {
  return JSON.stringify(s).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/** The payload bytes, exactly as containers/image's untrustedSignature.MarshalJSON writes them. */
export function serializePayload(p: SimpleSigningPayload): Buffer {
  if ((p.dockerManifestDigest as string) === '' || p.dockerReference === '') {
    throw signatureError('invalid-payload', 'a signature payload needs a manifest digest and a docker reference');
  }
  if (p.timestamp !== undefined && !Number.isSafeInteger(p.timestamp)) {
    throw signatureError('invalid-payload', `signature timestamp ${p.timestamp} is not an integer`);
  }
  const optional: string[] = [];
  if (p.creator !== undefined) optional.push(`"creator":${goJSONString(p.creator)}`);
  if (p.timestamp !== undefined) optional.push(`"timestamp":${p.timestamp}`);
  const text =
    `{"critical":{"identity":{"docker-reference":${goJSONString(p.dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJSONString(p.dockerManifestDigest)}},` +
    `"type":${goJSONString(SIGNATURE_TYPE)}},"optional":{${optional.join(',')}}}`;
  return Buffer.from(text, 'utf8');
}

function invalid(rule: string): Error {
  return signatureError('invalid-payload', `invalid simple signature payload: ${rule}`);
}

function objectAt(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid(`${where} must be a JSON object`);
  return v as Record<string, unknown>;
}

/** Checks that `obj` has exactly `fields` (containers/image's ParanoidUnmarshalJSONObjectExactFields). */
function exactFields(obj: Record<string, unknown>, where: string, fields: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!fields.includes(key)) throw invalid(`unknown key ${quoteInput(key)} in ${where}`);
  }
  for (const key of fields) {
    if (!Object.hasOwn(obj, key)) throw invalid(`key ${quoteInput(key)} missing in ${where}`);
  }
}

/** A string field as Go decodes one into a string: null leaves it empty, any other type is an error. */
function stringField(v: unknown, where: string): string {
  if (v === null) return '';
  if (typeof v !== 'string') throw invalid(`${where} must be a string`);
  return v;
}

/** Parses payload bytes with containers/image's rules; FerryError INVALID_SIGNATURE (`invalid-payload`) otherwise. */
export function parsePayload(bytes: Uint8Array): SimpleSigningPayload {
  const text = Buffer.from(bytes).toString('utf8');
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  const duplicate = findDuplicateKey(text)?.at(-1);
  if (duplicate !== undefined) throw invalid(`duplicate key ${quoteInput(String(duplicate))}`);
  const top = objectAt(root, 'the payload');
  exactFields(top, 'the payload', ['critical', 'optional']);

  const optional = objectAt(top.optional, 'optional');
  const result: Partial<SimpleSigningPayload> = {};
  if (Object.hasOwn(optional, 'creator')) result.creator = stringField(optional.creator, 'optional.creator');
  if (Object.hasOwn(optional, 'timestamp')) {
    const t = optional.timestamp ?? 0;
    if (typeof t !== 'number') throw invalid('optional.timestamp must be a number');
    if (!Number.isInteger(t)) throw invalid('field optional.timestamp is not an integer');
    result.timestamp = t;
  }

  const critical = objectAt(top.critical, 'critical');
  exactFields(critical, 'critical', ['type', 'image', 'identity']);
  const type = stringField(critical.type, 'critical.type');
  if (type !== SIGNATURE_TYPE) throw invalid(`unrecognized signature type ${quoteInput(type)}`);
  const image = objectAt(critical.image, 'critical.image');
  exactFields(image, 'critical.image', ['docker-manifest-digest']);
  const digestText = stringField(image['docker-manifest-digest'], 'critical.image.docker-manifest-digest');
  try {
    result.dockerManifestDigest = parseDigest(digestText);
  } catch (e) {
    if (!isFerryError(e)) throw e;
    throw invalid(`invalid docker-manifest-digest value ${quoteInput(digestText)}: ${e.message}`);
  }
  const identity = objectAt(critical.identity, 'critical.identity');
  exactFields(identity, 'critical.identity', ['docker-reference']);
  result.dockerReference = stringField(identity['docker-reference'], 'critical.identity.docker-reference');
  return result as SimpleSigningPayload;
}
