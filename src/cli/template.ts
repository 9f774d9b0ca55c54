/**
 * A small subset of Go's text/template, enough for `ferry inspect --format` as people use it with
 * skopeo: `{{.Field.Sub}}`, `{{.}}`, `{{json .X}}`, `{{index .Labels "k"}}`, `{{len .Layers}}`,
 * `{{join .Env ","}}`, pipes (`{{.Layers | json}}`), `{{range .X}}…{{else}}…{{end}}` (with
 * `$v :=` / `$k, $v :=`), `{{if …}}…{{else}}…{{end}}`, `{{with …}}…{{end}}`, `$` and `$name`,
 * `{{-`/`-}}` trimming and `{{/* comments *\/}}`. Anything else is a clear INVALID_ARGUMENT error.
 * Values print like Go's fmt `%v`: slices `[a b]`, maps `map[k:v]` (sorted keys), null `<nil>`.
 * https://pkg.go.dev/text/template
 */
import { FerryError } from '../index.js';

/** A value that prints one way in templates (Go's `%v`) and another in JSON (`toJSON`). */
export interface GoFormattable {
  goString(): string;
}

export interface TemplateOptions {
  /** Objects that are Go maps: a missing key gives `<no value>` instead of an error. */
  maps?: WeakSet<object>;
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipe }
  | { kind: 'if' | 'with'; pipe: Pipe; body: Node[]; else: Node[] }
  | { kind: 'range'; pipe: Pipe; vars: string[]; body: Node[]; else: Node[] };

type Arg =
  | { kind: 'field'; base: 'dot' | string; path: string[] }
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'func'; name: string };

interface Pipe {
  vars: string[];
  commands: Arg[][];
}

const FUNCTIONS = new Set(['json', 'index', 'len', 'join', 'upper', 'lower', 'print', 'println', 'printf']);

function templateError(message: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', `template: ${message}`);
}

/** Splits `{{…}}` actions from text, applying `{{-`/`-}}` trimming. */
function lex(src: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) {
      out.push({ text: src.slice(i) });
      break;
    }
    let text = src.slice(i, open);
    let start = open + 2;
    if (src.startsWith('- ', start) || src.startsWith('-\t', start) || src.startsWith('-\n', start)) {
      text = text.replace(/\s+$/, '');
      start += 1;
    }
    if (text !== '') out.push({ text });
    const close = src.indexOf('}}', start);
    if (close < 0) throw templateError(`unclosed action starting at offset ${open}`);
    let body = src.slice(start, close);
    i = close + 2;
    if (/\s-$/.test(body)) {
      body = body.slice(0, -1);
      const m = /^\s*/.exec(src.slice(i));
      i += m?.[0].length ?? 0;
    }
    out.push({ action: body.trim() });
  }
  return out;
}

/** Splits an action into words, keeping quoted strings whole. */
function words(action: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||\(|\)|[^\s|()]+)/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(action)) !== null) {
    out.push(m[1] ?? '');
    last = re.lastIndex;
  }
  if (action.slice(last).trim() !== '') throw templateError(`cannot parse "${action}"`);
  return out;
}

function parseArg(w: string): Arg {
  if (w.startsWith('"')) {
    try {
      return { kind: 'string', value: JSON.parse(w) as string };
    } catch {
      throw templateError(`bad string literal ${w}`);
    }
  }
  if (w.startsWith('`')) return { kind: 'string', value: w.slice(1, -1) };
  if (w === 'true' || w === 'false') return { kind: 'bool', value: w === 'true' };
  if (/^-?\d+(\.\d+)?$/.test(w)) return { kind: 'number', value: Number(w) };
  if (w === '.') return { kind: 'field', base: 'dot', path: [] };
  const field = /^(\$[A-Za-z0-9_]*)?((?:\.[A-Za-z0-9_]+)*)$/.exec(w);
  if (field !== null && (field[1] !== undefined || w.startsWith('.'))) {
    const path = field[2] === '' || field[2] === undefined ? [] : field[2].slice(1).split('.');
    return { kind: 'field', base: field[1] ?? 'dot', path };
  }
  if (FUNCTIONS.has(w)) return { kind: 'func', name: w };
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(w)) throw templateError(`function "${w}" not defined`);
  throw templateError(`unsupported construct "${w}"`);
}

