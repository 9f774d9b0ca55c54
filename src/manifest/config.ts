/**
 * Image config rewriting that manifest conversion needs: Docker config → OCI config (through the
 * OCI `Image` struct, dropping Docker-only fields), schema1 history → a schema2 config, and a
 * schema2 config → schema1 v1Compatibility entries. Output follows Go's json.Marshal, as upstream.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md
 */
import { createHash } from 'node:crypto';
import { type Digest, digestHex } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../util/json-text.js';
import { field, goMarshal, isJSONObject, type JSONObject, sortedMap } from './json.js';
import { marshalRawObject, rawObjectMembers } from './rawjson.js';
import type { Schema1Entry } from './schema1.js';

function invalidConfig(rule: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `invalid image config: ${rule}`);
}

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** A timestamp as Go's time.Time marshals it (RFC 3339 with trailing fractional zeros dropped). */
export function goTime(s: string, where: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) throw invalidConfig(`${where} is not an RFC 3339 time`);
  const fraction = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[3] === '+00:00' ? 'Z' : (m[3] as string);
  return `${m[1]}${fraction ? `.${fraction}` : ''}${zone}`;
}

function str(o: JSONObject, name: string, where: string): string | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidConfig(`${where}.${name} must be a string`);
  return v;
}

function strArray(o: JSONObject, name: string, where: string): string[] | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw invalidConfig(`${where}.${name} must be an array of strings`);
  return v.length > 0 ? (v as string[]) : undefined;
}

function emptySet(o: JSONObject, name: string, where: string): Record<string, Record<string, never>> | undefined {
  const v = field(o, name);
  if (v === undefined) return undefined;
  if (!isJSONObject(v)) throw invalidConfig(`${where}.${name} must be an object`);
  const keys = Object.keys(v).sort();
  if (keys.length === 0) return undefined;
  const out: Record<string, Record<string, never>> = {};
  for (const k of keys) out[k] = {};
  return out;
}

function bool(o: JSONObject, name: string, where: string): boolean {
  const v = field(o, name);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalidConfig(`${where}.${name} must be a boolean`);
  return v;
}

function parseConfigObject(config: Buffer): JSONObject {
  const parsed = parseJSONText(config.toString('utf8'));
  if (!parsed.ok) throw invalidConfig(describeJSONSyntaxProblem(parsed.problem));
  if (!isJSONObject(parsed.value)) throw invalidConfig('not a JSON object');
  return parsed.value;
}

/** One `history` entry of a v2 config (Docker and OCI use the same fields). */
export interface ConfigHistory {
  created?: string;
  createdBy?: string;
  author?: string;
  comment?: string;
  emptyLayer: boolean;
}

export function readHistory(config: JSONObject): ConfigHistory[] {
  const h = field(config, 'history');
  if (h === undefined) return [];
  if (!Array.isArray(h)) throw invalidConfig('history must be an array');
  return h.map((e, i) => {
    if (!isJSONObject(e)) throw invalidConfig(`history[${i}] must be an object`);
    const where = `history[${i}]`;
    const created = str(e, 'created', where);
    const out: ConfigHistory = { emptyLayer: bool(e, 'empty_layer', where) };
    if (created !== undefined) out.created = goTime(created, `${where}.created`);
    const createdBy = str(e, 'created_by', where);
    if (createdBy) out.createdBy = createdBy;
    const author = str(e, 'author', where);
    if (author) out.author = author;
    const comment = str(e, 'comment', where);
    if (comment) out.comment = comment;
    return out;
  });
}

/** OCI `History` struct order: created, created_by, author, comment, empty_layer. */
function historyJSON(h: ConfigHistory, created: string | undefined): JSONObject {
  const o: JSONObject = {};
  if (created !== undefined) o.created = created;
  if (h.createdBy) o.created_by = h.createdBy;
  if (h.author) o.author = h.author;
  if (h.comment) o.comment = h.comment;
  if (h.emptyLayer) o.empty_layer = true;
  return o;
}

/**
 * A Docker image config re-serialised through the OCI `Image` struct: Docker-only fields
 * (container, container_config, docker_version, Hostname, ...) are dropped.
 */
