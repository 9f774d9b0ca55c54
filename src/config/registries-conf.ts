/**
 * containers-registries.conf(5), version 2 (and the v1 tables, read as containers/image reads them):
 * where images come from — prefix rewrites, mirrors, insecure and blocked registries, short names.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FerryError } from '../errors.js';
import { type DockerReference, parseDockerReference, parseNamed } from '../reference/reference.js';
import { escapeControl, quoteInput } from '../util/quote.js';
import { AUTH_FILE_HELPER } from './auth.js';
import { configHome, type Env, isMissingFile } from './paths.js';
import { readConfigFile } from './read-limited.js';
import { isTable, loadToml } from './toml-file.js';

export type PullFromMirror = 'all' | 'digest-only' | 'tag-only';
export type ShortNameMode = 'enforcing' | 'permissive' | 'disabled';

export interface RegistryMirror {
  location: string;
  insecure: boolean;
  /** Which pulls may use this mirror; undefined means all. */
  pullFromMirror: PullFromMirror | undefined;
}

/** One `[[registry]]` table after validation. */
export interface RegistryEntry {
  /** What image names this entry applies to: `host[:port][/path]` or `*.domain`. */
  prefix: string;
  /** Where those images really are; '' only for a `*.domain` prefix (the name is used as is). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: RegistryMirror[];
}

export interface RegistriesConf {
  unqualifiedSearchRegistries: string[];
  /** undefined when no file sets it; containers/image then behaves as `permissive`. */
  shortNameMode: ShortNameMode | undefined;
  /** `credential-helpers`; default `["containers-auth.json"]`. */
  credentialHelpers: string[];
  /** Short name → fully qualified repository (normalised), after drop-in overrides. */
  aliases: Record<string, string>;
  /** One entry per prefix, sorted by prefix. */
  registries: RegistryEntry[];
  /** The files read, in order. */
  files: string[];
}

export interface LoadRegistriesConfOptions {
  /** The main file. Missing → error. Without `dir`, no drop-ins are read (tests stay isolated). */
  path?: string;
  /** The drop-in directory, read alone. */
  dir?: string;
  env?: Env;
}

const SYSTEM_CONF = '/etc/containers/registries.conf';
const SYSTEM_DIR = '/etc/containers/registries.conf.d';

/** A parsed file before merging. `aliases` values may be '' (removes an alias set earlier). */
export interface RegistriesConfFile {
  unqualifiedSearchRegistries: string[] | undefined;
  shortNameMode: ShortNameMode | undefined;
  credentialHelpers: string[] | undefined;
  aliases: Record<string, string>;
  registries: RegistryEntry[];
}

/**
 * INVALID_CONFIG naming the file and the rule. `near` is the key or value at fault: once the TOML
 * is parsed its positions are gone, so parseRegistriesConf finds the line(s) it appears on.
 */
function invalid(path: string, what: string, details: Record<string, unknown> = {}, near?: string): FerryError {
  return new FerryError('INVALID_CONFIG', `registries configuration ${path}: ${what}`, {
    details: { path, rule: what, ...details, ...(near === undefined ? {} : { near }) },
  });
}

/** `line N` / `lines N, M` where `near` appears in `text` (at most three), '' when it does not. */
function linesOf(text: string, near: string): string {
  if (near === '') return '';
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (lines.length < 4 && line.includes(near)) lines.push(i + 1);
  });
  if (lines.length === 0) return '';
  return lines.length === 1
    ? `line ${lines[0]}`
    : `lines ${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''}`;
}

/** Adds the line(s) of a validation error's `near` to its message. */
function withLines(e: unknown, text: string, path: string): unknown {
  if (!(e instanceof FerryError) || e.code !== 'INVALID_CONFIG' || typeof e.details.near !== 'string') return e;
  const where = linesOf(text, e.details.near);
  if (where === '') return e;
  const { near: _near, ...details } = e.details;
  return new FerryError('INVALID_CONFIG', `registries configuration ${path}, ${where}: ${String(e.details.rule)}`, {
    details: { ...details, lines: where },
  });
}