function parsePipe(action: string): Pipe {
  const ws = words(action);
  if (ws.includes('(') || ws.includes(')'))
    throw templateError(`parenthesised pipelines are not supported: "${action}"`);
  let vars: string[] = [];
  const assign = ws.indexOf(':=');
  if (assign >= 0) {
    vars = ws
      .slice(0, assign)
      .join(' ')
      .split(',')
      .map((v) => v.trim());
    if (vars.length > 2 || vars.some((v) => !/^\$[A-Za-z0-9_]+$/.test(v))) {
      throw templateError(`bad variable declaration in "${action}"`);
    }
    ws.splice(0, assign + 1);
  }
  const commands: Arg[][] = [[]];
  for (const w of ws) {
    if (w === '|') commands.push([]);
    else commands[commands.length - 1]?.push(parseArg(w));
  }
  if (commands.some((c) => c.length === 0)) throw templateError(`missing value in "${action}"`);
  return { vars, commands };
}

/** Parses a template into nodes; unknown keywords and functions are errors here, before running. */
function parse(src: string): Node[] {
  const tokens = lex(src);
  let pos = 0;
  const block = (stopAt: readonly string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const t = tokens[pos++]!;
      if ('text' in t) {
        nodes.push({ kind: 'text', text: t.text });
        continue;
      }
      const a = t.action;
      if (a.startsWith('/*')) {
        if (!a.endsWith('*/')) throw templateError(`unclosed comment "${a}"`);
        continue;
      }
      const keyword = /^(\w+)\b\s*(.*)$/s.exec(a);
      const kw = keyword?.[1] ?? '';
      const rest = keyword?.[2] ?? '';
      if (stopAt.includes(kw) && (kw === 'end' || kw === 'else')) return { nodes, stop: kw };
      if (kw === 'if' || kw === 'with' || kw === 'range') {
        const pipe = parsePipe(rest);
        const body = block(['end', 'else']);
        let other: Node[] = [];
        if (body.stop === 'else') other = block(['end']).nodes;
        if (kw === 'range') nodes.push({ kind: 'range', pipe, vars: pipe.vars, body: body.nodes, else: other });
        else nodes.push({ kind: kw, pipe, body: body.nodes, else: other });
        continue;
      }
      if (kw === 'end' || kw === 'else') throw templateError(`unexpected {{${kw}}}`);
      if (['define', 'template', 'block', 'break', 'continue'].includes(kw)) {
        throw templateError(`{{${kw}}} is not supported`);
      }
      nodes.push({ kind: 'action', pipe: parsePipe(a) });
    }
    if (stopAt.length > 0) throw templateError('unexpected end of template: missing {{end}}');
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

function isGoFormattable(v: unknown): v is GoFormattable {
  return typeof v === 'object' && v !== null && typeof (v as Partial<GoFormattable>).goString === 'function';
}

/** Go's `%v` of a JSON-like value. */
export function goString(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (isGoFormattable(v)) return v.goString();
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${goString(x)}`).join(' ')}]`;
  }
  return String(v);
}

/** Go's json.Marshal: compact, with <, >, & and U+2028/9 escaped. */
export function goJSON(v: unknown): string {
  return (JSON.stringify(v) ?? 'null').replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !isGoFormattable(v)) return Object.keys(v as object).length > 0;
  return true;
}

interface Scope {
  dot: unknown;
  vars: Map<string, unknown>;
}

const NO_VALUE = Symbol('no value');

function evalField(arg: Extract<Arg, { kind: 'field' }>, scope: Scope, options: TemplateOptions): unknown {
  let v: unknown;
  if (arg.base === 'dot') v = scope.dot;
  else if (scope.vars.has(arg.base)) v = scope.vars.get(arg.base);
  else throw templateError(`undefined variable "${arg.base}"`);
  for (const name of arg.path) {
    if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v)) {
      throw templateError(`can't evaluate field ${name} in ${v === null ? 'a nil value' : `type ${typeof v}`}`);
    }
    if (!Object.hasOwn(v, name)) {
      if (options.maps?.has(v)) return NO_VALUE;
      throw templateError(`can't evaluate field ${name}`);
    }
    v = (v as Record<string, unknown>)[name];
  }
  return v;
}

