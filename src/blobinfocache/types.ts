/**
 * The blob-info cache (containers/image pkg/blobinfocache, BlobInfoCache2 semantics): what Ferry
 * has learned about blobs across copies, so a later copy can skip, mount or substitute them.
 * It records
 * - which uncompressed digest (diffID) a blob digest has, so a blob can be replaced by another
 *   compression of the same content;
 * - which compressor produced a digest;
 * - where a digest was seen (transport, scope such as a registry host, location such as a
 *   repository), with the time it was last seen.
 * A cache is advice, never truth: the copy engine checks every candidate at the destination.
 * Only record LOCALLY VERIFIED facts (digests computed by Ferry over the bytes), never what a
 * manifest merely claims, or the cache could be poisoned into substituting unexpected content.
 */
import type { Digest } from '../digest/digest.js';

/** Which compressor produced a blob: `unknown` forgets what was recorded before. */
export type CompressorName = 'gzip' | 'zstd' | 'uncompressed' | 'unknown';

/** Compression algorithms a candidate may be required to have (a destination that needs one). */
export type RequiredCompression = 'gzip' | 'zstd';

export interface CandidateLocationOptions {
  /**
   * Whether a blob with the same uncompressed content but another digest may be used instead
   * (only when the manifest may be edited: no signatures kept, digests not preserved).
   */
  canSubstitute: boolean;
  /** The compression the reused blob must have; undefined = any (uncompressed included). */
  requiredCompression?: RequiredCompression;
  /** Manifest MIME types the copy may still write; zstd candidates need one that can express zstd (OCI). Undefined or empty = any. */
  possibleManifestFormats?: readonly string[];
}

/** A blob that may be reused instead of uploading `primaryDigest`. */
export interface Candidate {
  digest: Digest;
  /** `unknown` only for the primary digest itself (its compression is the source layer's). */
  compressorName: CompressorName;
  /** Where the blob was seen within the scope (e.g. a repository); undefined = unknown location, check the current one. */
  location?: string;
  /** When it was last seen at `location` (absent for unknown-location candidates). */
  lastSeen?: Date;
}

export type BlobInfoCacheKind = 'none' | 'memory' | 'sqlite';

export interface BlobInfoCache {
  readonly kind: BlobInfoCacheKind;
  /**
   * The uncompressed digest of `d`: `d` itself when it is known to be uncompressed, undefined
   * when nothing is known.
   */
  uncompressedDigest(d: Digest): Digest | undefined;
  /** Records that `anyDigest` decompresses to `uncompressed` (equal when the blob is uncompressed). */
  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void;
  /** Records which compressor produced `d`; `unknown` erases an earlier record. */
  recordDigestCompressorName(d: Digest, name: CompressorName): void;
  /** Records that `d` exists at `location` within (`transport`, `scope`), seen now. */
  recordKnownLocation(transport: string, scope: string, d: Digest, location: string): void;
  /**
   * Blobs that may stand in for `primaryDigest` within (`transport`, `scope`), best first, at
   * most 5 (see prioritize.ts). They may no longer exist: the caller checks each one.
   */
  candidateLocations(
    transport: string,
    scope: string,
    primaryDigest: Digest,
    options: CandidateLocationOptions,
  ): Candidate[];
  /** Releases the back end (database handle). Safe to call twice; afterwards the cache records and returns nothing. */
  close(): void;
}

/** Called with problems a cache hides from its caller (a cache failure never fails a copy). */
export type BlobInfoCacheWarning = (message: string, cause?: unknown) => void;

export interface BlobInfoCacheOptions {
  /** Milliseconds since the epoch for "last seen" times (tests inject a clock); default: a clock that never repeats a value. */
  now?: () => number;
  onWarning?: BlobInfoCacheWarning;
}
