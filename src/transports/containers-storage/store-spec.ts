/**
 * Which store a reference's `[DRIVER@GRAPHROOT+RUNROOT]` part means once storage.conf fills in what
 * it leaves out (containers/storage GetStore): the driver named, else storage.conf's, else the one
 * whose layers the graph root already holds (containers/storage's prior-driver scan), else overlay;
 * `overlay2` is overlay. Synchronous (a few small reads), so a reference's policy scope can name the
 * store as containers/image does, without opening it.
 */
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadStorageConfSync, type StorageConf } from '../../config/storage-conf.js';
import { isNotFound } from '../shared/files.js';
import type { StoreSpec } from './location.js';

export interface ResolvedStoreSpec {
  driver: string;
  graphRoot: string;
  runRoot: string;
}

/** A resolved store with its driver options: the reference's, else storage.conf's. */
export interface ResolvedStore extends ResolvedStoreSpec {
  options: readonly string[];
}

/** The store's driver and roots (a policy scope's part): storage.conf is read only when the spec leaves one out. */
export function resolveStoreSpec(spec: StoreSpec): ResolvedStoreSpec {
  return resolveWith(spec, storageConfOnce());
}

/** resolveStoreSpec and the driver options, from one reading of storage.conf at most. */
export function resolveStore(spec: StoreSpec): ResolvedStore {
  const conf = storageConfOnce();
  // The reference's options replace the store's (containers/image storage_transport); else storage.conf's.
  return { ...resolveWith(spec, conf), options: spec.options ?? conf().driverOptions };
}

/** storage.conf, read on the first call and kept for the next. */
function storageConfOnce(): () => StorageConf {
  let conf: StorageConf | undefined;
  return () => {
    conf ??= loadStorageConfSync();
    return conf;
  };
}

function resolveWith(spec: StoreSpec, storageConf: () => StorageConf): ResolvedStoreSpec {
  let driver = spec.driver ?? '';
  let graphRoot = spec.graphRoot;
  let runRoot = spec.runRoot;
  if (driver === '' || graphRoot === undefined || runRoot === undefined) {
    const conf = storageConf();
    graphRoot ??= conf.graphRoot;
    runRoot ??= conf.runRoot;
    driver ||= conf.driver;
  }
  if (driver === 'overlay2') driver = 'overlay';
  if (driver === '') driver = priorDriver(graphRoot) ?? 'overlay';
  return { driver, graphRoot: resolve(graphRoot), runRoot: resolve(runRoot) };
}

/** The one driver whose `DRIVER-layers` directory the graph root holds, if exactly one does. */
function priorDriver(graphRoot: string): string | undefined {
  const found: string[] = [];
  for (const d of ['overlay', 'vfs', 'btrfs', 'zfs', 'aufs', 'devmapper']) {
    try {
      if (statSync(join(graphRoot, `${d}-layers`)).isDirectory()) found.push(d);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return found.length === 1 ? found[0] : undefined;
}
