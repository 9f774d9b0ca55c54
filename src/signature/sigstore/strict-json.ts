/**
 * JSON for signed data, parsed as containers/image's "paranoid" decoder does: valid JSON (RFC 8259),
 * no key twice in one object (JSON.parse keeps the last one silently), exact field sets where asked.
 */
import { FerryError } from '../../errors.js';
import { findDuplicateKey } from '../../util/json-duplicate-key.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../util/json-text.js';
import { quoteInput } from '../../util/quote.js';

export type JSONObject = { [key: string]: unknown };

export function invalidSignature(reason: string, what: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('INVALID_SIGNATURE', `${what}: ${reason}`, { details: { reason, ...details } });
}

export function isJSONObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses `text` as a JSON object; `what` names it in errors. */
export function parseStrictJSONObject(text: string, what: string): JSONObject {
  const parsed = parseJSONText(text);
  if (!parsed.ok) throw invalidSignature(describeJSONSyntaxProblem(parsed.problem), what);
  if (!isJSONObject(parsed.value)) throw invalidSignature('not a JSON object', what);
  const dup = findDuplicateKey(text)?.at(-1);
  if (dup !== undefined) throw invalidSignature(`key ${quoteInput(String(dup))} appears twice`, what);
  return parsed.value;
}

/** Checks that `obj` has exactly the keys `keys`. */
export function exactFields(obj: JSONObject, keys: readonly string[], what: string): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw invalidSignature(`unknown key ${quoteInput(k)}`, what);
  }
  for (const k of keys) {
    if (!Object.hasOwn(obj, k)) throw invalidSignature(`key ${quoteInput(k)} is missing`, what);
  }
}

/** `obj[key]` as an object (exactFields checked it is there). */
export function objectField(obj: JSONObject, key: string, what: string): JSONObject {
  const v = obj[key];
  if (!isJSONObject(v)) throw invalidSignature(`${quoteInput(key)} is not a JSON object`, what);
  return v;
}

export function stringField(obj: JSONObject, key: string, what: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw invalidSignature(`${quoteInput(key)} is not a string`, what);
  return v;
}

export function integerField(obj: JSONObject, key: string, what: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw invalidSignature(`${quoteInput(key)} is not an integer`, what);
  return v;
}

/** Standard base64 with padding, as Go's base64.StdEncoding reads it. */
export function decodeBase64(s: string, what: string): Buffer {
  const clean = s.replace(/[\r\n]/g, '');
  if (clean.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw invalidSignature('not valid base64', what);
  return Buffer.from(clean, 'base64');
}
