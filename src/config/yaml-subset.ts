/**
 * The small part of YAML 1.2 that registries.d files use: block mappings by indentation, `key: value`
 * with plain, 'single' or "double" quoted scalars, `{}` for an empty mapping, `#` comments. Anything
 * else (sequences, anchors, tags, block scalars, flow collections with content, multi-line scalars,
 * several documents) is refused with INVALID_CONFIG naming the file and line: a file Ferry cannot read
 * exactly is never half-read. With `{ sequences: true }` (skopeo sync's YAML), a value may also be a
 * sequence of scalars: block (`- item` lines, indented or at the key's column, as YAML allows) or flow
 * on one line (`[a, "b"]`, `[]`).
 */
import { FerryError } from '../errors.js';
import { escapeControl } from '../util/quote.js';

export interface YamlScalar {
  kind: 'scalar';
  /** The scalar's text after unquoting. */
  text: string;
  /** A quoted scalar is always a string (never null or a boolean). */
  quoted: boolean;
  line: number;
}

export interface YamlMap {
  kind: 'map';
  /** Keys in file order. */
  entries: Map<string, YamlValue>;
  line: number;
  /** The line of each key (a mapping or list value starts on a later line). */
  keyLines?: Map<string, number>;
}

/** `key:` with nothing after it, or `null` / `~`. */
export interface YamlNull {
  kind: 'null';
  line: number;
}

/** A sequence of scalars (only with `{ sequences: true }`). */
export interface YamlSequence {
  kind: 'seq';
  items: YamlScalar[];
  line: number;
}

export type YamlValue = YamlScalar | YamlMap | YamlNull | YamlSequence;

export interface YamlSubsetOptions {
  /** Accept sequences of scalars as values (registries.d has none, so it keeps refusing them). */
  sequences?: boolean;
}

interface Line {
  number: number;
  indent: number;
  /** The content after the indentation, comment removed, trailing spaces trimmed. */
  text: string;
}

function invalid(file: string, line: number, rule: string): FerryError {
  return new FerryError('INVALID_CONFIG', `${file}: line ${line}: ${rule}`, { details: { path: file, line } });
}

/** Removes a `#` comment that is outside quotes and at the start or after a space. */
function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote !== undefined) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:]/.test(s[i - 1] ?? '')) quote = c;
    } else if (c === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) {
      return s.slice(0, i);
    }
  }
  return s;
}

function splitLines(text: string, file: string): Line[] {
  const lines: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  raw.forEach((content, i) => {
    const number = i + 1;
    const body = stripComment(content).trimEnd();
    if (body.trim() === '') return;
    const indent = /^ */.exec(body)?.[0].length ?? 0;
    if (body[indent] === '\t') throw invalid(file, number, 'tabs are not allowed in indentation');
    lines.push({ number, indent, text: body.slice(indent) });
  });
  return lines;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  n: '\n',
  t: '\t',
  r: '\r',
  '0': '\0',
};

/** Reads a quoted scalar starting at s[0]; returns its value and the rest of the line. */
function readQuoted(s: string, file: string, line: number): { value: string; rest: string } {
  const q = s[0];
  let out = '';
  for (let i = 1; i < s.length; i++) {
    const c = s[i] as string;
    if (q === "'" && c === "'") {
      if (s[i + 1] === "'") {
        out += "'";
        i++;
        continue;
      }
      return { value: out, rest: s.slice(i + 1) };
    }
    if (q === '"' && c === '"') return { value: out, rest: s.slice(i + 1) };
    if (q === '"' && c === '\\') {
      const e = s[i + 1] ?? '';
      const u = /^[0-9a-fA-F]{4}$/.exec(s.slice(i + 2, i + 6));
      if (e === 'u' && u) {
        out += String.fromCharCode(Number.parseInt(u[0], 16));
        i += 5;
        continue;
      }
      const mapped = ESCAPES[e];
      if (mapped === undefined)
        throw invalid(file, line, `unsupported escape \\${escapeControl(e)} in a quoted string`);
      out += mapped;
      i++;
      continue;
    }
    out += c;
  }
  throw invalid(file, line, 'a quoted string does not end on its line (multi-line strings are not supported)');
}

