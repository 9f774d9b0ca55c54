/**
 * The part of containers.conf(5) Ferry uses: `image_copy_tmp_dir` in the `[engine]` table, the
 * directory for big temp files. Files, later ones overriding earlier ones: `$CONTAINERS_CONF` alone
 * when set; else /usr/share/containers/containers.conf, /etc/containers/containers.conf,
 * /etc/containers/containers.conf.d/*.conf and, for a user other than root,
 * `${XDG_CONFIG_HOME:-~/.config}/containers/containers.conf` and its `containers.conf.d/*.conf`;
 * then `$CONTAINERS_CONF_OVERRIDE` when set.
 */
import { readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { FerryError } from '../errors.js';
import { configHome, type Env, effectiveUserID, isMissingFile } from './paths.js';
import { isTable, loadToml, readTomlConfigFile } from './toml-file.js';

export interface ContainersConf {
  /** `[engine] image_copy_tmp_dir`, an absolute path; undefined when no file sets it (or it says "storage"). */
  imageCopyTmpDir?: string;
  /** The file that set imageCopyTmpDir. */
  imageCopyTmpDirFile?: string;
  /** The files read, in order. */
  files: string[];
}

export interface LoadContainersConfOptions {
  /** Environment to read CONTAINERS_CONF, XDG_CONFIG_HOME and HOME from (default process.env). */
  env?: Env;
  /** User id: the user's own files are read only when it is not 0 (default effectiveUserID: the real user inside a rootless user namespace). */
  uid?: number;
  /** Directory standing for `/` in the system paths (tests); default none. */
  root?: string;
}

function invalid(path: string, what: string, details: Record<string, unknown> = {}): FerryError {
  return new FerryError('INVALID_CONFIG', `containers.conf ${path}: ${what}`, { details: { path, ...details } });
}

async function dropIns(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((n) => n.endsWith('.conf'))
      .sort()
      .map((n) => join(dir, n));
  } catch (e) {
    if (isMissingFile(e)) return [];
    throw invalid(dir, `drop-in directory cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/** The files to read, in order (missing ones are skipped, except the ones named by the environment). */
export async function containersConfFiles(
  options: LoadContainersConfOptions = {},
): Promise<{ path: string; required: boolean }[]> {
  const env = options.env ?? process.env;
  const root = options.root ?? '/';
  // The real user inside the rootless user namespace the CLI re-execs into (where the process is uid 0).
  const uid = options.uid ?? effectiveUserID(env) ?? 0;
  const files: { path: string; required: boolean }[] = [];
  const optional = (paths: string[]) => files.push(...paths.map((path) => ({ path, required: false })));
  if (env.CONTAINERS_CONF) {
    files.push({ path: env.CONTAINERS_CONF, required: true });
  } else {
    optional([join(root, 'usr/share/containers/containers.conf'), join(root, 'etc/containers/containers.conf')]);
    optional(await dropIns(join(root, 'etc/containers/containers.conf.d')));
    if (uid !== 0) {
      const user = join(configHome(env), 'containers');
      optional([join(user, 'containers.conf')]);
      optional(await dropIns(join(user, 'containers.conf.d')));
    }
  }
  if (env.CONTAINERS_CONF_OVERRIDE) files.push({ path: env.CONTAINERS_CONF_OVERRIDE, required: true });
  return files;
}

/** What one file's text sets: `image_copy_tmp_dir` when present ('' is kept: it resets an earlier value). */
export function parseContainersConf(text: string, path: string): { imageCopyTmpDir?: string } {
  const { parse, TomlError } = loadToml();
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const what = (e.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw invalid(path, `invalid TOML at line ${e.line}, column ${e.column}: ${what}`, {
        line: e.line,
        column: e.column,
      });
    }
    throw invalid(path, 'invalid TOML');
  }
  const engine = doc.engine;
  if (engine === undefined) return {};
  if (!isTable(engine)) throw invalid(path, '"engine" is not a table');
  const value = engine.image_copy_tmp_dir;
  if (value === undefined) return {};
  if (typeof value !== 'string') throw invalid(path, '[engine] image_copy_tmp_dir is not a string');
  if (value !== '' && value !== 'storage' && !isAbsolute(value)) {
    throw invalid(
      path,
      `[engine] image_copy_tmp_dir must be an absolute path or "storage" (relative paths are not accepted)`,
    );
  }
  return { imageCopyTmpDir: value };
}

/** Reads the containers.conf files (see containersConfFiles) and merges what Ferry uses. */
export async function loadContainersConf(options: LoadContainersConfOptions = {}): Promise<ContainersConf> {
  const conf: ContainersConf = { files: [] };
  for (const { path, required } of await containersConfFiles(options)) {
    const text = await readTomlConfigFile(path, required, (what) => invalid(path, what));
    if (text === undefined) continue;
    conf.files.push(path);
    const file = parseContainersConf(text, path);
    if (file.imageCopyTmpDir === undefined) continue;
    // "storage" means the storage driver's own temp dir, which Ferry has no use for: the default applies.
    if (file.imageCopyTmpDir === '' || file.imageCopyTmpDir === 'storage') {
      delete conf.imageCopyTmpDir;
      delete conf.imageCopyTmpDirFile;
    } else {
      conf.imageCopyTmpDir = file.imageCopyTmpDir;
      conf.imageCopyTmpDirFile = path;
    }
  }
  return conf;
}
