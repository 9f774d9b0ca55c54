/**
 * skopeo sync's YAML source file (docs/skopeo-sync.1.md, "YAML file content"): a mapping of registry
 * names to their settings: `images` (repository → tags and digests; an empty list or no value = every
 * tag), `images-by-tag-regex` (repository → regular expression over tags), `images-by-semver`
 * (repository → Masterminds semver constraint), `credentials` (`username`, `password`), `tls-verify`,
 * `cert-dir`. skopeo decodes it with yaml.v3 and ignores unknown keys; Ferry refuses them (a misspelt
 * key would otherwise silently sync nothing), naming file and line. Every key skopeo reads is accepted
 * as skopeo reads it, so one file serves both tools.
 */
import { FerryError } from '../errors.js';
import { readConfigFile } from '../config/read-limited.js';
import { parseYamlSubset, type YamlMap, type YamlValue, yamlBoolean } from '../config/yaml-subset.js';

export interface SyncRegistryConfig {
  /** The registry name as written (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Repository → tags or digests; an empty list means every tag. */
  images: Map<string, string[]>;
  imagesByTagRegex: Map<string, string>;
  imagesBySemver: Map<string, string>;
  credentials?: { username: string; password: string };
  /** Undefined when the file does not say (the command-line setting applies). */
  tlsVerify?: boolean;
  certDir?: string;
}

function invalid(file: string, line: number, rule: string): FerryError {
  return new FerryError('INVALID_CONFIG', `${file}: line ${line}: ${rule}`, { details: { path: file, line } });
}

const REGISTRY_KEYS = new Set([
  'images',
  'images-by-tag-regex',
  'images-by-semver',
  'credentials',
  'tls-verify',
  'cert-dir',
]);

function mapping(file: string, where: string, v: YamlValue): YamlMap | undefined {
  if (v.kind === 'null') return undefined;
  if (v.kind !== 'map') throw invalid(file, v.line, `${where} must be a mapping`);
  return v;
}

function scalar(file: string, where: string, v: YamlValue): string {
  if (v.kind !== 'scalar') throw invalid(file, v.line, `${where} must be a string`);
  return v.text;
}

/** yaml.v3's booleans (YAML 1.2 core schema, plus the 1.1 forms yaml.v3 still decodes into a bool). */
function boolean(file: string, where: string, v: YamlValue): boolean {
  const flag = yamlBoolean(v);
  if (flag === undefined) throw invalid(file, v.line, `${where} must be true or false`);
  return flag;
}

function stringMap(file: string, where: string, v: YamlValue): Map<string, string> {
  const out = new Map<string, string>();
  for (const [repo, value] of mapping(file, where, v)?.entries ?? [])
    out.set(repo, scalar(file, `${where}.${repo}`, value));
  return out;
}

/** Parses the text of a sync YAML file (`file` names it in errors). Registries in file order. */
export function parseSyncConfig(text: string, file: string): SyncRegistryConfig[] {
  const doc = parseYamlSubset(text, file, { sequences: true });
  const out: SyncRegistryConfig[] = [];
  for (const [registry, value] of doc.entries) {
    const config: SyncRegistryConfig = {
      registry,
      images: new Map(),
      imagesByTagRegex: new Map(),
      imagesBySemver: new Map(),
    };
    const settings = mapping(file, registry, value);
    for (const [key, v] of settings?.entries ?? []) {
      const where = `${registry}.${key}`;
      if (!REGISTRY_KEYS.has(key)) {
        throw invalid(
          file,
          settings?.keyLines?.get(key) ?? v.line,
          `unknown key "${where}" (known: ${[...REGISTRY_KEYS].join(', ')})`,
        );
      }
      if (key === 'images') {
        for (const [repo, refs] of mapping(file, where, v)?.entries ?? []) {
          if (refs.kind === 'null') config.images.set(repo, []);
          else if (refs.kind === 'seq')
            config.images.set(
              repo,
              refs.items.map((i) => i.text),
            );
          else throw invalid(file, refs.line, `${where}.${repo} must be a list of tags or digests`);
        }
      } else if (key === 'images-by-tag-regex') config.imagesByTagRegex = stringMap(file, where, v);
      else if (key === 'images-by-semver') config.imagesBySemver = stringMap(file, where, v);
      else if (key === 'tls-verify') config.tlsVerify = boolean(file, where, v);
      else if (key === 'cert-dir') config.certDir = scalar(file, where, v);
      else if (key === 'credentials') {
        const creds = mapping(file, where, v);
        let username = '';
        let password = '';
        for (const [k, c] of creds?.entries ?? []) {
          if (k === 'username') username = scalar(file, `${where}.username`, c);
          else if (k === 'password') password = scalar(file, `${where}.password`, c);
          else
            throw invalid(
              file,
              creds?.keyLines?.get(k) ?? c.line,
              `unknown key "${where}.${k}" (known: username, password)`,
            );
        }
        // skopeo uses the credentials only when one of them is set.
        if (username !== '' || password !== '') config.credentials = { username, password };
      }
    }
    out.push(config);
  }
  return out;
}

/** Reads and parses a sync YAML file. */
export async function readSyncConfig(path: string): Promise<SyncRegistryConfig[]> {
  let bytes: Buffer;
  try {
    bytes = await readConfigFile(
      path,
      (limit) => new FerryError('INVALID_CONFIG', `${path}: larger than ${limit} bytes`),
    );
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      'INVALID_ARGUMENT',
      `reading the sync YAML file "${path}": ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  return parseSyncConfig(bytes.toString('utf8'), path);
}
