/**
 * Reading an image config JSON the way the Go structs of containers/image see it, for `inspect`
 * and `inspect --config`: the OCI image config (image-spec config.md) plus Docker's
 * `docker_version`, and Go's time formatting of `created`.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/config.md
 */
import { isJSONObject as isObject, type JSONObject, parseJSONObject } from '../manifest/json.js';

/** Parses config bytes into an object; INVALID_MANIFEST (the config is part of the image's metadata). */
export function parseConfigObject(bytes: Buffer, what: string): JSONObject {
  return parseJSONObject(bytes, what);
}

/**
 * An RFC 3339 time as Go's encoding/json writes a time.Time: fraction without trailing zeros
 * (at most 9 digits), and `Z` for a zero offset. Strings that are not RFC 3339 are returned as is.
 */
export function goTimeJSON(s: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/.exec(s);
  if (m === null) return s;
  const fraction = (m[3] ?? '').slice(0, 9).replace(/0+$/, '');
  const zone = m[4] === 'z' || m[4] === 'Z' || m[4] === '+00:00' || m[4] === '-00:00' ? 'Z' : (m[4] ?? 'Z');
  return `${m[1]}T${m[2]}${fraction === '' ? '' : `.${fraction}`}${zone}`;
}

/** The same time as Go's `time.Time.String()` prints it (what a template's `{{.Created}}` shows). */
export function goTimeString(s: string): string {
  const json = goTimeJSON(s);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(json);
  if (m === null) return s;
  const zone = m[4] === 'Z' || m[4] === undefined ? '+0000 UTC' : `${m[4].replace(':', '')} ${m[4].replace(':', '')}`;
  return `${m[1]} ${m[2]}${m[3] ?? ''} ${zone}`;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strArray = (v: unknown): string[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
const strMap = (v: unknown): Record<string, string> | undefined => {
  if (!isObject(v)) return undefined;
  const entries = Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string');
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
};
const setMap = (v: unknown): Record<string, Record<string, never>> | undefined => {
  if (!isObject(v) || Object.keys(v).length === 0) return undefined;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, {}]));
};

/** Drops undefined members (Go's `omitempty` on the fields that have it). */
function compact(o: Record<string, unknown>): JSONObject {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * The config as containers/image's `OCIConfig()` returns it: the fields of the OCI `Image` struct,
 * in its order, with its omitempty rules (`config` and `rootfs` always present). This is what
 * `skopeo inspect --config` prints (indented); Docker-only fields are dropped, as there.
 */
export function ociConfigView(config: JSONObject): JSONObject {
  const c = isObject(config['config']) ? config['config'] : {};
  const rootfs = isObject(config['rootfs']) ? config['rootfs'] : {};
  const diffIDs = Array.isArray(rootfs['diff_ids']) ? rootfs['diff_ids'] : null;
  const created = str(config['created']);
  const history = Array.isArray(config['history']) && config['history'].length > 0 ? config['history'] : undefined;
  return compact({
    created: created === undefined ? undefined : goTimeJSON(created),
    author: str(config['author']),
    architecture: typeof config['architecture'] === 'string' ? config['architecture'] : '',
    variant: str(config['variant']),
    os: typeof config['os'] === 'string' ? config['os'] : '',
    'os.version': str(config['os.version']),
    'os.features': strArray(config['os.features']),
    config: compact({
      User: str(c['User']),
      ExposedPorts: setMap(c['ExposedPorts']),
      Env: strArray(c['Env']),
      Entrypoint: strArray(c['Entrypoint']),
      Cmd: strArray(c['Cmd']),
      Volumes: setMap(c['Volumes']),
      WorkingDir: str(c['WorkingDir']),
      Labels: strMap(c['Labels']),
      StopSignal: str(c['StopSignal']),
      ArgsEscaped: c['ArgsEscaped'] === true ? true : undefined,
    }),
    rootfs: { type: typeof rootfs['type'] === 'string' ? rootfs['type'] : '', diff_ids: diffIDs },
    history: history?.map((h: unknown) => {
      const e = isObject(h) ? h : {};
      const hc = str(e['created']);
      return compact({
        created: hc === undefined ? undefined : goTimeJSON(hc),
        created_by: str(e['created_by']),
        author: str(e['author']),
        comment: str(e['comment']),
        empty_layer: e['empty_layer'] === true ? true : undefined,
      });
    }),
  });
}

/** The facts `inspect` takes from a config. */
export interface ConfigFacts {
  created: string | null;
  dockerVersion: string;
  labels: Record<string, string> | null;
  architecture: string;
  variant: string;
  os: string;
  env: string[] | null;
}

export function configFacts(config: JSONObject): ConfigFacts {
  const c = isObject(config['config']) ? config['config'] : {};
  const created = str(config['created']);
  const labels = isObject(c['Labels'])
    ? Object.fromEntries(
        Object.entries(c['Labels'])
          .filter((e): e is [string, string] => typeof e[1] === 'string')
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      )
    : null;
  const env = Array.isArray(c['Env']) ? c['Env'].filter((x): x is string => typeof x === 'string') : null;
  return {
    created: created === undefined ? null : goTimeJSON(created),
    dockerVersion: typeof config['docker_version'] === 'string' ? config['docker_version'] : '',
    labels,
    architecture: typeof config['architecture'] === 'string' ? config['architecture'] : '',
    variant: typeof config['variant'] === 'string' ? config['variant'] : '',
    os: typeof config['os'] === 'string' ? config['os'] : '',
    env,
  };
}

/**
 * A config for a Docker schema1 image, from the newest history entry's v1Compatibility (which holds
 * the image's config fields); the v1 chain fields (`id`, `parent`, `throwaway`, `Size`) are dropped.
 */
export function schema1ConfigBytes(v1Compatibility: string): Buffer {
  const v = parseConfigObject(Buffer.from(v1Compatibility), 'schema1 v1Compatibility');
  const { id: _id, parent: _parent, throwaway: _throwaway, Size: _size, ...rest } = v;
  return Buffer.from(JSON.stringify(rest));
}
