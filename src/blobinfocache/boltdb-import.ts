/**
 * Importing the blob-info cache containers/image kept in BoltDB (pkg/blobinfocache/boltdb, its
 * default up to containers/image 5.27: skopeo ≤ 1.13, podman ≤ 4.7) into Ferry's SQLite cache,
 * so what a user's skopeo or podman learned about where blobs live is not lost.
 *
 * containers/image's layout (pkg/blobinfocache/boltdb/boltdb.go), keys and values as UTF-8 text:
 * - `uncompressedDigest`: any digest → its uncompressed digest;
 * - `digestByUncompressed` / uncompressed digest: a set of digests (key = digest, value empty),
 *   the inverse of the above;
 * - `digestCompressor`: digest → compressor name (`gzip`, `zstd`, `zstd:chunked`, `uncompressed`, …);
 * - `knownLocations` / transport name / scope / digest: location → time last seen, as Go's
 *   `time.Time.MarshalBinary` writes it.
 * Its `uncompressedDigestByTOC` and `digestSpecificVariantCompressor` buckets hold nothing Ferry
 * records. Entries Ferry cannot use (an invalid digest, an unreadable time, a compressor Ferry does
 * not have) are counted and left out; a file that breaks the BoltDB format is an error.
 */
import { statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type Digest, isDigest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import { DockerReference, registryAPIHost } from '../reference/reference.js';
import { type BoltDBEntry, type BoltDBInfo, walkBoltDB } from './boltdb.js';
import type { ImportedCacheSource, KnownLocationRecord, SqliteBlobInfoCache } from './sqlite.js';
import type { BlobInfoCacheWarning, CompressorName } from './types.js';
import { cacheUserID } from './user.js';

/** containers/image's BoltDB cache file name. */
export const BOLTDB_BLOB_INFO_CACHE_FILENAME = 'blob-info-cache-v1.boltdb';

/** The directory root's containers/image cache lives in. */
export const CONTAINERS_SYSTEM_BLOB_INFO_CACHE_DIR = '/var/lib/containers/cache';

type KnownCompressor = Exclude<CompressorName, 'unknown'>;

/**
 * containers/image's compressor names Ferry records. `zstd:chunked` is a zstd stream with extra
 * frames (a variant of zstd), so it counts as zstd; bzip2 and xz blobs Ferry cannot write are left out.
 */
const COMPRESSORS: ReadonlyMap<string, KnownCompressor> = new Map([
  ['gzip', 'gzip'],
  ['zstd', 'zstd'],
  ['zstd:chunked', 'zstd'],
  ['uncompressed', 'uncompressed'],
]);

/** Seconds from Go's time zero (January 1, year 1, UTC) to the Unix epoch. */
const GO_EPOCH_TO_UNIX_SECONDS = 62_135_596_800n;

/** What a containers/image BoltDB cache holds that Ferry can record. */
export interface BoltDBBlobInfoCacheContents {
  /** Any digest → uncompressed digest. */
  pairs: Map<Digest, Digest>;
  compressors: Map<Digest, KnownCompressor>;
  /** Known locations in Ferry's form (for `docker`: the repository path, without the registry). */
  locations: KnownLocationRecord[];
  /** Entries left out because they are malformed (an invalid digest or name, an unreadable time). */
  malformed: number;
  /** Well-formed entries Ferry has no use for (TOC digests, compression variants, other compressors and transports). */
  ignored: number;
  file: BoltDBInfo;
}

/** What an import merged into the SQLite cache. */
export interface BoltDBImportResult {
  path: string;
  pairs: number;
  compressors: number;
  locations: number;
  malformed: number;
  ignored: number;
}

export interface ContainersCachePathOptions {
  /** Effective user id (default: this process's); 0 selects the system directory. */
  uid?: number;
}

/**
 * Where containers/image keeps its BoltDB cache (its blobInfoCacheDir): `/var/lib/containers/cache`
 * for root, else `$XDG_DATA_HOME/containers/cache` or `$HOME/.local/share/containers/cache`;
 * undefined when neither variable is set, as upstream then keeps no file.
 */
export function containersBoltDBCachePath(
  env: NodeJS.ProcessEnv = process.env,
  options: ContainersCachePathOptions = {},
): string | undefined {
  // The real user inside the rootless user namespace, where the process is uid 0.
  const uid = options.uid ?? cacheUserID(env);
  if (uid === 0) return join(CONTAINERS_SYSTEM_BLOB_INFO_CACHE_DIR, BOLTDB_BLOB_INFO_CACHE_FILENAME);
  let dataHome = env['XDG_DATA_HOME'];
  if (dataHome === undefined || dataHome === '') {
    const home = env['HOME'];
    if (home === undefined || home === '') return undefined;
    dataHome = join(home, '.local', 'share');
  }
  // Upstream takes a relative value as it is (relative to its working directory); Ferry will not guess one.
  if (!isAbsolute(dataHome)) return undefined;
  return join(dataHome, 'containers', 'cache', BOLTDB_BLOB_INFO_CACHE_FILENAME);
}

/**
 * Reads the containers/image BoltDB cache at `path` (read-only). Throws INVALID_BOLTDB when the
 * file breaks the BoltDB format, CACHE_UNAVAILABLE when it cannot be read.
 */
export function readBoltDBBlobInfoCache(path: string): BoltDBBlobInfoCacheContents {
  const pairs = new Map<Digest, Digest>();
  /** From digestByUncompressed: used for digests `uncompressedDigest` has no entry for. */
  const inversePairs = new Map<Digest, Digest>();
  const compressors = new Map<Digest, KnownCompressor>();
  const locations: KnownLocationRecord[] = [];
  let malformed = 0;
  let ignored = 0;

  const file = walkBoltDB(path, (entry) => {
    const decoded = decodeEntry(entry);
    if (decoded === 'malformed') malformed++;
    else if (decoded === 'ignored') ignored++;
    else if (decoded.kind === 'pair') pairs.set(decoded.digest, decoded.uncompressed);
    else if (decoded.kind === 'inverse-pair') inversePairs.set(decoded.digest, decoded.uncompressed);
    else if (decoded.kind === 'compressor') compressors.set(decoded.digest, decoded.compressor);
    else if (decoded.kind === 'location') locations.push(decoded.location);
  });
  for (const [d, uncompressed] of inversePairs) if (!pairs.has(d)) pairs.set(d, uncompressed);
  return { pairs, compressors, locations, malformed, ignored, file };
}

/**
 * Merges the containers/image BoltDB cache at `path` into `cache` (in one transaction: all or
 * nothing) and notes the file's size and mtime there, so that opening the default cache does not
 * import this version of the file again. What `cache` already holds wins over the file.
 * Throws INVALID_BOLTDB (details.rule names the broken rule) when the file is damaged,
 * CACHE_UNAVAILABLE when the file cannot be read or the cache cannot be written.
 */
export function importBoltDBBlobInfoCache(path: string, cache: SqliteBlobInfoCache): BoltDBImportResult {
  const contents = readBoltDBBlobInfoCache(path);
  const source: ImportedCacheSource = {
    path,
    size: contents.file.size,
    mtimeNs: contents.file.mtimeNs,
    outcome: 'imported',
  };
  cache.importRecords(source, {
    pairs: contents.pairs,
    compressors: contents.compressors,
    locations: contents.locations,
  });
  return {
    path,
    pairs: contents.pairs.size,
    compressors: contents.compressors.size,
    locations: contents.locations.length,
    malformed: contents.malformed,
    ignored: contents.ignored,
  };
}

/**
 * Imports the BoltDB cache at `path` unless this version of it (size, mtime) was imported or found
 * damaged before. A missing file is skipped silently; anything else that goes wrong is a warning,
 * and a damaged file is noted so the warning comes once per version of the file. Never throws.
 */
export function importBoltDBBlobInfoCacheOnce(
  path: string,
  cache: SqliteBlobInfoCache,
  onWarning: BlobInfoCacheWarning = () => {},
): BoltDBImportResult | undefined {
  let noted: ImportedCacheSource | undefined;
  let stat: { size: bigint; mtimeNs: bigint } | undefined;
  try {
    stat = statOrUndefined(path);
    if (stat === undefined) return undefined;
    noted = cache.importedSource(path);
    if (noted !== undefined && BigInt(noted.size) === stat.size && noted.mtimeNs === stat.mtimeNs) return undefined;
    return importBoltDBBlobInfoCache(path, cache);
  } catch (e) {
    onWarning(`not importing the containers/image blob-info cache ${path}: ${(e as Error).message}`, e);
    if (stat !== undefined && isFerryError(e, 'INVALID_BOLTDB')) {
      const failed: ImportedCacheSource = { path, size: Number(stat.size), mtimeNs: stat.mtimeNs, outcome: 'failed' };
      try {
        cache.importRecords(failed, { pairs: [], compressors: [], locations: [] });
      } catch {
        // Not noted: the warning comes again next time, which is all that is lost.
      }
    }
    return undefined;
  }
}

function statOrUndefined(path: string): { size: bigint; mtimeNs: bigint } | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return { size: s.size, mtimeNs: s.mtimeNs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw new FerryError('CACHE_UNAVAILABLE', `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
}

type Decoded =
  | 'malformed'
  | 'ignored'
  | { kind: 'pair' | 'inverse-pair'; digest: Digest; uncompressed: Digest }
  | { kind: 'compressor'; digest: Digest; compressor: KnownCompressor }
  | { kind: 'location'; location: KnownLocationRecord };

/** One BoltDB entry in containers/image's layout, as the record it stands for. */
function decodeEntry({ buckets, key, value }: BoltDBEntry): Decoded {
  const names = buckets.map(utf8);
  if (names.some((n) => n === undefined)) return 'malformed';
  const [top, ...inner] = names as string[];
  const keyText = utf8(key);
  if (keyText === undefined) return 'malformed';
  switch (top) {
    case 'uncompressedDigest': {
      if (inner.length !== 0) return 'malformed';
      const uncompressed = utf8(value);
      if (!isDigest(keyText) || uncompressed === undefined || !isDigest(uncompressed)) return 'malformed';
      return { kind: 'pair', digest: keyText, uncompressed };
    }
    case 'digestByUncompressed': {
      const [uncompressed] = inner;
      if (inner.length !== 1 || uncompressed === undefined) return 'malformed';
      if (!isDigest(keyText) || !isDigest(uncompressed)) return 'malformed';
      return { kind: 'inverse-pair', digest: keyText, uncompressed };
    }
    case 'digestCompressor': {
      if (inner.length !== 0 || !isDigest(keyText)) return 'malformed';
      const compressor = COMPRESSORS.get(utf8(value) ?? '');
      // Other names include `unknown`, which some upstream versions store instead of deleting the entry.
      return compressor === undefined ? 'ignored' : { kind: 'compressor', digest: keyText, compressor };
    }
    case 'knownLocations':
      return decodeLocation(inner, keyText, value);
    default:
      return 'ignored';
  }
}

/** knownLocations / transport / scope / digest: location → time. */
function decodeLocation(inner: readonly string[], location: string, value: Buffer): Decoded {
  const [transport, scope, digest] = inner;
  if (inner.length !== 3 || transport === undefined || scope === undefined || digest === undefined) return 'malformed';
  if (!isDigest(digest)) return 'malformed';
  const lastSeenUs = goTimeToMicros(value);
  if (lastSeenUs === undefined) return 'malformed';
  // Only registries record locations upstream; another transport's locations mean nothing to Ferry's.
  if (transport !== 'docker') return 'ignored';
  const repository = dockerRepositoryIn(scope, location);
  if (repository === undefined) return 'malformed';
  // containers/image scopes locations by the domain (`docker.io`); Ferry's docker transport by the
  // host it talks to, which differs only for Docker Hub.
  return {
    kind: 'location',
    location: { transport, scope: registryAPIHost(scope), digest, location: repository, lastSeenUs },
  };
}

/**
 * containers/image names a registry location by the repository's full normalised name
 * (`registry/path`, its newBICLocationReference); Ferry by the path within the scope's registry.
 */
function dockerRepositoryIn(scope: string, name: string): string | undefined {
  let ref: DockerReference;
  try {
    ref = DockerReference.parse(name);
  } catch {
    return undefined;
  }
  if (ref.tag !== undefined || ref.digest !== undefined || ref.domain !== scope) return undefined;
  return ref.path;
}

/**
 * A time written by Go's `time.Time.MarshalBinary`, in microseconds since the Unix epoch:
 * version byte 1 (15 bytes) or 2 (16 bytes, adding seconds of the zone offset), then seconds since
 * January 1, year 1 (int64, big-endian), nanoseconds (int32), the zone offset in minutes (int16).
 * The zone does not change the instant. Undefined for anything else, or an instant before 1970 or
 * past what a JavaScript number holds exactly.
 */
export function goTimeToMicros(value: Uint8Array): number | undefined {
  const version = value[0];
  if (!((version === 1 && value.length === 15) || (version === 2 && value.length === 16))) return undefined;
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const seconds = view.getBigInt64(1) - GO_EPOCH_TO_UNIX_SECONDS;
  const nanos = view.getInt32(9);
  if (nanos < 0 || nanos >= 1_000_000_000) return undefined;
  const micros = seconds * 1_000_000n + BigInt(Math.floor(nanos / 1000));
  if (micros < 0n || micros > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(micros);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}