// ---------------------------------------------------------------------------------------------
// Field readers (unknown keys are ignored, as containers/image does; wrong types are errors)

function str(path: string, t: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(path, `${where}${quoteInput(key)} must be a string`, {}, key);
  return v;
}

function bool(path: string, t: Record<string, unknown>, key: string, where: string): boolean {
  const v = t[key];
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(path, `${where}${quoteInput(key)} must be true or false`, {}, key);
  return v;
}

function strList(path: string, t: Record<string, unknown>, key: string, where: string): string[] | undefined {
  const v = t[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw invalid(path, `${where}${quoteInput(key)} must be an array of strings`, {}, key);
  }
  return v as string[];
}

function tableList(path: string, t: Record<string, unknown>, key: string, where: string): Record<string, unknown>[] {
  const v = t[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every(isTable))
    throw invalid(path, `${where}${quoteInput(key)} must be an array of tables`, {}, key);
  return v;
}

/** A location or prefix: trailing slashes dropped; URL schemes refused. */
function parseLocation(path: string, input: string): string {
  const trimmed = input.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) {
    throw invalid(path, `invalid location '${escapeControl(input)}': URI schemes are not supported`, {}, input);
  }
  return trimmed;
}

function explicitDomain(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost';
}

function checkAliases(path: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return Object.create(null);
  if (!isTable(raw)) throw invalid(path, '[aliases] must be a table', {}, '[aliases]');
  // Null prototype: looking up a short name such as `constructor` finds no alias.
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw invalid(path, `alias ${quoteInput(name)} must be a string`, {}, name);
    let short: DockerReference;
    try {
      short = parseDockerReference(name);
    } catch (e) {
      throw invalid(path, `alias name ${quoteInput(name)} is not a valid short name`, { cause: String(e) }, name);
    }
    if (short.tag !== undefined || short.digest !== undefined) {
      throw invalid(path, `alias name ${quoteInput(name)} must not contain a tag or digest`, {}, name);
    }
    if (explicitDomain(name.split('/')[0]!) && name.includes('/')) {
      throw invalid(path, `alias name ${quoteInput(name)} must be a short name, without a registry`, {}, name);
    }
    if (value === '') {
      out[name] = '';
      continue;
    }
    let target: DockerReference;
    try {
      target = parseDockerReference(value);
    } catch {
      throw invalid(path, `alias ${quoteInput(name)} = ${quoteInput(value)} is not a valid image name`, {}, name);
    }
    if (!value.includes('/') || !explicitDomain(value.split('/')[0]!)) {
      throw invalid(
        path,
        `alias ${quoteInput(name)} = ${quoteInput(value)} must name a registry and a repository`,
        {},
        name,
      );
    }
    if (target.tag !== undefined || target.digest !== undefined) {
      throw invalid(
        path,
        `alias ${quoteInput(name)} = ${quoteInput(value)} must not contain a tag or digest`,
        {},
        name,
      );
    }
    out[name] = target.name;
  }
  return out;
}

function readMirror(path: string, t: Record<string, unknown>, reg: string): RegistryMirror {
  const where = `[[registry.mirror]] of ${quoteInput(reg)}: `;
  const location = parseLocation(path, str(path, t, 'location', where) ?? '');
  if (location === '')
    throw invalid(
      path,
      `invalid location: a mirror of registry ${quoteInput(reg)} has no location`,
      {},
      '[[registry.mirror]]',
    );
  const pfm = str(path, t, 'pull-from-mirror', where);
  if (pfm !== undefined && pfm !== '' && pfm !== 'all' && pfm !== 'digest-only' && pfm !== 'tag-only') {
    throw invalid(
      path,
      `unsupported pull-from-mirror value ${quoteInput(pfm)} for mirror ${quoteInput(location)} (all, digest-only, tag-only)`,
      {},
      pfm,
    );
  }
  return {
    location,
    insecure: bool(path, t, 'insecure', where),
    pullFromMirror: pfm === '' || pfm === undefined ? undefined : pfm,
  };
}

