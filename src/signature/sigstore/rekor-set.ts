/**
 * Offline check of a Rekor SET (signed entry timestamp), the `dev.sigstore.cosign/bundle` annotation:
 * `{"SignedEntryTimestamp": base64, "Payload": {body, integratedTime, logIndex, logID}}`. The SET is an
 * ECDSA signature by the Rekor log over the RFC 8785 canonical JSON of Payload; the body is a
 * `hashedrekord` 0.0.1 entry that must record the same signature, key or certificate, and payload hash.
 * Behaviour follows containers/image signature/internal/rekor_set.go.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { FerryError } from '../../errors.js';
import { decodePEM, verifyWithKey } from './keys.js';
import {
  decodeBase64,
  exactFields,
  integerField,
  invalidSignature,
  isJSONObject,
  type JSONObject,
  objectField,
  parseStrictJSONObject,
  stringField,
} from './strict-json.js';

const WHAT = 'Rekor SET';

/** RFC 8785 (JCS) canonical JSON: sorted keys (UTF-16 order), no spaces, ECMAScript number and string forms. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJSON).join(',')}]`;
  if (isJSONObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(v[k])}`).join(',')}}`;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw invalidSignature('a number is not finite', WHAT);
  return JSON.stringify(v);
}

function field(obj: unknown, path: string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) cur = isJSONObject(cur) ? cur[k] : undefined;
  return cur;
}

function bodyString(obj: unknown, path: string[]): string {
  const v = field(obj, path);
  if (typeof v !== 'string') throw invalidSignature(`hashedrekord field "${path.join('.')}" is missing`, WHAT);
  return v;
}

export interface RekorSETInput {
  /** The Rekor log's public keys (ECDSA). */
  rekorPublicKeys: KeyObject[];
  /** The annotation's text. */
  set: string;
  /** DER of the key or certificate that made the signature (compared with the one Rekor recorded). */
  signerDER: Buffer;
  /** The signature annotation (base64). */
  base64Signature: string;
  payload: Buffer;
}

/** Verifies the SET; returns the time the entry was integrated in the log. */
export function verifyRekorSET(input: RekorSETInput): Date {
  for (const k of input.rekorPublicKeys) {
    if (k.asymmetricKeyType !== 'ec') {
      throw new FerryError('INVALID_CONFIG', 'a Rekor public key must be an ECDSA key', {
        details: { reason: 'rekor-key-type' },
      });
    }
  }
  const set = parseStrictJSONObject(input.set, WHAT);
  exactFields(set, ['SignedEntryTimestamp', 'Payload'], WHAT);
  const setSig = decodeBase64(stringField(set, 'SignedEntryTimestamp', WHAT), `${WHAT} SignedEntryTimestamp`);
  const canonical = Buffer.from(canonicalJSON(objectField(set, 'Payload', WHAT)), 'utf8');
  if (!input.rekorPublicKeys.some((k) => verifyWithKey(k, canonical, setSig))) {
    throw invalidSignature('cryptographic signature verification of the Rekor SET failed', WHAT);
  }
  // Read the verified canonical form, not the bytes as delivered.
  const payload: JSONObject = parseStrictJSONObject(canonical.toString('utf8'), `${WHAT} payload`);
  exactFields(payload, ['body', 'integratedTime', 'logIndex', 'logID'], `${WHAT} payload`);
  const integratedTime = integerField(payload, 'integratedTime', `${WHAT} payload`);
  integerField(payload, 'logIndex', `${WHAT} payload`);
  stringField(payload, 'logID', `${WHAT} payload`);
  const bodyText = decodeBase64(stringField(payload, 'body', `${WHAT} payload`), `${WHAT} body`).toString('utf8');
  const body = parseStrictJSONObject(bodyText, `${WHAT} body`);
  if (body.kind !== 'hashedrekord')
    throw invalidSignature(`entry kind ${JSON.stringify(body.kind)} is not hashedrekord`, WHAT);
  if (body.apiVersion !== '0.0.1') {
    throw invalidSignature(`hashedrekord version ${JSON.stringify(body.apiVersion)} is not supported (0.0.1)`, WHAT);
  }
  const spec = body.spec;

  const recordedKey = decodeBase64(bodyString(spec, ['signature', 'publicKey', 'content']), `${WHAT} publicKey`);
  const recordedPEM = decodePEM(recordedKey.toString('utf8'));
  if (recordedPEM === undefined) throw invalidSignature('publicKey in the Rekor SET is not PEM', WHAT);
  if (recordedPEM.rest !== '') throw invalidSignature('publicKey in the Rekor SET has trailing data', WHAT);
  if (!recordedPEM.der.equals(input.signerDER))
    throw invalidSignature('publicKey in the Rekor SET does not match', WHAT);

  const recordedSig = decodeBase64(bodyString(spec, ['signature', 'content']), `${WHAT} signature`);
  const signature = decodeBase64(input.base64Signature, 'sigstore signature annotation');
  if (!recordedSig.equals(signature)) throw invalidSignature('signature in the Rekor SET does not match', WHAT);

  const algorithm = bodyString(spec, ['data', 'hash', 'algorithm']);
  if (algorithm !== 'sha256')
    throw invalidSignature(`data.hash.algorithm ${JSON.stringify(algorithm)} is not sha256`, WHAT);
  const hash = bodyString(spec, ['data', 'hash', 'value']);
  // Compared as bytes, as upstream does (hex of either case).
  if (
    !/^(?:[0-9a-fA-F]{2})*$/.test(hash) ||
    !Buffer.from(hash, 'hex').equals(createHash('sha256').update(input.payload).digest())
  ) {
    throw invalidSignature('payload in the Rekor SET does not match', WHAT);
  }
  return new Date(integratedTime * 1000);
}
