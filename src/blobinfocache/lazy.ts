/**
 * A blob-info cache opened on first use. Opening the default cache loads SQLite's add-on and opens
 * (and maybe imports into) a database file; a copy that ends before any blob (copy/noop.ts) never
 * pays for it.
 */
import type { Digest } from '../digest/digest.js';
import { NoneBlobInfoCache } from './none.js';
import type { BlobInfoCache, BlobInfoCacheKind, Candidate, CandidateLocationOptions, CompressorName } from './types.js';

export class LazyBlobInfoCache implements BlobInfoCache {
  readonly #open: () => BlobInfoCache;
  #cache: BlobInfoCache | undefined;
  #closed = false;

  constructor(open: () => BlobInfoCache) {
    this.#open = open;
  }

  /** The cache, opened now if need be; after close, one that records and returns nothing. */
  #get(): BlobInfoCache {
    if (this.#cache === undefined) this.#cache = this.#closed ? new NoneBlobInfoCache() : this.#open();
    return this.#cache;
  }

  /** Whether the cache was opened (a test seam, and what a caller may log). */
  get opened(): boolean {
    return this.#cache !== undefined && !(this.#closed && this.#cache instanceof NoneBlobInfoCache);
  }

  get kind(): BlobInfoCacheKind {
    return this.#get().kind;
  }

  uncompressedDigest(d: Digest): Digest | undefined {
    return this.#get().uncompressedDigest(d);
  }

  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void {
    this.#get().recordDigestUncompressedPair(anyDigest, uncompressed);
  }

  recordDigestCompressorName(d: Digest, name: CompressorName): void {
    this.#get().recordDigestCompressorName(d, name);
  }

  recordKnownLocation(transport: string, scope: string, d: Digest, location: string): void {
    this.#get().recordKnownLocation(transport, scope, d, location);
  }

  candidateLocations(
    transport: string,
    scope: string,
    primaryDigest: Digest,
    options: CandidateLocationOptions,
  ): Candidate[] {
    return this.#get().candidateLocations(transport, scope, primaryDigest, options);
  }

  close(): void {
    this.#closed = true;
    this.#cache?.close();
  }
}
