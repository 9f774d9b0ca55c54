/**
 * containers-registries.d(5): where signatures of registry images live (lookaside storage) and whether
 * sigstore attachments are used. The directory is the one given, else
 * `$HOME/.config/containers/registries.d` when it exists, else `/etc/containers/registries.d`; every
 * `*.yaml` in it is read and merged, and a scope (or `default-docker`) set in two files is an error.
 * Behaviour follows containers/image docker/registries_d.go.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Digest, digestAlgorithm, digestHex, parseDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import type { DockerReference } from '../reference/reference.js';
import { dockerReferenceNamespaces } from '../reference/namespaces.js';
import { quoteInput } from '../util/quote.js';
import { type Env, effectiveUserID, homeDir, isMissingFile } from './paths.js';
import { readConfigFile } from './read-limited.js';
import { parseYamlSubset, type YamlMap, type YamlValue, yamlBoolean } from './yaml-subset.js';

/** One configuration section (`default-docker`, or the value of a scope under `docker`). */
export interface LookasideSection {
  /** `lookaside` (or the old name `sigstore`): read from here, and write here without a staging URL. */
  lookaside?: string;
  /** `lookaside-staging` (or the old name `sigstore-staging`): write here. */
  lookasideStaging?: string;
  /** `sigstore` as written, when the file uses the old name. */
  sigstore?: string;
  sigstoreStaging?: string;
  useSigstoreAttachments?: boolean;
}

export interface RegistriesD {
  defaultDocker?: LookasideSection;
  /** Scope (a host[:port], a repository or namespace, or a full reference with tag/digest) → section. */
  docker: Map<string, LookasideSection>;
  /** The files read, in order. */
  files: string[];
}

export interface LoadRegistriesDOptions {
  /** The directory to read, alone (no fallback). */
  dir?: string;
  env?: Env;
  /** Directory standing for `/` in the system path (tests); default none. */
  root?: string;
}

const SYSTEM_DIR = '/etc/containers/registries.d';
const USER_DIR = '.config/containers/registries.d';
/** The built-in lookaside directories when no section names one (registries_d.go). */
const ROOT_DEFAULT_DIR = '/var/lib/containers/sigstore';
const USER_DEFAULT_DIR = '.local/share/containers/sigstore';

function invalid(path: string, what: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('INVALID_CONFIG', `registries.d ${path}: ${what}`, { details: { path, ...details } });
}

/** The registries.d directory to read. */
export async function registriesDDir(options: LoadRegistriesDOptions = {}): Promise<string> {
  if (options.dir !== undefined) return options.dir;
  const user = join(homeDir(options.env ?? process.env), USER_DIR);
  try {
    await stat(user);
    return user;
  } catch {
    return join(options.root ?? '/', SYSTEM_DIR);
  }
}

const STRING_KEYS: Record<string, 'lookaside' | 'lookasideStaging' | 'sigstore' | 'sigstoreStaging'> = {
  lookaside: 'lookaside',
  'lookaside-staging': 'lookasideStaging',
  sigstore: 'sigstore',
  'sigstore-staging': 'sigstoreStaging',
};

function section(file: string, where: string, v: YamlValue): LookasideSection | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'map') throw invalid(file, `line ${v.line}: ${where} must be a mapping`, { line: v.line });
  const out: LookasideSection = {};
  // Unknown keys are ignored, as containers/image does; wrong types are errors.
  for (const [key, value] of v.entries) {
    const field = STRING_KEYS[key];
    if (field !== undefined) {
      if (value.kind === 'null') continue;
      if (value.kind !== 'scalar') {
        throw invalid(file, `line ${value.line}: ${where}.${key} must be a string`, { line: value.line });
      }
      out[field] = value.text;
    } else if (key === 'use-sigstore-attachments') {
      if (value.kind === 'null') continue;
      const flag = yamlBoolean(value);
      if (flag === undefined)
        throw invalid(file, `line ${value.line}: ${where}.${key} must be true or false`, { line: value.line });
      out.useSigstoreAttachments = flag;
    }
  }
  return out;
}

/** One registries.d file's content; `file` names it in errors. */
export function parseRegistriesD(text: string, file: string): Omit<RegistriesD, 'files'> {
  const doc: YamlMap = parseYamlSubset(text, file);
  const out: Omit<RegistriesD, 'files'> = { docker: new Map() };
  const def = doc.entries.get('default-docker');
  if (def !== undefined) {
    const s = section(file, 'default-docker', def);
    if (s !== undefined) out.defaultDocker = s;
  }
  const docker = doc.entries.get('docker');
  if (docker !== undefined && docker.kind !== 'null') {
    if (docker.kind !== 'map')
      throw invalid(file, `line ${docker.line}: docker must be a mapping`, { line: docker.line });
    for (const [scope, value] of docker.entries) {
      out.docker.set(scope, section(file, `docker.${JSON.stringify(scope)}`, value) ?? {});
    }
  }
  return out;
}

