/**
 * JSON.parse for the content of files and servers, whose failure says where (line, column) and
 * which rule broke, never the text: V8's own message quotes the input (`Unexpected token 'r',
 * "root:x:0:0:"... is not valid JSON`), which would print a file Ferry was pointed at by mistake.
 */

/** Where a document stops being JSON (RFC 8259), 1-based, and the rule it breaks there. */
export interface JSONSyntaxProblem {
  line: number;
  column: number;
  rule: string;
}

export type JSONParseResult = { ok: true; value: unknown } | { ok: false; problem: JSONSyntaxProblem };

/**
 * Deepest nesting accepted. V8 parses far deeper, but JSON.stringify and structuredClone of the
 * result then overflow the stack (from ~2000 levels): a deep index.json would crash the next write.
 * Real manifests, configs and auth files nest a few levels; Go's decoder stops at 10000.
 */
export const MAX_JSON_DEPTH = 1000;

/** Parses `text`; on failure the problem carries no part of the text. */
export function parseJSONText(text: string): JSONParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: findJSONSyntaxProblem(text) ?? { line: 1, column: 1, rule: 'not valid JSON' } };
  }
  const tooDeep = text.length > MAX_JSON_DEPTH ? findTooDeep(text) : undefined;
  return tooDeep === undefined ? { ok: true, value } : { ok: false, problem: tooDeep };
}

/** Where valid JSON `text` first nests deeper than MAX_JSON_DEPTH, or undefined. */
function findTooDeep(text: string): JSONSyntaxProblem | undefined {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return position(text, i, `nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return undefined;
}

/** `not valid JSON at line L, column C: rule` (for error messages). */
export function describeJSONSyntaxProblem(p: JSONSyntaxProblem): string {
  return `not valid JSON at line ${p.line}, column ${p.column}: ${p.rule}`;
}

function position(text: string, offset: number, rule: string): JSONSyntaxProblem {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1, rule };
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * The first syntax error in `text`, or undefined when it is valid JSON. Iterative (a stack of open
 * containers, no recursion), so 100 000 `[` cost memory in proportion, not the call stack.
 */
export function findJSONSyntaxProblem(text: string): JSONSyntaxProblem | undefined {
  const n = text.length;
  const open: string[] = [];
  let i = 0;
  let state: 'value' | 'firstValue' | 'key' | 'firstKey' | 'after' = 'value';
  const fail = (rule: string, at = i): JSONSyntaxProblem => position(text, at, rule);
  const skipSpace = (): void => {
    for (let c = text[i]; c === ' ' || c === '\t' || c === '\n' || c === '\r'; c = text[++i]);
  };
  /** Scans a string starting at its quote; returns a problem or undefined with `i` after the closing quote. */
  const scanString = (): JSONSyntaxProblem | undefined => {
    const start = i++;
    for (;;) {
      if (i >= n) return fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail('control character in a string (must be escaped)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          HEX4.lastIndex = i + 2;
          if (!HEX4.test(text)) return fail('\\u must be followed by 4 hex digits');
          i += 6;
        } else if (e !== undefined && ESCAPES.has(e)) i += 2;
        else return fail('invalid escape in a string');
        continue;
      }
      i++;
    }
  };
  for (;;) {
    skipSpace();
    if (state === 'after') {
      const top = open[open.length - 1];
      if (top === undefined) return i < n ? fail('unexpected data after the JSON value') : undefined;
      const c = text[i];
      if (c === ',') {
        i++;
        state = top === '[' ? 'value' : 'key';
      } else if (c === (top === '[' ? ']' : '}')) {
        i++;
        open.pop();
      } else if (i >= n) return fail('unexpected end of input');
      else
        return fail(
          top === '[' ? "expected ',' or ']' after an array element" : "expected ',' or '}' after an object member",
        );
      continue;
    }
    if (i >= n) return fail('unexpected end of input');
    const c = text[i];
    if (state === 'firstValue' && c === ']') {
      i++;
      open.pop();
      state = 'after';
      continue;
    }
    if (state === 'firstKey' && c === '}') {
      i++;
      open.pop();
      state = 'after';
      continue;
    }
    if (state === 'key' || state === 'firstKey') {
      if (c !== '"') return fail('expected a double-quoted member name');
      const bad = scanString();
      if (bad) return bad;
      skipSpace();
      if (text[i] !== ':') return fail(i >= n ? 'unexpected end of input' : "expected ':' after a member name");
      i++;
      state = 'value';
      continue;
    }
    // A value.
    if (c === '{' || c === '[') {
      open.push(c);
      i++;
      state = c === '[' ? 'firstValue' : 'firstKey';
      continue;
    }
    if (c === '"') {
      const bad = scanString();
      if (bad) return bad;
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text))
        return fail(
          c === '-' || (c !== undefined && c >= '0' && c <= '9') ? 'malformed number' : 'unexpected character',
        );
      i = NUMBER.lastIndex;
    }
    state = 'after';
  }
}
