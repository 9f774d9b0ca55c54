/**
 * JSON objects read as containers/image's ParanoidUnmarshalJSONObject does: duplicate keys are errors
 * (JSON.parse would keep the last one silently). Syntax errors are left to JSON.parse.
 */

/** The first key that appears twice in one object of `text`, or undefined. `text` must be valid JSON. */
export function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | undefined)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top !== undefined && nextNonSpace(text, end) === ':') {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (top.has(key)) return key;
        top.add(key);
      }
      i = end;
      continue;
    }
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(undefined);
    else if (c === '}' || c === ']') stack.pop();
    i++;
  }
  return undefined;
}

/** The index just past the string literal starting at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function nextNonSpace(text: string, from: number): string | undefined {
  let i = from;
  while (i < text.length && ' \t\r\n'.includes(text[i] ?? '')) i++;
  return text[i];
}