function callFunction(name: string, args: unknown[]): unknown {
  const need = (n: number): void => {
    if (args.length !== n) throw templateError(`wrong number of args for ${name}: want ${n} got ${args.length}`);
  };
  switch (name) {
    case 'json':
      need(1);
      return goJSON(args[0]);
    case 'len': {
      need(1);
      const a = args[0];
      if (typeof a === 'string' || Array.isArray(a)) return a.length;
      if (typeof a === 'object' && a !== null) return Object.keys(a).length;
      throw templateError(`len of ${goString(a)}`);
    }
    case 'index': {
      if (args.length < 1) throw templateError('wrong number of args for index');
      let v = args[0];
      for (const k of args.slice(1)) {
        if (Array.isArray(v) && typeof k === 'number') {
          if (k < 0 || k >= v.length) throw templateError(`index out of range: ${k}`);
          v = v[k];
        } else if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof k === 'string') {
          // Go's index of a missing map key gives the zero value (for map[string]string, "").
          v = Object.hasOwn(v, k) ? (v as Record<string, unknown>)[k] : '';
        } else if (v === null) {
          v = '';
        } else {
          throw templateError(`can't index item of type ${Array.isArray(v) ? 'slice' : typeof v} with ${goString(k)}`);
        }
      }
      return v;
    }
    case 'join': {
      need(2);
      const [list, sep] = args;
      if (!Array.isArray(list) || typeof sep !== 'string') throw templateError('join wants a list and a string');
      return list.map(goString).join(sep);
    }
    case 'upper':
    case 'lower': {
      need(1);
      const s = goString(args[0]);
      return name === 'upper' ? s.toUpperCase() : s.toLowerCase();
    }
    case 'print':
    case 'println': {
      const s = args.map(goString).join(name === 'println' ? ' ' : '');
      return name === 'println' ? `${s}\n` : s;
    }
    default:
      throw templateError(`function "${name}" not defined`);
  }
}

function evalPipe(pipe: Pipe, scope: Scope, options: TemplateOptions): unknown {
  let carried: unknown = NO_VALUE;
  for (const command of pipe.commands) {
    const [head, ...rest] = command;
    const argValue = (a: Arg): unknown => {
      switch (a.kind) {
        case 'field':
          return evalField(a, scope, options);
        case 'func':
          return callFunction(a.name, []);
        default:
          return a.value;
      }
    };
    const args = rest.map(argValue);
    if (carried !== NO_VALUE) args.push(carried);
    if (head?.kind === 'func') {
      if (head.name === 'printf') throw templateError('printf is not supported');
      carried = callFunction(head.name, args);
    } else if (head !== undefined) {
      if (args.length > 0) throw templateError(`${goString(argValue(head))} is not a function`);
      carried = argValue(head);
    }
  }
  return carried;
}

function run(nodes: Node[], scope: Scope, options: TemplateOptions, out: string[]): void {
  for (const node of nodes) {
    switch (node.kind) {
      case 'text':
        out.push(node.text);
        break;
      case 'action': {
        const v = evalPipe(node.pipe, scope, options);
        for (const name of node.pipe.vars) scope.vars.set(name, v);
        if (node.pipe.vars.length === 0) out.push(v === NO_VALUE ? '<no value>' : goString(v));
        break;
      }
      case 'if':
      case 'with': {
        const v = evalPipe(node.pipe, scope, options);
        if (truthy(v === NO_VALUE ? null : v)) {
          run(node.body, node.kind === 'with' ? { dot: v, vars: new Map(scope.vars) } : scope, options, out);
        } else {
          run(node.else, scope, options, out);
        }
        break;
      }
      case 'range': {
        const v = evalPipe(node.pipe, scope, options);
        let items: [unknown, unknown][] = [];
        if (Array.isArray(v)) items = v.map((x, i) => [i, x]);
        else if (v !== null && v !== undefined && v !== NO_VALUE && typeof v === 'object') {
          items = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        } else if (v !== null && v !== undefined && v !== NO_VALUE) {
          throw templateError(`range can't iterate over ${goString(v)}`);
        }
        if (items.length === 0) run(node.else, scope, options, out);
        for (const [k, x] of items) {
          const vars = new Map(scope.vars);
          if (node.vars.length === 1) vars.set(node.vars[0]!, x);
          if (node.vars.length === 2) {
            vars.set(node.vars[0]!, k);
            vars.set(node.vars[1]!, x);
          }
          run(node.body, { dot: x, vars }, options, out);
        }
        break;
      }
    }
  }
}

/** A parsed template: parse once (errors surface before any I/O), execute on data. */
export class Template {
  private readonly nodes: Node[];
  constructor(readonly source: string) {
    this.nodes = parse(source);
  }
  execute(data: unknown, options: TemplateOptions = {}): string {
    const out: string[] = [];
    run(this.nodes, { dot: data, vars: new Map([['$', data]]) }, options, out);
    return out.join('');
  }
}

/** skopeo treats `json` and `{{json .}}` (any spacing) as "print the normal JSON output". */
export function isWholeJSONFormat(format: string): boolean {
  return /^\s*(json|\{\{\s*json\s*\.?\s*\}\})\s*$/.test(format);
}

/**
 * The format as skopeo prepares it (containers/common report): `\t` and `\n` escapes become tab
 * and newline, and a final newline is added when missing.
 */
export function normalizeFormat(format: string): string {
  const f = format.replaceAll('\\t', '\t').replaceAll('\\n', '\n');
  return f.endsWith('\n') ? f : `${f}\n`;
}