function readRegistry(path: string, t: Record<string, unknown>): RegistryEntry {
  const where = '[[registry]] ';
  const location = parseLocation(path, str(path, t, 'location', where) ?? '');
  let prefix = str(path, t, 'prefix', where) ?? '';
  if (prefix === '') {
    if (location === '')
      throw invalid(path, 'invalid location: a [[registry]] sets neither location nor prefix', {}, '[[registry]]');
    prefix = location;
  } else {
    prefix = parseLocation(path, prefix);
    if (prefix.startsWith('*.')) {
      if (/[/@:]/.test(prefix)) {
        throw invalid(
          path,
          `wildcard prefix ${quoteInput(prefix)} must have the form *.example.com (no port or path)`,
          {},
          prefix,
        );
      }
    } else if (location === '') {
      throw invalid(
        path,
        `invalid location: registry with prefix ${quoteInput(prefix)} has no location (only *.domain prefixes may omit it)`,
        {},
        prefix,
      );
    }
  }
  if (t['pull-from-mirror'] !== undefined) {
    throw invalid(
      path,
      `pull-from-mirror must not be set for a non-mirror registry ${quoteInput(prefix)}`,
      {},
      'pull-from-mirror',
    );
  }
  const mirrorByDigestOnly = bool(path, t, 'mirror-by-digest-only', where);
  const mirrors = tableList(path, t, 'mirror', where).map((m) => readMirror(path, m, prefix));
  for (const m of mirrors) {
    if (mirrorByDigestOnly && m.pullFromMirror !== undefined) {
      throw invalid(
        path,
        `registry ${quoteInput(prefix)} sets mirror-by-digest-only and its mirror ${quoteInput(m.location)} sets pull-from-mirror: use one or the other`,
        {},
        'mirror-by-digest-only',
      );
    }
  }
  return {
    prefix,
    location,
    insecure: bool(path, t, 'insecure', where),
    blocked: bool(path, t, 'blocked', where),
    mirrorByDigestOnly,
    mirrors,
  };
}

/** The v1 tables `[registries.search|insecure|block] registries = [...]`. */
function readV1(path: string, doc: Record<string, unknown>): { search: string[]; insecure: string[]; block: string[] } {
  const v1 = doc.registries;
  const empty = { search: [], insecure: [], block: [] };
  if (v1 === undefined) return empty;
  if (!isTable(v1)) throw invalid(path, '[registries] must be a table');
  const list = (name: string): string[] => {
    const t = v1[name];
    if (t === undefined) return [];
    if (!isTable(t)) throw invalid(path, `[registries.${name}] must be a table`);
    return strList(path, t, 'registries', `[registries.${name}] `) ?? [];
  };
  return { search: list('search'), insecure: list('insecure'), block: list('block') };
}

/** A v1 file as v2: searched hosts, and one entry per blocked or insecure host (in first-seen order). */
function v1AsV2(
  path: string,
  v1: { search: string[]; insecure: string[]; block: string[] },
): Pick<RegistriesConfFile, 'registries' | 'unqualifiedSearchRegistries'> {
  const byLocation = new Map<string, RegistryEntry>();
  const get = (input: string): RegistryEntry => {
    const location = parseLocation(path, input);
    let reg = byLocation.get(location);
    if (reg === undefined) {
      reg = { prefix: location, location, insecure: false, blocked: false, mirrorByDigestOnly: false, mirrors: [] };
      byLocation.set(location, reg);
    }
    return reg;
  };
  for (const b of v1.block) get(b).blocked = true;
  for (const i of v1.insecure) get(i).insecure = true;
  return { registries: [...byLocation.values()], unqualifiedSearchRegistries: v1.search };
}

