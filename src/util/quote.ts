/** Putting input into error messages safely: one line, no terminal escapes, bounded length. */

/** Longest piece of input an error message repeats; the rest is counted, not printed. */
const MAX_QUOTED = 1024;

/**
 * `s` in double quotes with control characters, quotes and backslashes escaped (JSON style), cut to
 * 1024 characters with the length of the rest noted: a message names its input without letting the
 * input rewrite the terminal or flood the log.
 */
export function quoteInput(s: string): string {
  const cut = s.length > MAX_QUOTED ? s.slice(0, MAX_QUOTED) : s;
  const quoted = JSON.stringify(cut).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return s.length > MAX_QUOTED ? `${quoted}…(${s.length - MAX_QUOTED} more characters)` : quoted;
}

/** `s` with control characters written as `\uXXXX` (for text that is already quoted or trusted in shape). */
export function escapeControl(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/**
 * A media type read from a document, quoted when it has the shape of one (`type/subtype`), else
 * only described: a file that is not a manifest must not have its text repeated.
 */
export function quoteMediaType(v: unknown): string {
  return typeof v === 'string' && MEDIA_TYPE.test(v) ? `"${v}"` : describeValue(v);
}

/** What kind of value `v` is, without its content: `a string of 12 characters`, `an array`, `the number 3`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) && String(v).length <= 24 ? `the number ${v}` : 'a number';
  if (typeof v === 'boolean') return `${v}`;
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}
