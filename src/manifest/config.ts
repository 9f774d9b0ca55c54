/**
 * The image config, one model for every reader: the OCI image config (image-spec config.md) with
 * Docker's extra fields, read as Go's encoding/json reads it into containers/image's structs (names
 * match case-insensitively, a known field of the wrong type is refused, unknown fields are kept in
 * `raw`: the bytes stay the truth), and the OCI `Image` struct view that conversion and
 * `inspect --config` write (Go's field order and omitempty).
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md
 */
import { FerryError } from '../errors.js';
import { field, goMarshal, isJSONObject, type JSONObject, parseJSONObject } from './json.js';

function invalidConfig(rule: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `invalid image config: ${rule}`);
}

/** A timestamp as Go's time.Time marshals it (RFC 3339, trailing fractional zeros dropped, `Z` for a zero offset). */
export function goTime(s: string, where: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw invalidConfig(`${where} is not an RFC 3339 time`);
  const fraction = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : (m[3] as string);
  return `${m[1]}${fraction ? `.${fraction}` : ''}${zone}`;
}

/** A Go-normalised time as Go's `time.Time.String()` prints it (what a template's `{{.Created}}` shows). */
export function goTimeString(goRFC3339: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(goRFC3339);
  if (m === null) return goRFC3339;
  const offset = m[4] === 'Z' || m[4] === undefined ? undefined : m[4].replace(':', '');
  return `${m[1]} ${m[2]}${m[3] ?? ''} ${offset === undefined ? '+0000 UTC' : `${offset} ${offset}`}`;
}

/** One `history` entry (Docker and OCI use the same fields). */
export interface ConfigHistory {
  created?: string;
  createdBy?: string;
  author?: string;
  comment?: string;
  emptyLayer: boolean;
}

/** The `config` member: the OCI ImageConfig fields, then the Docker-only ones Ferry reads. */
export interface ContainerConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
  /** Docker: the health check as written. */
  Healthcheck?: JSONObject;
  /** Docker: ONBUILD triggers. */
  OnBuild?: string[];
  /** Docker: the SHELL instruction. */
  Shell?: string[];
}

/**
 * An image config (OCI, plus Docker's fields) as written: empty lists and maps are kept (Go tells
 * them from absent ones), strings except `created` (Go's form) are the written ones, maps sorted.
 */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  osVersion?: string;
  osFeatures?: string[];
  variant?: string;
  config: ContainerConfig;
  rootfs: { type: string; diffIDs: string[] | null };
  history: ConfigHistory[];
  /** Docker: the engine version that built the image ('' when absent). */
  dockerVersion: string;
  /** Docker: the build container's ID. */
  container?: string;
  /** Docker: the build container's config, as written. */
  containerConfig?: JSONObject;
  /** Every member as parsed, unknown ones included. */
  raw: JSONObject;
}

function str(o: JSONObject, name: string, where: string): string | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidConfig(`${where}.${name} must be a string`);
  return v;
}

/** A string member, with Go's omitempty: '' reads as absent. */
const nonEmpty = (o: JSONObject, name: string, where: string): string | undefined => str(o, name, where) || undefined;

function strArray(o: JSONObject, name: string, where: string): string[] | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw invalidConfig(`${where}.${name} must be an array of strings`);
  return v as string[];
}

function object(o: JSONObject, name: string, where: string): JSONObject | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (!isJSONObject(v)) throw invalidConfig(`${where}.${name} must be an object`);
  return v;
}

const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/** A Go `map[string]struct{}`, keys sorted as Go marshals a map. */
function emptySet(o: JSONObject, name: string, where: string): Record<string, Record<string, never>> | undefined {
  const v = object(o, name, where);
  return v === undefined
    ? undefined
    : Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, {}]),
      );
}

function bool(o: JSONObject, name: string, where: string): boolean {
  const v = field(o, name);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidConfig(`${where}.${name} must be a boolean`);
  return v;
}

function num(o: JSONObject, name: string, where: string): number | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw invalidConfig(`${where}.${name} must be a number`);
  return v === 0 ? undefined : v;
}

function readHistory(config: JSONObject): ConfigHistory[] {
  const h = field(config, 'history');
  if (h === undefined) return [];
  if (!Array.isArray(h)) throw invalidConfig('history must be an array');
  return h.map((e, i) => {
    if (!isJSONObject(e)) throw invalidConfig(`history[${i}] must be an object`);
    const where = `history[${i}]`;
    const created = str(e, 'created', where);
    const out: ConfigHistory = { emptyLayer: bool(e, 'empty_layer', where) };
    if (created !== undefined) out.created = goTime(created, `${where}.created`);
    const createdBy = nonEmpty(e, 'created_by', where);
    if (createdBy) out.createdBy = createdBy;
    const author = nonEmpty(e, 'author', where);
    if (author) out.author = author;
    const comment = nonEmpty(e, 'comment', where);
    if (comment) out.comment = comment;
    return out;
  });
}

