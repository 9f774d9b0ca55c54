/**
 * Byte-faithful JSON editing, for the conversions containers/image does through Go's
 * `map[string]*json.RawMessage`: members it does not know keep their exact text (compacted),
 * and the object is written back with sorted keys.
 */
import { FerryError } from '../errors.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../util/json-text.js';

function bad(what: string, why: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `${what} is not a valid JSON object: ${why}`);
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Removes insignificant whitespace and escapes `<>&` and U+2028/9 like Go's json.Compact for Marshal. */
export function compactJSON(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      if (c === '\\') {
        out += c + (text[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === '"') inString = false;
      if (c === '<') out += '\\u003c';
      else if (c === '>') out += '\\u003e';
      else if (c === '&') out += '\\u0026';
      else if (c === '\u2028') out += '\\u2028';
      else if (c === '\u2029') out += '\\u2029';
      else out += c;
      continue;
    }
    if (c === '"') inString = true;
    if (!WS.has(c.charCodeAt(0))) out += c;
  }
  return out;
}

/** The members of a JSON object as [key, raw value text] (later duplicates replace earlier ones). */
export function rawObjectMembers(text: string, what: string): Map<string, string> {
  const parsed = parseJSONText(text);
  if (!parsed.ok) throw bad(what, describeJSONSyntaxProblem(parsed.problem));
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value))
    throw bad(what, 'not an object');
  const members = new Map<string, string>();
  let i = 0;
  const skip = (): void => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const scanString = (): void => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const scanValue = (): void => {
    const c = text[i];
    if (c === '"') {
      scanString();
      return;
    }
    if (c === '{' || c === '[') {
      let depth = 0;
      while (i < text.length) {
        const d = text[i];
        if (d === '"') {
          scanString();
          continue;
        }
        if (d === '{' || d === '[') depth++;
        if (d === '}' || d === ']') depth--;
        i++;
        if (depth === 0) return;
      }
      return;
    }
    while (i < text.length && !WS.has(text.charCodeAt(i)) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  };
  skip();
  if (text[i] !== '{') throw bad(what, 'not an object');
  i++;
  skip();
  if (text[i] === '}') return members;
  for (;;) {
    skip();
    const keyStart = i;
    scanString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    skip();
    i++; // ':'
    skip();
    const valueStart = i;
    scanValue();
    members.set(key, text.slice(valueStart, i));
    skip();
    if (text[i] === ',') {
      i++;
      continue;
    }
    return members;
  }
}

/** Writes members as Go marshals a map[string]*json.RawMessage: sorted keys, compacted values. */
export function marshalRawObject(members: Map<string, string>): Buffer {
  const keys = [...members.keys()].sort();
  const body = keys.map((k) => `${compactJSON(JSON.stringify(k))}:${compactJSON(members.get(k) as string)}`).join(',');
  return Buffer.from(`{${body}}`, 'utf8');
}
