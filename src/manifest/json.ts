/**
 * JSON helpers that follow Go's encoding/json, because containers/image and Docker read and write
 * manifests with it: field names match case-insensitively on input, and output is compact with
 * `<`, `>`, `&`, U+2028 and U+2029 escaped, maps in sorted key order, struct fields in declaration order.
 */
import { FerryError } from '../errors.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../util/json-text.js';

export type JSONObject = { [key: string]: unknown };

export function isJSONObject(v: unknown): v is JSONObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses bytes as a JSON object; anything else is INVALID_MANIFEST naming `what`, the line and the
 * rule (never the text). Duplicate member names: the last one wins, as in Go's encoding/json.
 */
export function parseJSONObject(bytes: Buffer, what: string): JSONObject {
  const parsed = parseJSONText(bytes.toString('utf8'));
  if (!parsed.ok) {
    const { line, column } = parsed.problem;
    throw new FerryError('INVALID_MANIFEST', `${what} is ${describeJSONSyntaxProblem(parsed.problem)}`, {
      details: { line, column },
    });
  }
  if (!isJSONObject(parsed.value)) throw new FerryError('INVALID_MANIFEST', `${what} is not a JSON object`);
  return parsed.value;
}

/** Like JSON.parse but returns undefined for anything that is not an object. */
export function tryParseJSONObject(bytes: Buffer): JSONObject | undefined {
  try {
    const v: unknown = JSON.parse(bytes.toString('utf8'));
    return isJSONObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The value Go's decoder would store for field `name`: keys match case-insensitively, an exact
 * match wins, `null` counts as absent.
 */
export function field(obj: JSONObject, name: string): unknown {
  if (Object.hasOwn(obj, name) && obj[name] !== null) return obj[name];
  const lower = name.toLowerCase();
  let found: unknown;
  for (const key of Object.keys(obj)) {
    if (key.toLowerCase() === lower && obj[key] !== null) found = obj[key];
  }
  return found;
}

/** Serialises like Go's json.Marshal (callers build objects with keys in struct order). */
export function goMarshal(value: unknown): Buffer {
  const text = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return Buffer.from(text, 'utf8');
}

/** A copy of a string map with keys sorted (Go marshals maps that way); undefined when empty. */
export function sortedMap(m: Record<string, string> | undefined): Record<string, string> | undefined {
  if (m === undefined) return undefined;
  const keys = Object.keys(m).sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of keys) out[k] = m[k] as string;
  return out;
}

/** The "essential" fields whose presence identifies a manifest format. */
export type FormatField = 'config' | 'fsLayers' | 'history' | 'layers' | 'manifests';
const FORMAT_FIELDS: readonly FormatField[] = ['config', 'fsLayers', 'history', 'layers', 'manifests'];

/**
 * The format fields present in `obj` that `allowed` does not list. A document that carries fields
 * of another format is ambiguous: two readers could see two different images in it.
 */
export function unexpectedFormatFields(obj: JSONObject, allowed: readonly FormatField[]): FormatField[] {
  return FORMAT_FIELDS.filter((f) => !allowed.includes(f) && field(obj, f) !== undefined);
}

export function rejectAmbiguous(obj: JSONObject, mimeType: string, allowed: readonly FormatField[]): void {
  const unexpected = unexpectedFormatFields(obj, allowed);
  if (unexpected.length > 0) {
    throw new FerryError(
      'AMBIGUOUS_MANIFEST',
      `manifest claiming to be ${mimeType} also contains fields of other formats: ${unexpected.join(', ')}`,
      { details: { mimeType, fields: unexpected } },
    );
  }
}