/** Reads and merges every `*.yaml` of the registries.d directory (a missing directory is empty). */
export async function loadRegistriesD(options: LoadRegistriesDOptions = {}): Promise<RegistriesD> {
  const dir = await registriesDDir(options);
  const merged: RegistriesD = { docker: new Map(), files: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.yaml')).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return merged;
    throw invalid(dir, `directory cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let defaultFrom: string | undefined;
  const scopeFrom = new Map<string, string>();
  for (const name of names) {
    const path = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = await readConfigFile(path, (limit) => invalid(path, `file is larger than ${limit} bytes`));
    } catch (e) {
      if (isMissingFile(e)) continue; // removed since the listing
      if (e instanceof FerryError) throw e;
      throw invalid(path, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const file = parseRegistriesD(bytes.toString('utf8'), path);
    if (file.defaultDocker !== undefined) {
      if (defaultFrom !== undefined) throw invalid(path, `"default-docker" is also defined in ${defaultFrom}`);
      merged.defaultDocker = file.defaultDocker;
      defaultFrom = path;
    }
    for (const [scope, s] of file.docker) {
      const other = scopeFrom.get(scope);
      if (other !== undefined) throw invalid(path, `"docker" scope ${quoteInput(scope)} is also defined in ${other}`);
      merged.docker.set(scope, s);
      scopeFrom.set(scope, path);
    }
    merged.files.push(path);
  }
  return merged;
}

/**
 * The scopes to look up for `ref`, most specific first: the full reference (name:tag or name@digest),
 * the repository, each parent namespace down to the host[:port], then `*.`-wildcards of the host's
 * parent domains (as the policy.json scopes of containers/image's docker transport).
 */
export function registriesDScopes(ref: DockerReference): string[] {
  return [ref.toString(), ...dockerReferenceNamespaces(ref.name)];
}

function sectionURL(s: LookasideSection, write: boolean): string | undefined {
  if (write) {
    const staging = s.lookasideStaging || s.sigstoreStaging;
    if (staging) return staging;
  }
  return s.lookaside || s.sigstore || undefined;
}

/** The sections that apply to `ref`, most specific first, `default-docker` last. */
function sectionsFor(config: RegistriesD, ref: DockerReference): LookasideSection[] {
  const out: LookasideSection[] = [];
  for (const scope of registriesDScopes(ref)) {
    const s = config.docker.get(scope);
    if (s !== undefined) out.push(s);
  }
  if (config.defaultDocker !== undefined) out.push(config.defaultDocker);
  return out;
}

export interface LookasideBaseOptions {
  /** For writing: prefer `lookaside-staging`. */
  write?: boolean;
  env?: Env;
  /** Effective user id: root's built-in default differs (default effectiveUserID: the real user inside a rootless user namespace). */
  uid?: number;
}

/**
 * The lookaside base URL of `ref`'s repository: the most specific section that sets a URL (a section
 * without one falls through to the next, as upstream), else the built-in default directory; then
 * `/<repository path>`. Only `file:`, `http:` and `https:` URLs are accepted.
 */
export function lookasideBaseURL(
  config: RegistriesD,
  ref: DockerReference,
  options: LookasideBaseOptions = {},
): string {
  const write = options.write ?? false;
  let top: string | undefined;
  for (const s of sectionsFor(config, ref)) {
    top = sectionURL(s, write);
    if (top !== undefined) break;
  }
  if (top === undefined) {
    const env = options.env ?? process.env;
    // As upstream's rootless.GetRootlessEUID: the real user inside the CLI's rootless user namespace.
    const uid = options.uid ?? effectiveUserID(env) ?? 0;
    const dir = uid === 0 ? ROOT_DEFAULT_DIR : join(homeDir(env), USER_DEFAULT_DIR);
    top = `file://${encodeURI(dir)}`;
  }
  let url: URL;
  try {
    url = new URL(top);
  } catch {
    throw new FerryError('INVALID_CONFIG', `registries.d: lookaside URL ${quoteInput(top)} is not a valid URL`, {
      details: { url: top },
    });
  }
  if (url.protocol !== 'file:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FerryError(
      'INVALID_CONFIG',
      `registries.d: lookaside URL ${quoteInput(top)} has scheme ${quoteInput(url.protocol)}; only file, http and https are supported`,
      { details: { url: top } },
    );
  }
  // Go's URL keeps an empty path empty where WHATWG's makes it "/": "https://host" + "/repo", not "//repo".
  const hadPath = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*\//.test(top);
  url.pathname = `${hadPath ? url.pathname : ''}/${ref.path}`;
  return url.toString();
}

/** Whether sigstore attachments are read and written for `ref` (the most specific section that says so). */
export function useSigstoreAttachments(config: RegistriesD, ref: DockerReference): boolean {
  for (const s of sectionsFor(config, ref)) {
    if (s.useSigstoreAttachments !== undefined) return s.useSigstoreAttachments;
  }
  return false;
}

/**
 * The URL of signature number `index + 1` of the manifest `manifestDigest` under a repository's base
 * URL (lookasideBaseURL): `<base>@<algorithm>=<hex>/signature-<index+1>` (docs/signature-protocols.md).
 */
export function lookasideSignatureURL(repositoryBase: string, manifestDigest: Digest, index: number): string {
  if (!Number.isInteger(index) || index < 0) {
    throw new FerryError('INVALID_ARGUMENT', `signature index ${index} is not a non-negative integer`);
  }
  const d = parseDigest(manifestDigest); // validated: the hex becomes a path component
  const url = new URL(repositoryBase);
  url.pathname = `${url.pathname}@${digestAlgorithm(d)}=${digestHex(d)}/signature-${index + 1}`;
  return url.toString();
}

/** The local path a `file:` lookaside URL names, for writing; other schemes are refused. */
export function lookasideFilePath(url: string): string {
  const u = new URL(url);
  if (u.protocol !== 'file:') {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `writing signatures to ${quoteInput(url)}: only file: lookaside URLs can be written`,
      {
        details: { url },
      },
    );
  }
  return fileURLToPath(u);
}
