/**
 * The duplicate keys JSON.parse hides (it keeps the last silently): containers/image refuses them in
 * policies and signatures (its ParanoidUnmarshalJSONObject), so Ferry does too.
 */

/** Where a value sits in a document: object keys and array indexes, from the top. */
export type JSONPath = readonly (string | number)[];

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
