/** JSON paths for messages (`transports.docker["quay.io"][0].keyType`), and the duplicate keys JSON.parse hides. */

import { escapeControl } from '../../util/quote.js';

export type JSONPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `a.b["c.d"][0]`; the root is `(top level)`. */
export function formatJSONPath(path: JSONPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (seg.length <= 200 && IDENTIFIER.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${escapeControl(JSON.stringify(seg.length > 200 ? `${seg.slice(0, 200)}…` : seg))}]`;
  }
  return out === '' ? '(top level)' : out;
}

interface Frame {
  keys: Set<string> | undefined; // undefined for an array
  at: string | number;
  expectKey: boolean;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * The path of the first key repeated in one object of `text`, which must be valid JSON (JSON.parse
 * keeps the last silently; containers/image refuses the file). Iterative, no recursion.
 */
export function findDuplicateKey(text: string): JSONPath | undefined {
  const stack: Frame[] = [];
  const pathTo = (last: string): JSONPath => [...stack.slice(0, -1).map((f) => f.at), last];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (WS.has(c)) continue;
    const top = stack[stack.length - 1];
    if (c === 0x7b) stack.push({ keys: new Set(), at: '', expectKey: true });
    else if (c === 0x5b) stack.push({ keys: undefined, at: 0, expectKey: false });
    else if (c === 0x7d || c === 0x5d) stack.pop();
    else if (c === 0x2c && top !== undefined) {
      if (top.keys === undefined) top.at = (top.at as number) + 1;
      else top.expectKey = true;
    } else if (c === 0x3a && top !== undefined) top.expectKey = false;
    else if (c === 0x22) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (top?.keys !== undefined && top.expectKey) {
        const key = JSON.parse(text.slice(start, i + 1)) as string;
        if (top.keys.has(key)) return pathTo(key);
        top.keys.add(key);
        top.at = key;
      }
    }
  }
  return undefined;
}
