/**
 * Where the containers/storage store is: storage.conf(5) as containers/storage 1.43 resolves it
 * (types/options.go). The system file is `$CONTAINERS_STORAGE_CONF` when set, else
 * `$XDG_CONFIG_HOME/containers/storage.conf` when XDG_CONFIG_HOME is set and that file exists, else
 * /etc/containers/storage.conf, else /usr/share/containers/storage.conf. As root its `[storage]`
 * table gives driver, graphroot and runroot (defaults /var/lib/containers/storage and
 * /run/containers/storage). For another user the defaults are rootless ones
 * (`rootless_storage_path` or `${XDG_DATA_HOME:-~/.local/share}/containers/storage`, and
 * `$XDG_RUNTIME_DIR/containers`, driver vfs unless the system file names overlay or vfs), and the
 * user's own `${XDG_CONFIG_HOME:-~/.config}/containers/storage.conf`, when it exists, replaces them
 * (an empty graphroot/runroot there keeps the rootless default). `STORAGE_DRIVER` and `STORAGE_OPTS`
 * override the driver and add options; `$VAR` in the paths expands (`$UID` is the user id).
 */
import { closeSync, openSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { FerryError } from '../errors.js';
import { configHome, type Env, effectiveUserID, homeDir } from './paths.js';
import { isTable, loadToml, readTomlConfigFileSync } from './toml-file.js';

export interface StorageConf {
  /** Graph driver name; '' when nothing names one (containers/storage then picks). */
  driver: string;
  graphRoot: string;
  runRoot: string;
  /** Driver options (`[storage.options]` as `key=value`, then STORAGE_OPTS). */
  driverOptions: string[];
  /** The storage.conf files that were read, in order. */
  files: string[];
}

export interface LoadStorageConfOptions {
  env?: Env;
  /** Default: the process's user id; not 0 means the rootless defaults. */
  uid?: number;
  /** Directory standing for `/` in the system paths (tests); default none. */
  root?: string;
}

const ROOT_GRAPH_ROOT = '/var/lib/containers/storage';
const ROOT_RUN_ROOT = '/run/containers/storage';
/** Drivers containers/storage 1.43 keeps from the system file for a rootless user (isRootlessDriver). */
const ROOTLESS_DRIVERS = new Set(['overlay', 'overlay2', 'vfs', 'btrfs']);

function invalid(path: string, what: string): FerryError {
  return new FerryError('INVALID_CONFIG', `storage.conf ${path}: ${what}`, { details: { path } });
}

function readConf(path: string, required: boolean): string | undefined {
  return readTomlConfigFileSync(path, required, (what) => invalid(path, what));
}

/** What one storage.conf sets in its `[storage]` table. */
export interface StorageConfFile {
  driver?: string;
  graphRoot?: string;
  runRoot?: string;
  rootlessStoragePath?: string;
  driverOptions: string[];
}

function optionalString(table: Record<string, unknown>, key: string, path: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(path, `[storage] ${key} is not a string`);
  return v;
}

/** Parses one storage.conf's text (TOML); only `[storage]` matters here. */
export function parseStorageConf(text: string, path: string): StorageConfFile {
  const { parse, TomlError } = loadToml();
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) throw invalid(path, `invalid TOML at line ${e.line}, column ${e.column}`);
    throw invalid(path, 'invalid TOML');
  }
  const storage = doc.storage;
  if (storage === undefined) return { driverOptions: [] };
  if (!isTable(storage)) throw invalid(path, '"storage" is not a table');
  const out: StorageConfFile = { driverOptions: [] };
  const driver = optionalString(storage, 'driver', path);
  if (driver !== undefined) out.driver = driver;
  const graphRoot = optionalString(storage, 'graphroot', path);
  if (graphRoot !== undefined) out.graphRoot = graphRoot;
  const runRoot = optionalString(storage, 'runroot', path);
  if (runRoot !== undefined) out.runRoot = runRoot;
  const rootless = optionalString(storage, 'rootless_storage_path', path);
  if (rootless !== undefined) out.rootlessStoragePath = rootless;
  // Top-level scalar options become `key=value` driver options as containers/storage passes them on.
  const options = storage.options;
  if (isTable(options)) {
    for (const [k, v] of Object.entries(options)) {
      if (typeof v === 'string' && v !== '') out.driverOptions.push(`${k}=${v}`);
      // A driver's table (`[storage.options.overlay]`) gives `DRIVER.key=value`, as types/options.go does.
      if (isTable(v) && (k === 'overlay' || k === 'vfs')) {
        for (const [dk, dv] of Object.entries(v)) {
          if (typeof dv === 'string' && dv !== '') out.driverOptions.push(`${k}.${dk}=${dv}`);
        }
      }
    }
  }
  return out;
}

