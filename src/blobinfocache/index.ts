/** The blob-info cache: interface, back ends (none, memory, SQLite) and the default one. */
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
export {
  BLOB_INFO_CACHE_SCHEMA_VERSION,
  DEFAULT_BUSY_TIMEOUT_MS,
  SqliteBlobInfoCache,
  type SqliteBlobInfoCacheOptions,
} from './sqlite.js';
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
