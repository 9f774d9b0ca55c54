/**
 * Where the persistent cache lives and how a caller gets one (containers/image blobinfocache.DefaultCache):
 * SQLite at the default path, or memory when that file cannot be used, so a cache problem never
 * stops a copy.
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { containersBoltDBCachePath, importBoltDBBlobInfoCacheOnce } from './boltdb-import.js';
import { MemoryBlobInfoCache } from './memory.js';
import { NoneBlobInfoCache } from './none.js';
import { SqliteBlobInfoCache, type SqliteBlobInfoCacheOptions } from './sqlite.js';
import type { BlobInfoCache } from './types.js';
import { cacheUserID } from './user.js';

/** The cache file's name; a new schema that old versions cannot read gets a new name. */
export const BLOB_INFO_CACHE_FILENAME = 'blob-info-cache-v1.sqlite';

/** The directory root's cache lives in. */
export const SYSTEM_BLOB_INFO_CACHE_DIR = '/var/lib/ferry/cache';

export interface DefaultCachePathOptions {
  /** Effective user id (default: this process's); 0 selects the system directory. */
  uid?: number;
  /** Home directory when HOME is not set (default: the OS's idea of it). */
  homeDir?: string;
}

/**
 * The default cache file: `/var/lib/ferry/cache/blob-info-cache-v1.sqlite` for root, otherwise
 * `${XDG_DATA_HOME:-$HOME/.local/share}/ferry/cache/blob-info-cache-v1.sqlite`
 * (a relative XDG_DATA_HOME is ignored, as the XDG base directory spec requires).
 */
export function defaultBlobInfoCachePath(
  env: NodeJS.ProcessEnv = process.env,
  options: DefaultCachePathOptions = {},
): string {
  // The real user inside the rootless user namespace, where the process is uid 0.
  const uid = options.uid ?? cacheUserID(env);
  if (uid === 0) return join(SYSTEM_BLOB_INFO_CACHE_DIR, BLOB_INFO_CACHE_FILENAME);
  const xdg = env['XDG_DATA_HOME'];
  let dataHome: string;
  if (xdg !== undefined && xdg !== '' && isAbsolute(xdg)) {
    dataHome = xdg;
  } else {
    const home = env['HOME'] !== undefined && env['HOME'] !== '' ? env['HOME'] : (options.homeDir ?? homedir());
    dataHome = join(home, '.local', 'share');
  }
  return join(dataHome, 'ferry', 'cache', BLOB_INFO_CACHE_FILENAME);
}

/** `none`, `memory`, or the path of an SQLite cache file (or of a directory to hold one). */
export type BlobInfoCacheSpec = 'none' | 'memory' | (string & {});

export interface OpenBlobInfoCacheOptions extends SqliteBlobInfoCacheOptions, DefaultCachePathOptions {
  /** Environment for the default path (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * The containers/image BoltDB cache (skopeo's, podman's) that opening the default cache imports
   * once per version of the file; default: where containers/image keeps it for this user
   * (containersBoltDBCachePath); false: none. Not used when `spec` names a cache.
   */
  importBoltDBCache?: string | false;
}

/**
 * Opens the cache `spec` names; without one, SQLite at defaultBlobInfoCachePath, into which
 * containers/image's BoltDB cache is imported the first time it is seen (and again when it has
 * changed; a missing one silently not, a damaged one with a warning). Missing
 * directories are created (mode 0700). When the SQLite file cannot be used (unwritable directory,
 * corrupt file, another schema version), `onWarning` is told why and an in-memory cache is returned.
 */
export function openBlobInfoCache(spec?: BlobInfoCacheSpec, options: OpenBlobInfoCacheOptions = {}): BlobInfoCache {
  // FERRY_BLOB_CACHE (none | memory | PATH) replaces the default, for CI runs and benchmarks.
  if (spec === undefined) spec = (options.env ?? process.env)['FERRY_BLOB_CACHE'] || undefined;
  const cacheOptions = {
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
  };
  if (spec === 'none') return new NoneBlobInfoCache();
  if (spec === 'memory') return new MemoryBlobInfoCache(cacheOptions);
  const isDefault = spec === undefined || spec === '';
  let cache: SqliteBlobInfoCache;
  try {
    const path =
      spec === undefined || spec === ''
        ? defaultBlobInfoCachePath(options.env ?? process.env, options)
        : cacheFileFor(resolve(spec));
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    cache = new SqliteBlobInfoCache(path, {
      ...cacheOptions,
      ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
    });
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    options.onWarning?.(`blob-info cache unavailable, using an in-memory cache for this run: ${reason}`, e);
    return new MemoryBlobInfoCache(cacheOptions);
  }
  if (isDefault) {
    const boltDB = options.importBoltDBCache ?? containersBoltDBCachePath(options.env ?? process.env, options);
    if (boltDB !== false && boltDB !== undefined) importBoltDBBlobInfoCacheOnce(boltDB, cache, options.onWarning);
  }
  return cache;
}

/** A path naming an existing directory means the default file name inside it. */
function cacheFileFor(path: string): string {
  try {
    if (statSync(path).isDirectory()) return join(path, BLOB_INFO_CACHE_FILENAME);
  } catch {
    // Not there yet: it names the file.
  }
  return path;
}
