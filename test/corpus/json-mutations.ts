/** Mutations of JSON documents for the corpus: wrong types and ranges, removed and duplicate members, damage. */
import type { Random } from './prng.js';

const BIG_ARRAY = Array.from({ length: 100_000 }, () => 0);
function deep(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { a: v };
  return v;
}

/** Values that break a field's type or range. */
export const BAD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  -0.5,
  1e308,
  2 ** 53 + 2,
  -(2 ** 53),
  '',
  'x',
  'sha256:',
  'sha256:abc',
  `sha256:${'A'.repeat(64)}`,
  `sha256:${'0'.repeat(63)}`,
  `md5:${'0'.repeat(32)}`,
  `sha512:${'0'.repeat(64)}`,
  `${'0'.repeat(64)}`,
  '../../etc/passwd',
  'a\u0000b',
  '\u001b[2J',
  [],
  {},
  [null],
  [1, 'a', {}],
  { __proto__: null, constructor: 1 },
  JSON.parse('{"__proto__": {"polluted": 1}}'),
  'x'.repeat(100_000),
  BIG_ARRAY,
  deep(900),
  deep(2_000),
];

type Path = (string | number)[];

function paths(v: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(v)) {
    for (const [i, x] of v.slice(0, 8).entries()) paths(x, [...prefix, i], out);
  } else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path[path.length - 1] as string | number;
  if (remove) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else Object.defineProperty(parent, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

/**
 * One structured or byte-level mutation of JSON `bytes` (throws when a structured mutation meets
 * bytes that are no longer JSON).
 */
export function mutateJSON(r: Random, bytes: Buffer): Buffer {
  const text = bytes.toString('utf8');
  switch (r.int(10)) {
    case 0:
    case 1:
    case 2:
    case 3: {
      const doc: unknown = JSON.parse(text);
      const path = r.pick(paths(doc));
      return Buffer.from(JSON.stringify(setAt(doc, path, r.pick(BAD_VALUES), false)));
    }
    case 4: {
      const doc: unknown = JSON.parse(text);
      const path = r.pick(paths(doc).filter((p) => p.length > 0));
      return path === undefined ? bytes : Buffer.from(JSON.stringify(setAt(doc, path, undefined, true)));
    }
    case 5: {
      // A duplicate member: the same key again with another value, right after `{`.
      const at = text.indexOf('{');
      const key = r.pick([
        'mediaType',
        'schemaVersion',
        'config',
        'layers',
        'manifests',
        'digest',
        'size',
        'MediaType',
        'SCHEMAVERSION',
      ]);
      const value = JSON.stringify(r.pick(BAD_VALUES.slice(0, 22)));
      return Buffer.from(`${text.slice(0, at + 1)}"${key}":${value},${text.slice(at + 1)}`);
    }
    case 6: // truncate
      return bytes.subarray(0, r.int(bytes.length));
    case 7: {
      // flip a byte
      const copy = Buffer.from(bytes);
      const at = r.int(copy.length);
      copy[at] = (copy[at] as number) ^ (1 << r.int(8));
      return copy;
    }
    case 8: // add a format field of another type
      return Buffer.from(
        text.replace(
          '{',
          `{"${r.pick(['manifests', 'layers', 'config', 'fsLayers', 'history'])}":${r.pick(['[]', '[{}]', '{}', 'null', '1'])},`,
        ),
      );
    default: // invalid UTF-8, BOM, NUL
      return Buffer.concat([
        r.pick([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xff, 0xfe]), Buffer.from([0])]),
        bytes,
      ]);
  }
}
