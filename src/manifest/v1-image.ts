/**
 * The newest v1Compatibility of a schema1 image written by Docker before 1.8.3, re-encoded as
 * containers/image's schema1→schema2 conversion does (its `Schema2V1Image` and `Schema2Config`
 * structs through Go's encoding/json): fields those old versions left out come back with Go's zero
 * values (`created` as the zero time, `Hostname: ""`, `Env: null`, ...), unknown fields are dropped.
 */
import { FerryError } from '../errors.js';
import { goTime } from './config.js';
import { field, isJSONObject, type JSONObject } from './json.js';

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Whether `version` is below 1.8.3 as Docker's versions.LessThan compares (dot parts as integers, non-numbers as 0). */
export function dockerVersionBefore183(version: string): boolean {
  const parts = version.split('.');
  const wanted = [1, 8, 3];
  for (let i = 0; i < Math.max(parts.length, wanted.length); i++) {
    const p = parts[i] ?? '';
    // Go's strconv.Atoi: an optional sign and decimal digits, anything else is an error (read as 0).
    const have = /^[+-]?[0-9]+$/.test(p) ? Number(p) : 0;
    const other = wanted[i] ?? 0;
    if (have !== other) return have < other;
  }
  return false;
}

function invalid(where: string, kind: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `${where} is not ${kind}`);
}

function str(obj: JSONObject, name: string, where: string): string {
  const v = field(obj, name);
  if (v === undefined) return '';
  if (typeof v !== 'string') throw invalid(`${where}.${name}`, 'a string');
  return v;
}

function bool(obj: JSONObject, name: string, where: string): boolean {
  const v = field(obj, name);
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw invalid(`${where}.${name}`, 'a boolean');
  return v;
}

