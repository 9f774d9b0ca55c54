/**
 * Manifest digests: sha256 of the exact bytes, except for signed Docker schema1, whose digest covers
 * the JWS payload, i.e. the bytes without the "signatures" member, rebuilt as libtrust does from
 * the `formatLength` and `formatTail` of the protected headers.
 * https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-1.md#signed-manifests
 */
import { type Digest, type DigestAlgorithm, digestOf } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { isJSONObject, type JSONObject, parseJSONObject } from './json.js';
import { guessMIMETypeLenient } from './guess.js';
import { MediaType } from './mediatypes.js';

function invalidSignature(reason: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `signed schema1 manifest has invalid "signatures": ${reason}`);
}

function decodeBase64Url(s: unknown, what: string): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw invalidSignature(`${what} is not base64url`);
  return Buffer.from(s, 'base64url');
}

/** The JWS payload of a signed schema1 manifest (the bytes its digest and signatures cover). */
export function schema1SignedPayload(bytes: Buffer): Buffer {
  const obj = parseJSONObject(bytes, 'signed schema1 manifest');
  if (!Object.hasOwn(obj, 'signatures')) throw invalidSignature('the member is missing');
  const blocks = obj.signatures;
  if (blocks !== null && !Array.isArray(blocks)) throw invalidSignature('not an array');
  let formatLength: number | undefined;
  let formatTail: Buffer | undefined;
  for (const block of blocks ?? []) {
    if (!isJSONObject(block)) throw invalidSignature('an entry is not an object');
    let header: unknown;
    try {
      header = JSON.parse(decodeBase64Url(block.protected, 'a protected header').toString('utf8'));
    } catch (e) {
      if (e instanceof FerryError) throw e;
      throw invalidSignature('a protected header is not JSON');
    }
    if (!isJSONObject(header)) throw invalidSignature('a protected header is not a JSON object');
    const length = (header as JSONObject).formatLength;
    if (typeof length !== 'number') throw invalidSignature('a protected header lacks formatLength');
    const tail = decodeBase64Url(header.formatTail, 'formatTail');
    const len = Math.trunc(length);
    if (!formatLength) formatLength = len;
    else if (formatLength !== len) throw invalidSignature('conflicting formatLength');
    if (formatTail === undefined || formatTail.length === 0) formatTail = tail;
    else if (!formatTail.equals(tail)) throw invalidSignature('conflicting formatTail');
  }
  const length = formatLength ?? 0;
  if (length > bytes.length || length < 0) throw invalidSignature(`formatLength ${length} is outside the manifest`);
  return Buffer.concat([bytes.subarray(0, length), formatTail ?? Buffer.alloc(0)]);
}

/** The digest of manifest bytes (what `skopeo manifest-digest` prints). */
export function manifestDigest(bytes: Buffer, algorithm: DigestAlgorithm = 'sha256'): Digest {
  const payload =
    guessMIMETypeLenient(bytes) === MediaType.DOCKER_V2_SCHEMA1_SIGNED ? schema1SignedPayload(bytes) : bytes;
  return digestOf(payload, algorithm);
}

/** Whether `bytes` are the manifest `expected` names (by `expected`'s algorithm). */
export function manifestMatchesDigest(bytes: Buffer, expected: Digest): boolean {
  const algorithm = expected.slice(0, expected.indexOf(':')) as DigestAlgorithm;
  return manifestDigest(bytes, algorithm) === expected;
}