function checkSearchRegistries(path: string, list: string[]): string[] {
  return list.map((entry) => {
    const host = parseLocation(path, entry);
    if (host.includes('/')) {
      throw invalid(
        path,
        `unqualified-search-registries entry ${quoteInput(entry)} must be a registry host, without a namespace`,
        {},
        entry,
      );
    }
    return host;
  });
}

/** Entries for the same location must agree on insecure and blocked; the first entry per prefix wins. */
function checkAndDedupe(path: string, registries: RegistryEntry[]): RegistryEntry[] {
  const byLocation = new Map<string, RegistryEntry>();
  for (const reg of registries) {
    const key = reg.location === '' ? reg.prefix : reg.location;
    const other = byLocation.get(key);
    if (other === undefined) {
      byLocation.set(key, reg);
      continue;
    }
    for (const field of ['insecure', 'blocked'] as const) {
      if (other[field] !== reg[field]) {
        throw invalid(
          path,
          `registry '${escapeControl(key)}' is defined multiple times with conflicting '${field}' setting`,
          {},
          key,
        );
      }
    }
  }
  const byPrefix = new Map<string, RegistryEntry>();
  for (const reg of registries) if (!byPrefix.has(reg.prefix)) byPrefix.set(reg.prefix, reg);
  return sortByPrefix([...byPrefix.values()]);
}

function sortByPrefix(regs: RegistryEntry[]): RegistryEntry[] {
  return regs.sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}

/** Parses one file's text; `dropIn` files must use the v2 format. */
export function parseRegistriesConf(text: string, path: string, dropIn = false): RegistriesConfFile {
  let doc: Record<string, unknown>;
  const { parse: parseToml, TomlError } = loadToml();
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      // Only the first line: the rest of smol-toml's message is a frame of the file's text.
      const what = escapeControl(
        e.message
          .split('\n')[0]!
          .replace(/^Invalid TOML document: /, '')
          .slice(0, 200),
      );
      throw invalid(path, `invalid TOML at line ${e.line}, column ${e.column}: ${what}`, {
        line: e.line,
        column: e.column,
      });
    }
    throw invalid(path, 'invalid TOML');
  }
  try {
    return validate(doc, path, dropIn);
  } catch (e) {
    throw withLines(e, text, path);
  }
}

/** Checks a parsed file's tables and values (the errors carry `near` for withLines). */
function validate(doc: Record<string, unknown>, path: string, dropIn: boolean): RegistriesConfFile {
  const v1 = readV1(path, doc);
  const v1Used = v1.search.length + v1.insecure.length + v1.block.length > 0;
  const mode = str(path, doc, 'short-name-mode', '');
  if (mode !== undefined && mode !== '' && mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') {
    throw invalid(
      path,
      `invalid short-name-mode ${quoteInput(mode)} (enforcing, permissive, disabled)`,
      {},
      'short-name-mode',
    );
  }
  const search = strList(path, doc, 'unqualified-search-registries', '');
  const credentialHelpers = strList(path, doc, 'credential-helpers', '');
  const aliases = checkAliases(path, doc.aliases);
  const registries = tableList(path, doc, 'registry', '').map((t) => readRegistry(path, t));
  const v2Used =
    registries.length > 0 ||
    (search?.length ?? 0) > 0 ||
    Object.keys(aliases).length > 0 ||
    (mode !== undefined && mode !== '') ||
    credentialHelpers !== undefined;

  let fromV1: Pick<RegistriesConfFile, 'registries' | 'unqualifiedSearchRegistries'> | undefined;
  if (v1Used) {
    if (v2Used) throw invalid(path, 'mixing sysregistry v1/v2 is not supported', {}, '[registries');
    if (dropIn)
      throw invalid(path, 'drop-in files must use the v2 format, not [registries.*] tables', {}, '[registries');
    fromV1 = v1AsV2(path, v1);
  }
  return {
    unqualifiedSearchRegistries: (() => {
      const list = fromV1?.unqualifiedSearchRegistries ?? search;
      return list === undefined ? undefined : checkSearchRegistries(path, list);
    })(),
    shortNameMode: mode === '' ? undefined : (mode as ShortNameMode | undefined),
    credentialHelpers,
    aliases,
    registries: checkAndDedupe(path, fromV1?.registries ?? registries),
  };
}

