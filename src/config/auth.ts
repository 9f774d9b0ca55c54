/**
 * Registry credentials from the files users already have: containers-auth.json(5) (podman, skopeo,
 * buildah) and Docker's config.json / legacy .dockercfg, with credential helpers.
 *
 * Secrets never appear in an error message: errors name the file and the key, never a value.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FerryError, isFerryError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../util/json-text.js';
import { quoteInput } from '../util/quote.js';
import { helperErase, helperGet, helperStore, isHelperName } from './cred-helper.js';
import { configHome, type Env, effectiveUserID, homeDir, isMissingFile } from './paths.js';
import { readConfigFile } from './read-limited.js';

/** A user name and password, or an OAuth2 refresh ("identity") token. */
export type Credentials = { username: string; password: string } | { identityToken: string; username?: string };

/** One file in the search order; `legacyFormat` files (~/.dockercfg) are a bare host → entry map. */
export interface AuthFilePath {
  path: string;
  legacyFormat: boolean;
}

export interface AuthFileOptions {
  /** `--authfile`: when set, the only file read and written (REGISTRY_AUTH_FILE is the same, from env). */
  authFile?: string;
}

export interface AuthOptions extends AuthFileOptions {
  /** Environment to resolve paths and run helpers with; default process.env. */
  env?: Env;
  /**
   * registries.conf `credential-helpers`: where credentials live, in order. The name
   * `containers-auth.json` stands for the auth files; any other name is a docker-credential-<name>
   * helper. Default: only the auth files.
   */
  credentialHelpers?: readonly string[];
  signal?: AbortSignal;
}

/** The built-in "helper" name for the auth files in registries.conf `credential-helpers`. */
export const AUTH_FILE_HELPER = 'containers-auth.json';

function runtimeAuthFile(env: Env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
  const uid = effectiveUserID(env) ?? 0;
  return join('/run/containers', String(uid), 'auth.json');
}

function explicitAuthFile(env: Env, opts: AuthFileOptions): string | undefined {
  return opts.authFile || env.REGISTRY_AUTH_FILE || undefined;
}

/**
 * The auth files in the order they are searched: an explicit `--authfile` or REGISTRY_AUTH_FILE
 * alone; else the runtime file, the user config file, Docker's config.json, the legacy ~/.dockercfg.
 */
export function authFilePaths(env: Env = process.env, opts: AuthFileOptions = {}): AuthFilePath[] {
  const explicit = explicitAuthFile(env, opts);
  if (explicit !== undefined) return [{ path: explicit, legacyFormat: false }];
  const home = homeDir(env);
  return [
    { path: runtimeAuthFile(env), legacyFormat: false },
    { path: join(configHome(env), 'containers', 'auth.json'), legacyFormat: false },
    {
      path: env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json'),
      legacyFormat: false,
    },
    { path: join(home, '.dockercfg'), legacyFormat: true },
  ];
}

/**
 * The file login/logout write: the explicit file, else `$XDG_RUNTIME_DIR/containers/auth.json` when
 * XDG_RUNTIME_DIR is set, else `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`.
 */
export function authFileForWrite(env: Env = process.env, opts: AuthFileOptions = {}): string {
  const explicit = explicitAuthFile(env, opts);
  if (explicit !== undefined) return explicit;
  if (env.XDG_RUNTIME_DIR) return runtimeAuthFile(env);
  return join(configHome(env), 'containers', 'auth.json');
}

// ---------------------------------------------------------------------------------------------
// Keys

const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** Docker stores Docker Hub credentials in helpers under this URL. */
const DOCKER_HUB_SERVER_URL = 'https://index.docker.io/v1/';