function readContainerConfig(c: JSONObject): ContainerConfig {
  const w = 'config.config';
  const out: ContainerConfig = {};
  const set = <K extends keyof ContainerConfig>(k: K, v: ContainerConfig[K] | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  set('User', nonEmpty(c, 'User', w));
  set('ExposedPorts', emptySet(c, 'ExposedPorts', w));
  set('Env', strArray(c, 'Env', w));
  set('Entrypoint', strArray(c, 'Entrypoint', w));
  set('Cmd', strArray(c, 'Cmd', w));
  set('Volumes', emptySet(c, 'Volumes', w));
  set('WorkingDir', nonEmpty(c, 'WorkingDir', w));
  const labels = object(c, 'Labels', w);
  if (labels !== undefined) {
    if (!Object.values(labels).every((s) => typeof s === 'string'))
      throw invalidConfig(`${w}.Labels must be an object of strings`);
    set('Labels', Object.fromEntries(Object.entries(labels as Record<string, string>).sort(byKey)));
  }
  set('StopSignal', nonEmpty(c, 'StopSignal', w));
  if (bool(c, 'ArgsEscaped', w)) out.ArgsEscaped = true;
  set('Memory', num(c, 'Memory', w));
  set('MemorySwap', num(c, 'MemorySwap', w));
  set('CpuShares', num(c, 'CpuShares', w));
  set('Healthcheck', object(c, 'Healthcheck', w));
  set('OnBuild', strArray(c, 'OnBuild', w));
  set('Shell', strArray(c, 'Shell', w));
  return out;
}

/** Parses config bytes; INVALID_MANIFEST naming `what` and the rule (the config is part of the image's metadata). */
export function parseImageConfig(bytes: Buffer, what = 'image config'): ImageConfig {
  const c = parseJSONObject(bytes, what);
  const created = str(c, 'created', 'config');
  const rootfs = object(c, 'rootfs', 'config') ?? {};
  const ids = field(rootfs, 'diff_ids');
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((s) => typeof s === 'string'))) {
    throw invalidConfig('rootfs.diff_ids must be an array of strings');
  }
  const out: ImageConfig = {
    architecture: str(c, 'architecture', 'config') ?? '',
    os: str(c, 'os', 'config') ?? '',
    config: readContainerConfig(object(c, 'config', 'config') ?? {}),
    rootfs: { type: str(rootfs, 'type', 'rootfs') ?? '', diffIDs: ids === undefined ? null : (ids as string[]) },
    history: readHistory(c),
    dockerVersion: str(c, 'docker_version', 'config') ?? '',
    raw: c,
  };
  if (created !== undefined) out.created = goTime(created, 'created');
  const optional = { author: 'author', osVersion: 'os.version', variant: 'variant', container: 'container' } as const;
  for (const [key, name] of Object.entries(optional)) {
    const v = nonEmpty(c, name, 'config');
    if (v !== undefined) out[key as keyof typeof optional] = v;
  }
  const osFeatures = strArray(c, 'os.features', 'config');
  if (osFeatures) out.osFeatures = osFeatures;
  const containerConfig = object(c, 'container_config', 'config');
  if (containerConfig) out.containerConfig = containerConfig;
  return out;
}

/** OCI `History` struct order: created, created_by, author, comment, empty_layer. */
export function historyJSON(h: ConfigHistory, created: string | undefined = h.created): JSONObject {
  const o: JSONObject = {};
  if (created !== undefined) o.created = created;
  if (h.createdBy) o.created_by = h.createdBy;
  if (h.author) o.author = h.author;
  if (h.comment) o.comment = h.comment;
  if (h.emptyLayer) o.empty_layer = true;
  return o;
}

/** Go's omitempty for the kinds the config has: absent, false, an empty slice or map. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === false) return true;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 0;
}

/**
 * The config through the OCI `Image` struct, as containers/image's `OCIConfig()` returns it and
 * conversion to OCI writes it: Docker-only fields dropped, `config` and `rootfs` always present.
 * Field order is that of the image-spec skopeo 1.9.3 is built with (variant between architecture and os).
 */
export function ociImageConfig(c: ImageConfig): JSONObject {
  const out: JSONObject = {};
  if (c.created !== undefined) out.created = c.created;
  if (c.author) out.author = c.author;
  out.architecture = c.architecture;
  if (c.variant) out.variant = c.variant;
  out.os = c.os;
  if (c.osVersion) out['os.version'] = c.osVersion;
  if (!isEmpty(c.osFeatures)) out['os.features'] = c.osFeatures;
  const { User, ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped } = c.config;
  const ic = { User, ExposedPorts, Env, Entrypoint, Cmd, Volumes, WorkingDir, Labels, StopSignal, ArgsEscaped };
  out.config = Object.fromEntries(Object.entries(ic).filter(([, v]) => !isEmpty(v)));
  out.rootfs = { type: c.rootfs.type, diff_ids: c.rootfs.diffIDs };
  if (c.history.length > 0) out.history = c.history.map((h) => historyJSON(h));
  return out;
}

/** A Docker (or OCI) config re-serialised through the OCI `Image` struct, as conversion to OCI writes it. */
export function ociConfigFromDockerConfig(config: Buffer): Buffer {
  return goMarshal(ociImageConfig(parseImageConfig(config)));
}
