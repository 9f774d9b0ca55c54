/** The blob-info cache: interface, back ends (none, memory, SQLite), the default one, and the import of containers/image's BoltDB cache. */
export type {
  BlobInfoCache,
  BlobInfoCacheKind,
  BlobInfoCacheOptions,
  BlobInfoCacheWarning,
  Candidate,
  CandidateLocationOptions,
  CompressorName,
  RequiredCompression,
} from './types.js';
export { NoneBlobInfoCache } from './none.js';
export { MemoryBlobInfoCache } from './memory.js';
export { LazyBlobInfoCache } from './lazy.js';
export {
  BLOB_INFO_CACHE_SCHEMA_VERSION,
  DEFAULT_BUSY_TIMEOUT_MS,
  type BlobInfoRecords,
  type ImportedCacheSource,
  type KnownLocationRecord,
  SqliteBlobInfoCache,
  type SqliteBlobInfoCacheOptions,
} from './sqlite.js';
export {
  BOLTDB_BLOB_INFO_CACHE_FILENAME,
  type BoltDBBlobInfoCacheContents,
  type BoltDBImportResult,
  CONTAINERS_SYSTEM_BLOB_INFO_CACHE_DIR,
  type ContainersCachePathOptions,
  containersBoltDBCachePath,
  importBoltDBBlobInfoCache,
  readBoltDBBlobInfoCache,
} from './boltdb-import.js';
export type { BoltDBInfo, BoltDBRule } from './boltdb.js';
export {
  BLOB_INFO_CACHE_FILENAME,
  type BlobInfoCacheSpec,
  type DefaultCachePathOptions,
  defaultBlobInfoCachePath,
  type OpenBlobInfoCacheOptions,
  openBlobInfoCache,
  SYSTEM_BLOB_INFO_CACHE_DIR,
} from './default.js';
export { MAX_CANDIDATES, MAX_KNOWN_LOCATION_CANDIDATES, MAX_UNKNOWN_LOCATION_CANDIDATES } from './prioritize.js';