/** `$VAR` and `${VAR}` from env, with UID the user id (containers/storage expandEnvPath). */
export function expandStoragePath(path: string, env: Env, uid: number): string {
  const value = (name: string) => (name === 'UID' ? String(uid) : (env[name] ?? ''));
  return path.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, b: string) =>
    value(a ?? b),
  );
}

function exists(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/** Reads storage.conf as containers/storage does and resolves the store's driver and roots. */
export async function loadStorageConf(options: LoadStorageConfOptions = {}): Promise<StorageConf> {
  return loadStorageConfSync(options);
}

/** loadStorageConf, synchronously (small files): for what must be known without waiting, a policy scope. */
export function loadStorageConfSync(options: LoadStorageConfOptions = {}): StorageConf {
  const env = options.env ?? process.env;
  const uid = options.uid ?? effectiveUserID(env) ?? 0;
  const root = options.root ?? '/';
  const files: string[] = [];

  let system: StorageConfFile = { driverOptions: [] };
  const readInto = (path: string, required: boolean): StorageConfFile | undefined => {
    const text = readConf(path, required);
    if (text === undefined) return undefined;
    files.push(path);
    return parseStorageConf(text, path);
  };
  if (env.CONTAINERS_STORAGE_CONF) {
    system = readInto(env.CONTAINERS_STORAGE_CONF, true) ?? system;
  } else {
    const candidates = [
      ...(env.XDG_CONFIG_HOME ? [join(env.XDG_CONFIG_HOME, 'containers', 'storage.conf')] : []),
      join(root, 'etc/containers/storage.conf'),
      join(root, 'usr/share/containers/storage.conf'),
    ];
    for (const path of candidates) {
      const file = readInto(path, false);
      if (file !== undefined) {
        system = file;
        break;
      }
    }
  }

  let driver = system.driver ?? '';
  let graphRoot = system.graphRoot || ROOT_GRAPH_ROOT;
  let runRoot = system.runRoot || ROOT_RUN_ROOT;
  let driverOptions = [...system.driverOptions];
  if (uid !== 0) {
    const dataHome = env.XDG_DATA_HOME || join(homeDir(env), '.local', 'share');
    const runtimeDir = env.XDG_RUNTIME_DIR || join(root, 'run', 'user', String(uid));
    graphRoot = system.rootlessStoragePath || join(dataHome, 'containers', 'storage');
    runRoot = join(runtimeDir, 'containers');
    driver = ROOTLESS_DRIVERS.has(driver) ? driver : '';
    if (!env.CONTAINERS_STORAGE_CONF) driverOptions = [];
    driver ||= 'vfs';
    const userFile = join(configHome(env), 'containers', 'storage.conf');
    if (!env.CONTAINERS_STORAGE_CONF && !files.includes(userFile) && exists(userFile)) {
      const user = readInto(userFile, true);
      if (user !== undefined) {
        driver = user.driver ?? '';
        graphRoot = user.graphRoot || user.rootlessStoragePath || graphRoot;
        runRoot = user.runRoot || runRoot;
        driverOptions = [...user.driverOptions];
      }
    }
  }
  if (env.STORAGE_DRIVER) driver = env.STORAGE_DRIVER;
  if (driver === 'overlay2') driver = 'overlay';
  if (env.STORAGE_OPTS) driverOptions.push(...env.STORAGE_OPTS.split(','));
  graphRoot = expandStoragePath(graphRoot, env, uid);
  runRoot = expandStoragePath(runRoot, env, uid);
  for (const [what, path] of [
    ['graphroot', graphRoot],
    ['runroot', runRoot],
  ] as const) {
    if (!isAbsolute(path)) {
      throw new FerryError('INVALID_CONFIG', `storage.conf: ${what} ${JSON.stringify(path)} is not an absolute path`, {
        details: { files },
      });
    }
  }
  return { driver, graphRoot, runRoot, driverOptions, files };
}