/** Docker Hub's several host names are one registry. */
export function normalizeRegistryHost(host: string): string {
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/**
 * The registry a key in an auth file stands for: `https://host/v1/` → host (URLs and legacy keys lose
 * their path), Docker Hub aliases → docker.io. Namespaced keys (`host/ns`) keep their path.
 */
export function normalizeAuthKey(key: string, legacyFormat = false): string {
  let k = key.replace(/^https?:\/\//, '');
  if (legacyFormat || k !== key) k = k.split('/')[0]!;
  const slash = k.indexOf('/');
  return slash === -1 ? normalizeRegistryHost(k) : normalizeRegistryHost(k.slice(0, slash)) + k.slice(slash);
}

/** Splits `host[:port][/ns/repo][:tag|@digest]` into the host and the keys to try, most specific first. */
function lookupKeys(registryOrRepo: string): { host: string; keys: string[] } {
  let s = registryOrRepo.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  const at = s.indexOf('@');
  if (at !== -1) s = s.slice(0, at);
  const firstSlash = s.indexOf('/');
  if (firstSlash !== -1) {
    const lastSlash = s.lastIndexOf('/');
    const colon = s.indexOf(':', lastSlash);
    if (colon !== -1) s = s.slice(0, colon);
  }
  const keys: string[] = [];
  for (let k = s; ; ) {
    keys.push(k);
    const i = k.lastIndexOf('/');
    if (i === -1) break;
    k = k.slice(0, i);
  }
  return { host: keys[keys.length - 1]!, keys };
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/** A key login/logout may write: `host[:port]` or `host[:port]/ns/repo` without scheme, tag or digest. */
function checkWriteKey(key: string): { host: string; namespaced: boolean } {
  if (/^https?:\/\//.test(key)) {
    throw new FerryError('INVALID_ARGUMENT', `registry key "${key}" must not contain an http:// or https:// prefix`);
  }
  const [host, ...path] = key.split('/');
  if (!host || /[@\s]/.test(host) || path.some((c) => !PATH_COMPONENT.test(c))) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `registry key "${key}" must be host[:port] or host[:port]/namespace/repository, without tag or digest`,
    );
  }
  return { host, namespaced: path.length > 0 };
}

// ---------------------------------------------------------------------------------------------
// Reading files

interface AuthEntry {
  auth?: unknown;
  identitytoken?: unknown;
}

interface ParsedAuthFile {
  file: AuthFilePath;
  /** The file's text, to find the line of a member an error names. */
  text: string;
  /** The whole document, kept so that writes preserve fields Ferry does not know. */
  doc: Record<string, unknown>;
  auths: [string, AuthEntry][];
  /** A Map: a registry named `constructor` or `__proto__` must not find Object.prototype's members. */
  credHelpers: Map<string, string>;
  credsStore: string | undefined;
}

function invalidFile(path: string, what: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('INVALID_CONFIG', `auth file ${path}: ${what}`, { details: { path, rule: what, ...details } });
}

/** The line of the first member named `key` in JSON `text` (the parsed document has no positions). */
function memberLine(text: string, key: string): number | undefined {
  const needle = JSON.stringify(key);
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + 1)) {
    if (/^\s*:/.test(text.slice(i + needle.length, i + needle.length + 64))) return text.slice(0, i).split('\n').length;
  }
  return undefined;
}