export function ociConfigFromDockerConfig(config: Buffer): Buffer {
  const c = parseConfigObject(config);
  const out: JSONObject = {};
  const created = str(c, 'created', 'config');
  if (created !== undefined) out.created = goTime(created, 'created');
  const author = str(c, 'author', 'config');
  if (author) out.author = author;
  out.architecture = str(c, 'architecture', 'config') ?? '';
  out.os = str(c, 'os', 'config') ?? '';
  const osVersion = str(c, 'os.version', 'config');
  if (osVersion) out['os.version'] = osVersion;
  const osFeatures = strArray(c, 'os.features', 'config');
  if (osFeatures) out['os.features'] = osFeatures;
  const variant = str(c, 'variant', 'config');
  if (variant) out.variant = variant;

  const ic: JSONObject = {};
  const rawIC = field(c, 'config');
  if (rawIC !== undefined) {
    if (!isJSONObject(rawIC)) throw invalidConfig('config.config must be an object');
    const w = 'config.config';
    const user = str(rawIC, 'User', w);
    if (user) ic.User = user;
    const ports = emptySet(rawIC, 'ExposedPorts', w);
    if (ports) ic.ExposedPorts = ports;
    for (const name of ['Env', 'Entrypoint', 'Cmd'] as const) {
      const a = strArray(rawIC, name, w);
      if (a) ic[name] = a;
    }
    const volumes = emptySet(rawIC, 'Volumes', w);
    if (volumes) ic.Volumes = volumes;
    const workingDir = str(rawIC, 'WorkingDir', w);
    if (workingDir) ic.WorkingDir = workingDir;
    const labels = field(rawIC, 'Labels');
    if (labels !== undefined) {
      if (!isJSONObject(labels) || !Object.values(labels).every((s) => typeof s === 'string')) {
        throw invalidConfig('config.config.Labels must be an object of strings');
      }
      const sorted = sortedMap(labels as Record<string, string>);
      if (sorted) ic.Labels = sorted;
    }
    const stopSignal = str(rawIC, 'StopSignal', w);
    if (stopSignal) ic.StopSignal = stopSignal;
    if (bool(rawIC, 'ArgsEscaped', w)) ic.ArgsEscaped = true;
  }
  out.config = ic;

  const rootfs = field(c, 'rootfs');
  let type = '';
  let diffIDs: string[] | null = null;
  if (rootfs !== undefined) {
    if (!isJSONObject(rootfs)) throw invalidConfig('rootfs must be an object');
    type = str(rootfs, 'type', 'rootfs') ?? '';
    const ids = field(rootfs, 'diff_ids');
    if (ids !== undefined) {
      if (!Array.isArray(ids) || !ids.every((s) => typeof s === 'string')) throw invalidConfig('rootfs.diff_ids must be an array of strings');
      diffIDs = ids as string[];
    }
  }
  out.rootfs = { type, diff_ids: diffIDs };
  const history = readHistory(c);
  if (history.length > 0) out.history = history.map((h) => historyJSON(h, h.created));
  return goMarshal(out);
}

/**
 * The schema2 config for a schema1 image: the newest v1Compatibility with the v1-only fields
 * removed, plus `history` built from every entry and `rootfs.diff_ids` (non-empty layers, base first).
 */
export function schema2ConfigFromSchema1(entries: readonly Schema1Entry[], diffIDs: readonly Digest[]): Buffer {
  const newest = entries[0];
  if (!newest) throw new FerryError('CONVERSION_UNSUPPORTED', 'cannot convert a schema1 image with no history entries');
  const members = rawObjectMembers(newest.v1Compatibility, 'history[0].v1Compatibility');
  for (const k of ['id', 'parent', 'parent_id', 'layer_id', 'throwaway', 'Size']) members.delete(k);
  const history = [...entries].reverse().map((e, i) =>
    historyJSON(
      {
        createdBy: (e.v1.cmd ?? []).join(' ') || undefined,
        author: e.v1.author,
        comment: e.v1.comment,
        emptyLayer: e.v1.throwaway,
      },
      e.v1.created === undefined ? GO_ZERO_TIME : goTime(e.v1.created, `history[${entries.length - 1 - i}].created`),
    ),
  );
  members.set('rootfs', goMarshal({ type: 'layers', diff_ids: diffIDs }).toString('utf8'));
  members.set('history', goMarshal(history).toString('utf8'));
  return marshalRawObject(members);
}

/** What schema2→schema1 conversion needs from a v2 config. */
export interface V2ConfigSummary {
  architecture: string;
  history: ConfigHistory[];
}

export function summariseV2Config(config: Buffer): V2ConfigSummary {
  const c = parseConfigObject(config);
  return { architecture: str(c, 'architecture', 'config') ?? '', history: readHistory(c) };
}

/** Docker's v1 image ID: sha256 of the blob's hex digest and the other parts, space-separated. */
export function v1ID(blob: Digest, ...others: string[]): string {
  return createHash('sha256')
    .update([digestHex(blob), ...others].join(' '))
    .digest('hex');
}

/** The v1Compatibility of a non-top entry (Schema1V1Compatibility struct order). */
export function fakeV1Compatibility(id: string, parent: string, h: ConfigHistory): string {
  const o: JSONObject = { id };
  if (parent) o.parent = parent;
  if (h.comment) o.comment = h.comment;
  o.created = h.created ?? GO_ZERO_TIME;
  o.container_config = { Cmd: [h.createdBy ?? ''] };
  if (h.author) o.author = h.author;
  if (h.emptyLayer) o.throwaway = true;
  return goMarshal(o).toString('utf8');
}

/** The top entry's v1Compatibility: the whole config without rootfs/history, plus id/parent/throwaway. */
export function topV1Compatibility(config: Buffer, id: string, parent: string, throwaway: boolean): string {
  const members = rawObjectMembers(config.toString('utf8'), 'image config');
  members.delete('rootfs');
  members.delete('history');
  members.set('id', JSON.stringify(id));
  if (parent) members.set('parent', JSON.stringify(parent));
  if (throwaway) members.set('throwaway', 'true');
  return marshalRawObject(members).toString('utf8');
}