/** Applies a later file over the merged result: registries replace per prefix, lists replace when set. */
function merge(into: RegistriesConf, file: RegistriesConfFile): void {
  const byPrefix = new Map(into.registries.map((r) => [r.prefix, r]));
  for (const r of file.registries) byPrefix.set(r.prefix, r);
  into.registries = sortByPrefix([...byPrefix.values()]);
  if (file.unqualifiedSearchRegistries !== undefined)
    into.unqualifiedSearchRegistries = file.unqualifiedSearchRegistries;
  if (file.credentialHelpers !== undefined) into.credentialHelpers = file.credentialHelpers;
  if (file.shortNameMode !== undefined) into.shortNameMode = file.shortNameMode;
  for (const [name, value] of Object.entries(file.aliases)) {
    if (value === '') delete into.aliases[name];
    else into.aliases[name] = value;
  }
}

async function readOptional(path: string, required: boolean): Promise<string | undefined> {
  try {
    return (await readConfigFile(path, (limit) => invalid(path, `is larger than the ${limit}-byte limit`))).toString(
      'utf8',
    );
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (isMissingFile(e) && !required) return undefined;
    throw invalid(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

async function dropInFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (isMissingFile(e)) return [];
    throw invalid(dir, `drop-in directory cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return names
    .filter((n) => n.endsWith('.conf'))
    .sort()
    .map((n) => join(dir, n));
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which files to read. The main file: `path`, CONTAINERS_REGISTRIES_CONF, the user's
 * `${XDG_CONFIG_HOME:-~/.config}/containers/registries.conf` when it exists, else /etc/containers/….
 * Drop-ins: `dir` or CONTAINERS_REGISTRIES_CONF_DIR alone; with an explicit `path` none; else the
 * directory beside the user file when that is the main file, otherwise the system directory and then
 * the user's (as containers/image reads them).
 */
export async function registriesConfFiles(
  opts: LoadRegistriesConfOptions = {},
): Promise<{ main: string; mainRequired: boolean; dirs: string[] }> {
  const env = opts.env ?? process.env;
  const userConf = join(configHome(env), 'containers', 'registries.conf');
  const userDir = join(configHome(env), 'containers', 'registries.conf.d');
  let main: string;
  let mainRequired = true;
  let defaultDirs: string[];
  if (opts.path !== undefined) {
    main = opts.path;
    defaultDirs = [];
  } else if (env.CONTAINERS_REGISTRIES_CONF) {
    main = env.CONTAINERS_REGISTRIES_CONF;
    defaultDirs = [join(dirname(main), 'registries.conf.d')];
  } else if (await exists(userConf)) {
    main = userConf;
    defaultDirs = [userDir];
  } else {
    main = SYSTEM_CONF;
    mainRequired = false;
    defaultDirs = [SYSTEM_DIR, userDir];
  }
  const dirs =
    opts.dir !== undefined
      ? [opts.dir]
      : env.CONTAINERS_REGISTRIES_CONF_DIR
        ? [env.CONTAINERS_REGISTRIES_CONF_DIR]
        : defaultDirs;
  return { main, mainRequired, dirs };
}

/**
 * Files parsed in this process, by path: a copy's source and destination, or a sync's images, each
 * load the configuration, and parsing one file (Debian's shortnames.conf: 70 aliases) costs ~2 ms of a
 * no-op copy. Files are still read every time; an entry is used only for the same text, so an edited
 * file is parsed again.
 */
const parsedFiles = new Map<string, { text: string; dropIn: boolean; parsed: RegistriesConfFile }>();

function parseFileOnce(text: string, path: string, dropIn: boolean): RegistriesConfFile {
  const known = parsedFiles.get(path);
  if (known !== undefined && known.text === text && known.dropIn === dropIn) return copyOfFile(known.parsed);
  const parsed = parseRegistriesConf(text, path, dropIn);
  parsedFiles.set(path, { text, dropIn, parsed: copyOfFile(parsed) });
  return parsed;
}

/** A deep copy (callers may change what they get); `aliases` keeps its null prototype. */
function copyOfFile(f: RegistriesConfFile): RegistriesConfFile {
  return {
    unqualifiedSearchRegistries:
      f.unqualifiedSearchRegistries === undefined ? undefined : [...f.unqualifiedSearchRegistries],
    shortNameMode: f.shortNameMode,
    credentialHelpers: f.credentialHelpers === undefined ? undefined : [...f.credentialHelpers],
    aliases: Object.assign(Object.create(null) as Record<string, string>, f.aliases),
    registries: f.registries.map((r) => ({ ...r, mirrors: r.mirrors.map((m) => ({ ...m })) })),
  };
}

/** Loads registries.conf and its drop-ins (see registriesConfFiles), merged and validated. */
export async function loadRegistriesConf(opts: LoadRegistriesConfOptions = {}): Promise<RegistriesConf> {
  const { main, mainRequired, dirs } = await registriesConfFiles(opts);
  const conf = emptyRegistriesConf();
  const mainText = await readOptional(main, mainRequired);
  if (mainText !== undefined) {
    merge(conf, parseFileOnce(mainText, main, false));
    conf.files.push(main);
  }
  for (const dir of dirs) {
    for (const file of await dropInFiles(dir)) {
      const text = await readOptional(file, false);
      if (text === undefined) continue;
      merge(conf, parseFileOnce(text, file, true));
      conf.files.push(file);
    }
  }
  if (conf.credentialHelpers.length === 0) conf.credentialHelpers = [AUTH_FILE_HELPER];
  return conf;
}

/** An empty configuration (no rewrites, nothing blocked), for callers that read no files. */
export function emptyRegistriesConf(): RegistriesConf {
  return {
    unqualifiedSearchRegistries: [],
    shortNameMode: undefined,
    credentialHelpers: [AUTH_FILE_HELPER],
    aliases: Object.create(null),
    registries: [],
    files: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Matching

/**
 * How much of `name` (a host, a repository or a full reference, starting with its host) `prefix`
 * covers, or -1: a prefix matches when it ends at `:`, `/`, `@` or the end of the name; `*.domain`
 * matches any host below domain (not domain itself).
 */
export function prefixMatchLength(name: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const end = name.search(/[/@]/);
    const hostPort = end === -1 ? name : name.slice(0, end);
    const colon = hostPort.indexOf(':');
    const host = colon === -1 ? hostPort : hostPort.slice(0, colon);
    const suffix = prefix.slice(1);
    return host.length > suffix.length && host.endsWith(suffix) ? host.length : -1;
  }
  if (!name.startsWith(prefix)) return -1;
  if (name.length === prefix.length) return prefix.length;
  const c = name[prefix.length];
  return c === ':' || c === '/' || c === '@' ? prefix.length : -1;
}

/** The `[[registry]]` entry for an image name (the longest matching prefix), or undefined. */
export function findRegistry(conf: RegistriesConf, imageName: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  for (const reg of conf.registries) {
    if (
      prefixMatchLength(imageName, reg.prefix) !== -1 &&
      (best === undefined || reg.prefix.length > best.prefix.length)
    ) {
      best = reg;
    }
  }
  return best;
}

/** True when the registry entry for `imageName` is `blocked`. */
export function isBlocked(conf: RegistriesConf, imageName: string): boolean {
  return findRegistry(conf, imageName)?.blocked ?? false;
}

/** True when the registry entry for `hostOrName` (a `host[:port]` or an image name) is `insecure`. */
export function isInsecure(conf: RegistriesConf, hostOrName: string): boolean {
  return findRegistry(conf, hostOrName)?.insecure ?? false;
}

/** Throws REGISTRY_BLOCKED when registries.conf blocks `imageName`. */
export function assertNotBlocked(conf: RegistriesConf, imageName: string): void {
  const reg = findRegistry(conf, imageName);
  if (reg?.blocked) {
    const where = conf.files.length > 0 ? conf.files.join(', ') : 'registries.conf';
    throw new FerryError('REGISTRY_BLOCKED', `registry ${reg.prefix} is blocked in ${where}: refusing ${imageName}`, {
      details: { prefix: reg.prefix, image: imageName },
    });
  }
}

/** One place to try a pull from. */
export interface PullSource {
  /** The endpoint's location (`host[:port][/path]`). */
  location: string;
  /** Skip TLS verification / allow http for this endpoint. */
  insecure: boolean;
  /** True for a mirror, false for the primary location. */
  mirror: boolean;
  /** The reference rewritten to this endpoint. */
  reference: DockerReference;
}

function rewrite(ref: DockerReference, prefix: string, location: string): DockerReference {
  const s = ref.toString();
  const n = prefixMatchLength(s, prefix);
  if (n === -1)
    throw new FerryError('INVALID_CONFIG', `registries.conf prefix ${quoteInput(prefix)} does not match ${s}`);
  if (location === '') return ref;
  const rewritten = location + s.slice(n);
  try {
    return parseNamed(rewritten);
  } catch (e) {
    throw new FerryError(
      'INVALID_CONFIG',
      `registries.conf rewrites ${s} (prefix ${quoteInput(prefix)}, location ${quoteInput(location)}) to ${quoteInput(rewritten)}, which is not a valid reference`,
      { cause: e },
    );
  }
}

/**
 * The ordered places to pull `ref` from: the mirrors that may serve it (mirror-by-digest-only and
 * pull-from-mirror are judged by whether `ref` has a digest), then the primary location, each with
 * the reference rewritten from the prefix to that location. Throws REGISTRY_BLOCKED for a blocked
 * registry. Without a matching entry, the reference itself.
 */
export function pullSources(conf: RegistriesConf, ref: DockerReference | string): PullSource[] {
  const r = typeof ref === 'string' ? parseDockerReference(ref) : ref;
  const name = r.toString();
  assertNotBlocked(conf, name);
  const reg = findRegistry(conf, name);
  if (reg === undefined) return [{ location: r.domain, insecure: false, mirror: false, reference: r }];
  const byDigest = r.digest !== undefined;
  const mirrors = reg.mirrors.filter((m) => {
    if (reg.mirrorByDigestOnly) return byDigest;
    if (m.pullFromMirror === 'digest-only') return byDigest;
    if (m.pullFromMirror === 'tag-only') return !byDigest;
    return true;
  });
  return [
    ...mirrors.map((m) => ({
      location: m.location,
      insecure: m.insecure,
      mirror: true,
      reference: rewrite(r, reg.prefix, m.location),
    })),
    {
      location: reg.location || r.domain,
      insecure: reg.insecure,
      mirror: false,
      reference: rewrite(r, reg.prefix, reg.location),
    },
  ];
}

/**
 * Where a push of `ref` goes: the reference as written (containers/image rewrites and mirrors apply
 * to pulls only), with the entry's insecure flag. Throws REGISTRY_BLOCKED for a blocked registry.
 */
export function pushDestination(conf: RegistriesConf, ref: DockerReference | string): PullSource {
  const r = typeof ref === 'string' ? parseDockerReference(ref) : ref;
  const name = r.toString();
  assertNotBlocked(conf, name);
  return { location: r.domain, insecure: findRegistry(conf, name)?.insecure ?? false, mirror: false, reference: r };
}