function int(obj: JSONObject, name: string, where: string): number | undefined {
  const v = field(obj, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalid(`${where}.${name}`, 'an integer');
  return v;
}

function strings(obj: JSONObject, name: string, where: string): string[] | null {
  const v = field(obj, name);
  if (v === undefined) return null;
  if (!Array.isArray(v)) throw invalid(`${where}.${name}`, 'an array');
  return v.map((s, i) => {
    if (s === null) return '';
    if (typeof s !== 'string') throw invalid(`${where}.${name}[${i}]`, 'a string');
    return s;
  });
}

/** Docker's strslice.StrSlice: an array of strings, or one string read as a one-element array. */
function strSlice(obj: JSONObject, name: string, where: string): string[] | null {
  const v = field(obj, name);
  return typeof v === 'string' ? [v] : strings(obj, name, where);
}

/** A Go map, keys sorted as json.Marshal writes them; null when absent. */
function map(
  obj: JSONObject,
  name: string,
  where: string,
  value: (v: unknown, at: string) => unknown,
): JSONObject | null {
  const v = field(obj, name);
  if (v === undefined) return null;
  if (!isJSONObject(v)) throw invalid(`${where}.${name}`, 'an object');
  const out: JSONObject = {};
  for (const k of Object.keys(v).sort()) out[k] = value(v[k], `${where}.${name}.${k}`);
  return out;
}

/** A map[string]struct{} value: any object (its members ignored), or null. */
const emptyStruct = (v: unknown, at: string): JSONObject => {
  if (v !== null && !isJSONObject(v)) throw invalid(at, 'an object');
  return {};
};

const stringValue = (v: unknown, at: string): string => {
  if (v === null) return '';
  if (typeof v !== 'string') throw invalid(at, 'a string');
  return v;
};

/** Schema2HealthConfig: every field omitempty. */
function healthcheck(obj: JSONObject, where: string): JSONObject | undefined {
  const v = field(obj, 'Healthcheck');
  if (v === undefined) return undefined;
  if (!isJSONObject(v)) throw invalid(`${where}.Healthcheck`, 'an object');
  const at = `${where}.Healthcheck`;
  const out: JSONObject = {};
  const test = strings(v, 'Test', at);
  if (test !== null && test.length > 0) out.Test = test;
  for (const name of ['StartPeriod', 'Interval', 'Timeout', 'Retries']) {
    const n = int(v, name, at);
    if (n !== undefined && n !== 0) out[name] = n;
  }
  return out;
}

/** Schema2Config in declaration order, with its omitempty fields left out when empty. */
function schema2Config(obj: JSONObject, where: string): JSONObject {
  const out: JSONObject = {
    Hostname: str(obj, 'Hostname', where),
    Domainname: str(obj, 'Domainname', where),
    User: str(obj, 'User', where),
    AttachStdin: bool(obj, 'AttachStdin', where),
    AttachStdout: bool(obj, 'AttachStdout', where),
    AttachStderr: bool(obj, 'AttachStderr', where),
  };
  const ports = map(obj, 'ExposedPorts', where, emptyStruct);
  if (ports !== null && Object.keys(ports).length > 0) out.ExposedPorts = ports;
  out.Tty = bool(obj, 'Tty', where);
  out.OpenStdin = bool(obj, 'OpenStdin', where);
  out.StdinOnce = bool(obj, 'StdinOnce', where);
  out.Env = strings(obj, 'Env', where);
  out.Cmd = strSlice(obj, 'Cmd', where);
  const health = healthcheck(obj, where);
  if (health !== undefined) out.Healthcheck = health;
  if (bool(obj, 'ArgsEscaped', where)) out.ArgsEscaped = true;
  out.Image = str(obj, 'Image', where);
  out.Volumes = map(obj, 'Volumes', where, emptyStruct);
  out.WorkingDir = str(obj, 'WorkingDir', where);
  out.Entrypoint = strSlice(obj, 'Entrypoint', where);
  if (bool(obj, 'NetworkDisabled', where)) out.NetworkDisabled = true;
  const mac = str(obj, 'MacAddress', where);
  if (mac !== '') out.MacAddress = mac;
  out.OnBuild = strings(obj, 'OnBuild', where);
  out.Labels = map(obj, 'Labels', where, stringValue);
  const stopSignal = str(obj, 'StopSignal', where);
  if (stopSignal !== '') out.StopSignal = stopSignal;
  const stopTimeout = int(obj, 'StopTimeout', where);
  if (stopTimeout !== undefined) out.StopTimeout = stopTimeout;
  const shell = strSlice(obj, 'Shell', where);
  if (shell !== null && shell.length > 0) out.Shell = shell;
  return out;
}

function configObject(obj: JSONObject, name: string, where: string): JSONObject | undefined {
  const v = field(obj, name);
  if (v === undefined) return undefined;
  if (!isJSONObject(v)) throw invalid(`${where}.${name}`, 'an object');
  return v;
}

/** `v1` (a parsed v1Compatibility) as Go marshals it through Schema2V1Image, members in struct order. */
export function reencodeV1Image(v1: JSONObject, where: string): JSONObject {
  const out: JSONObject = {};
  const put = (key: string, value: string): void => {
    if (value !== '') out[key] = value;
  };
  put('id', str(v1, 'id', where));
  put('parent', str(v1, 'parent', where));
  put('comment', str(v1, 'comment', where));
  out.created =
    field(v1, 'created') === undefined ? GO_ZERO_TIME : goTime(str(v1, 'created', where), `${where}.created`);
  put('container', str(v1, 'container', where));
  out.container_config = schema2Config(configObject(v1, 'container_config', where) ?? {}, `${where}.container_config`);
  put('docker_version', str(v1, 'docker_version', where));
  put('author', str(v1, 'author', where));
  const config = configObject(v1, 'config', where);
  if (config !== undefined) out.config = schema2Config(config, `${where}.config`);
  put('architecture', str(v1, 'architecture', where));
  put('variant', str(v1, 'variant', where));
  put('os', str(v1, 'os', where));
  const size = int(v1, 'Size', where);
  if (size !== undefined && size !== 0) out.Size = size;
  return out;
}