/** Adds the line of the member an INVALID_CONFIG error names (details.key) to its message. */
function withMemberLine(e: unknown, text: string, path: string): unknown {
  if (
    !(e instanceof FerryError) ||
    e.code !== 'INVALID_CONFIG' ||
    typeof e.details.key !== 'string' ||
    e.details.line !== undefined
  )
    return e;
  const line = memberLine(text, e.details.key);
  if (line === undefined) return e;
  return new FerryError('INVALID_CONFIG', `auth file ${path}, line ${line}: ${String(e.details.rule)}`, {
    details: { ...e.details, line },
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function entriesOf(path: string, map: unknown, where: string): [string, AuthEntry][] {
  if (map === undefined || map === null) return [];
  if (!isObject(map)) throw invalidFile(path, `"${where}" is not an object`, { key: where });
  return Object.entries(map).map(([key, entry]) => {
    if (!isObject(entry)) throw invalidFile(path, `entry ${quoteInput(key)} is not an object`, { key });
    return [key, entry];
  });
}

function stringMap(path: string, map: unknown, where: string): Map<string, string> {
  const out = new Map<string, string>();
  if (map === undefined || map === null) return out;
  if (!isObject(map)) throw invalidFile(path, `"${where}" is not an object`, { key: where });
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== 'string') throw invalidFile(path, `"${where}" entry ${quoteInput(k)} is not a string`, { key: k });
    if (v !== '' && !isHelperName(v))
      throw invalidFile(path, `"${where}" entry ${quoteInput(k)} is not a plain credential helper name`, { key: k });
    out.set(k, v);
  }
  return out;
}

/** Reads one auth file; undefined when it does not exist. */
async function readAuthFile(file: AuthFilePath): Promise<ParsedAuthFile | undefined> {
  let text: string;
  try {
    text = (
      await readConfigFile(file.path, (limit) => invalidFile(file.path, `is larger than the ${limit}-byte limit`))
    ).toString('utf8');
  } catch (e) {
    if (isFerryError(e)) throw e;
    if (isMissingFile(e)) return undefined;
    throw invalidFile(file.path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (text.trim() === '') return { file, text, doc: {}, auths: [], credHelpers: new Map(), credsStore: undefined };
  // The parser's own message quotes the text, which may be a secret: say where and which rule only.
  const parsed = parseJSONText(text);
  if (!parsed.ok) {
    const { line, column } = parsed.problem;
    throw invalidFile(file.path, describeJSONSyntaxProblem(parsed.problem), { line, column });
  }
  const doc = parsed.value;
  if (!isObject(doc)) {
    const line = text.slice(0, Math.max(0, text.search(/\S/))).split('\n').length;
    throw new FerryError('INVALID_CONFIG', `auth file ${file.path}, line ${line}: the top level is not a JSON object`, {
      details: { path: file.path, line },
    });
  }
  try {
    if (file.legacyFormat)
      return {
        file,
        text,
        doc,
        auths: entriesOf(file.path, doc, '(top level)'),
        credHelpers: new Map(),
        credsStore: undefined,
      };
    const credsStore = doc.credsStore;
    if (credsStore !== undefined && typeof credsStore !== 'string')
      throw invalidFile(file.path, '"credsStore" is not a string', { key: 'credsStore' });
    if (credsStore && !isHelperName(credsStore)) {
      throw invalidFile(file.path, '"credsStore" is not a plain credential helper name', { key: 'credsStore' });
    }
    return {
      file,
      text,
      doc,
      auths: entriesOf(file.path, doc.auths, 'auths'),
      credHelpers: stringMap(file.path, doc.credHelpers, 'credHelpers'),
      credsStore: credsStore || undefined,
    };
  } catch (e) {
    throw withMemberLine(e, text, file.path);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** An entry's credentials; undefined for an empty entry (Docker writes `{}` when a helper holds them). */
function decodeEntry(path: string, key: string, entry: AuthEntry): Credentials | undefined {
  const token = entry.identitytoken;
  if (token !== undefined && typeof token !== 'string') {
    throw invalidFile(path, `"identitytoken" of entry ${quoteInput(key)} is not a string`, { key });
  }
  const auth = entry.auth ?? '';
  if (typeof auth !== 'string') throw invalidFile(path, `"auth" of entry ${quoteInput(key)} is not a string`, { key });
  const b64 = auth.replace(/[\r\n]/g, '');
  if (!BASE64.test(b64)) throw invalidFile(path, `"auth" of entry ${quoteInput(key)} is not valid base64`, { key });
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = colon === -1 ? undefined : decoded.slice(0, colon);
  if (token) return username ? { identityToken: token, username } : { identityToken: token };
  if (username === undefined) return undefined; // no "user:password" and no token: skipped, as Docker does
  return { username, password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

function fromHelperRecord(rec: { username: string; secret: string }): Credentials {
  return rec.username === '<token>' ? { identityToken: rec.secret } : { username: rec.username, password: rec.secret };
}

async function fromHelper(name: string, serverURL: string, opts: AuthOptions): Promise<Credentials | undefined> {
  const rec = await helperGet(name, serverURL, { env: opts.env, signal: opts.signal });
  return rec === undefined ? undefined : fromHelperRecord(rec);
}

async function lookupInFile(
  parsed: ParsedAuthFile,
  host: string,
  keys: string[],
  opts: AuthOptions,
): Promise<Credentials | undefined> {
  const { file } = parsed;
  // Helpers are per registry host only; namespaced keys are a feature of the files.
  const helper = parsed.credHelpers.get(host);
  if (helper !== undefined) return fromHelper(helper, host, opts);

  const byKey = new Map(parsed.auths);
  let found: [string, AuthEntry] | undefined;
  for (const k of file.legacyFormat ? [host] : keys) {
    const entry = byKey.get(k);
    if (entry !== undefined) {
      found = [k, entry];
      break;
    }
  }
  if (found === undefined) {
    // Keys written as URLs (`https://host/v1/`) or under another Docker Hub name.
    const want = normalizeRegistryHost(host);
    found = parsed.auths.find(([k]) => normalizeAuthKey(k, file.legacyFormat) === want);
  }
  let creds: Credentials | undefined;
  try {
    creds = found === undefined ? undefined : decodeEntry(file.path, found[0], found[1]);
  } catch (e) {
    throw withMemberLine(e, parsed.text, file.path);
  }
  if (creds !== undefined) return creds;
  if (parsed.credsStore !== undefined) {
    const url = normalizeRegistryHost(host) === DOCKER_HUB ? DOCKER_HUB_SERVER_URL : host;
    return fromHelper(parsed.credsStore, url, opts);
  }
  return undefined;
}

/**
 * The credentials for a registry (`host[:port]`) or repository (`host[:port]/ns/repo`): the most
 * specific key wins (`host/ns/repo`, then `host/ns`, then `host`), files are searched in
 * authFilePaths order and the first hit wins. Undefined when none is stored (anonymous access).
 */
export async function getCredentials(registryOrRepo: string, opts: AuthOptions = {}): Promise<Credentials | undefined> {
  const env = opts.env ?? process.env;
  const { host, keys } = lookupKeys(registryOrRepo);
  for (const source of opts.credentialHelpers ?? [AUTH_FILE_HELPER]) {
    if (source === AUTH_FILE_HELPER) {
      for (const file of authFilePaths(env, opts)) {
        const parsed = await readAuthFile(file);
        if (parsed === undefined) continue;
        const creds = await lookupInFile(parsed, host, keys, opts);
        if (creds !== undefined) return creds;
      }
    } else {
      const creds = await fromHelper(source, host, opts);
      if (creds !== undefined) return creds;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Writing (login / logout)

/** Where login stored the credentials. */
export interface StoredIn {
  /** The auth file written, when the credentials went into a file. */
  path?: string;
  /** The credential helper used, when they went into a helper. */
  helper?: string;
}

function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]]),
  );
}

/**
 * The file as podman and skopeo write it: tab-indented, `auths` (keys sorted) first, `credHelpers`
 * (sorted, omitted when empty) next, then any other fields the file already had, no final newline.
 */
function serializeAuthFile(doc: Record<string, unknown>): string {
  const { auths, credHelpers, ...rest } = doc;
  const out: Record<string, unknown> = { auths: sortedObject(isObject(auths) ? auths : {}) };
  if (isObject(credHelpers) && Object.keys(credHelpers).length > 0) out.credHelpers = sortedObject(credHelpers);
  return JSON.stringify({ ...out, ...rest }, null, '\t');
}

async function writeAuthFile(path: string, doc: Record<string, unknown>): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, serializeAuthFile(doc), 0o600);
}

/** Stores `username`/`password` for `key` (`host[:port]` or `host[:port]/ns/repo`), as `login` does. */
export async function setCredentials(
  key: string,
  creds: { username: string; password: string },
  opts: AuthOptions = {},
): Promise<StoredIn> {
  const env = opts.env ?? process.env;
  const { host, namespaced } = checkWriteKey(key);
  if (creds.username.includes(':')) {
    throw new FerryError('INVALID_ARGUMENT', `user name for ${key} must not contain ":"`);
  }
  let lastError: unknown;
  for (const source of opts.credentialHelpers ?? [AUTH_FILE_HELPER]) {
    try {
      if (source !== AUTH_FILE_HELPER) {
        if (namespaced) throw namespacedHelperError(key, source);
        await helperStore(
          source,
          host,
          { username: creds.username, secret: creds.password },
          { env, signal: opts.signal },
        );
        return { helper: source };
      }
      const path = authFileForWrite(env, opts);
      const parsed = await readAuthFile({ path, legacyFormat: false });
      const helper = parsed?.credHelpers.get(key);
      if (helper !== undefined) {
        await helperStore(
          helper,
          key,
          { username: creds.username, secret: creds.password },
          { env, signal: opts.signal },
        );
        return { helper };
      }
      const doc = { ...(parsed?.doc ?? {}) };
      // Null prototype: a key `__proto__` is stored as an entry, not taken as the object's prototype.
      const auths: Record<string, unknown> = Object.assign(Object.create(null), isObject(doc.auths) ? doc.auths : {});
      auths[key] = { auth: Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64') };
      doc.auths = auths;
      await writeAuthFile(path, doc);
      return { path };
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}

function namespacedHelperError(key: string, helper: string): FerryError {
  return new FerryError(
    'INVALID_ARGUMENT',
    `credential helper docker-credential-${helper} cannot hold credentials for the namespaced key "${key}"`,
  );
}

/** Removes the credentials stored for `key`, as `logout` does; false when there were none. */
export async function removeCredentials(key: string, opts: AuthOptions = {}): Promise<boolean> {
  const env = opts.env ?? process.env;
  const { host, namespaced } = checkWriteKey(key);
  let removed = false;
  for (const source of opts.credentialHelpers ?? [AUTH_FILE_HELPER]) {
    if (source !== AUTH_FILE_HELPER) {
      if (!namespaced && (await helperErase(source, host, { env, signal: opts.signal }))) removed = true;
      continue;
    }
    const path = authFileForWrite(env, opts);
    const parsed = await readAuthFile({ path, legacyFormat: false });
    if (parsed === undefined) continue;
    const helper = parsed.credHelpers.get(key);
    if (helper !== undefined && (await helperErase(helper, key, { env, signal: opts.signal }))) removed = true;
    const auths: Record<string, unknown> = Object.assign(
      Object.create(null),
      isObject(parsed.doc.auths) ? parsed.doc.auths : {},
    );
    if (Object.hasOwn(auths, key)) {
      delete auths[key];
      await writeAuthFile(path, { ...parsed.doc, auths });
      removed = true;
    }
  }
  return removed;
}

/**
 * Removes every stored credential, as `logout --all` does: erases each host named in the file's
 * `credHelpers` from its helper, then empties `auths` and drops `credHelpers`. Other fields stay.
 */
export async function removeAllCredentials(opts: AuthOptions = {}): Promise<void> {
  const env = opts.env ?? process.env;
  for (const source of opts.credentialHelpers ?? [AUTH_FILE_HELPER]) {
    if (source !== AUTH_FILE_HELPER) continue; // a helper cannot be asked to list only Ferry's entries
    const path = authFileForWrite(env, opts);
    const parsed = await readAuthFile({ path, legacyFormat: false });
    if (parsed === undefined) continue;
    for (const [registry, helper] of parsed.credHelpers) {
      await helperErase(helper, registry, { env, signal: opts.signal });
    }
    const { credHelpers: _dropped, ...doc } = parsed.doc;
    await writeAuthFile(path, { ...doc, auths: {} });
  }
}