/** A plain or quoted scalar making up the whole of `s` (a value, or a key without its colon). */
function readScalar(s: string, file: string, line: number): YamlScalar | YamlNull | YamlMap {
  if (s.startsWith('"') || s.startsWith("'")) {
    const { value, rest } = readQuoted(s, file, line);
    if (rest.trim() !== '') throw invalid(file, line, 'text after a quoted string');
    return { kind: 'scalar', text: value, quoted: true, line };
  }
  if (/^\{\s*\}$/.test(s)) return { kind: 'map', entries: new Map(), line };
  if (/^[[\]{}&*!|>%@`,-]/.test(s) && !/^-[^\s]/.test(s)) {
    throw invalid(
      file,
      line,
      `unsupported YAML syntax ${JSON.stringify(escapeControl(s[0] ?? ''))} (only mappings of strings and booleans)`,
    );
  }
  if (/:(\s|$)/.test(s)) throw invalid(file, line, 'a value may not contain ": " unless quoted');
  if (s === 'null' || s === 'Null' || s === 'NULL' || s === '~') return { kind: 'null', line };
  return { kind: 'scalar', text: s, quoted: false, line };
}

/** Splits `key: rest` (key plain or quoted); undefined when the line is not a mapping entry. */
function splitEntry(s: string, file: string, line: number): { key: string; rest: string } | undefined {
  if (s.startsWith('"') || s.startsWith("'")) {
    const { value, rest } = readQuoted(s, file, line);
    const m = /^\s*:(?:\s+(.*)|$)/.exec(rest);
    if (!m) return undefined;
    return { key: value, rest: (m[1] ?? '').trim() };
  }
  const m = /^([^\s#][^:]*(?::[^\s:][^:]*)*?)\s*:(?:\s+(.*)|$)/.exec(s);
  if (!m) return undefined;
  return { key: m[1] as string, rest: (m[2] ?? '').trim() };
}

/** `[a, 'b', "c"]` on one line: the scalars between the brackets (empty for `[]`). */
function readFlowSequence(s: string, file: string, line: number): YamlSequence {
  const items: YamlScalar[] = [];
  let rest = s.slice(1).trimStart();
  if (rest.startsWith(']')) {
    if (rest.slice(1).trim() !== '') throw invalid(file, line, 'text after a flow sequence');
    return { kind: 'seq', items, line };
  }
  for (;;) {
    let text: string;
    let quoted = false;
    if (rest.startsWith('"') || rest.startsWith("'")) {
      const q = readQuoted(rest, file, line);
      text = q.value;
      quoted = true;
      rest = q.rest.trimStart();
    } else {
      const m = /^([^,\][{}"'#]*)/.exec(rest);
      text = (m?.[1] ?? '').trim();
      if (text === '') throw invalid(file, line, 'an empty item in a flow sequence');
      rest = rest.slice(m?.[1]?.length ?? 0);
    }
    items.push({ kind: 'scalar', text, quoted, line });
    if (rest.startsWith(',')) {
      rest = rest.slice(1).trimStart();
      continue;
    }
    if (rest.startsWith(']') && rest.slice(1).trim() === '') return { kind: 'seq', items, line };
    throw invalid(file, line, 'a flow sequence must be one line of scalars separated by ", " and closed by "]"');
  }
}

/** `- item` lines at column `indent`: a block sequence of scalars. */
function parseSequence(
  lines: Line[],
  start: number,
  indent: number,
  file: string,
): { seq: YamlSequence; next: number } {
  const items: YamlScalar[] = [];
  const seq: YamlSequence = { kind: 'seq', items, line: lines[start]?.number ?? 1 };
  let i = start;
  while (i < lines.length) {
    const l = lines[i] as Line;
    if (l.indent < indent || !(l.text.startsWith('- ') || l.text === '-')) break;
    if (l.indent > indent) throw invalid(file, l.number, 'unexpected indentation');
    const body = l.text.slice(1).trim();
    if (body === '' || splitEntry(body, file, l.number) !== undefined) {
      throw invalid(file, l.number, 'a sequence item must be a scalar on its line');
    }
    const item = readScalar(body, file, l.number);
    if (item.kind !== 'scalar') throw invalid(file, l.number, 'a sequence item must be a scalar');
    items.push(item);
    i++;
  }
  return { seq, next: i };
}

function isSequenceItem(l: Line | undefined): boolean {
  return l !== undefined && (l.text.startsWith('- ') || l.text === '-');
}

function parseMap(
  lines: Line[],
  start: number,
  indent: number,
  file: string,
  options: YamlSubsetOptions = {},
): { map: YamlMap; next: number } {
  const entries = new Map<string, YamlValue>();
  const keyLines = new Map<string, number>();
  const map: YamlMap = { kind: 'map', entries, line: lines[start]?.number ?? 1, keyLines };
  let i = start;
  while (i < lines.length) {
    const l = lines[i] as Line;
    if (l.indent < indent) break;
    if (l.indent > indent) throw invalid(file, l.number, 'unexpected indentation');
    if (l.text.startsWith('- ') || l.text === '-') throw invalid(file, l.number, 'sequences are not supported');
    const entry = splitEntry(l.text, file, l.number);
    if (!entry) throw invalid(file, l.number, 'expected "key: value" or "key:"');
    if (entries.has(entry.key)) {
      throw invalid(
        file,
        l.number,
        `key ${JSON.stringify(escapeControl(entry.key))} appears twice in the same mapping`,
      );
    }
    keyLines.set(entry.key, l.number);
    i++;
    if (entry.rest !== '') {
      const flow = options.sequences === true && entry.rest.startsWith('[');
      entries.set(
        entry.key,
        flow ? readFlowSequence(entry.rest, file, l.number) : readScalar(entry.rest, file, l.number),
      );
      continue;
    }
    const child = lines[i];
    if (options.sequences === true && child && child.indent >= indent && isSequenceItem(child)) {
      const sub = parseSequence(lines, i, child.indent, file);
      entries.set(entry.key, sub.seq);
      i = sub.next;
    } else if (child && child.indent > indent) {
      const sub = parseMap(lines, i, child.indent, file, options);
      entries.set(entry.key, sub.map);
      i = sub.next;
    } else {
      entries.set(entry.key, { kind: 'null', line: l.number });
    }
  }
  return { map, next: i };
}

/**
 * Parses `text` (the content of `file`, named in errors). An empty document is an empty mapping;
 * a document that is not a mapping is refused.
 */
export function parseYamlSubset(text: string, file: string, options: YamlSubsetOptions = {}): YamlMap {
  const lines = splitLines(text, file);
  const first = lines[0];
  if (first === undefined) return { kind: 'map', entries: new Map(), line: 1 };
  if (first.text === '---' || first.text.startsWith('--- ')) {
    throw invalid(file, first.number, 'document markers ("---") are not supported');
  }
  if (lines.length === 1 && /^\{\s*\}$/.test(first.text))
    return { kind: 'map', entries: new Map(), line: first.number };
  if (first.indent !== 0) throw invalid(file, first.number, 'the document must start at column 1');
  const { map, next } = parseMap(lines, 0, 0, file, options);
  const extra = lines[next];
  if (extra !== undefined) throw invalid(file, extra.number, 'unexpected text after the document');
  return map;
}

const YAML_TRUE = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML_FALSE = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/**
 * A boolean as yaml.v3 decodes one into a Go bool (the YAML 1.2 core forms plus the 1.1 yes/no/on/off
 * it still takes); undefined for anything else, a quoted string included.
 */
export function yamlBoolean(v: YamlValue): boolean | undefined {
  if (v.kind !== 'scalar' || v.quoted) return undefined;
  if (YAML_TRUE.has(v.text)) return true;
  if (YAML_FALSE.has(v.text)) return false;
  return undefined;
}
