/**
 * The in-memory cache (containers/image blobinfocache/memory): Maps that live as long as the
 * object. For tests, single runs, and the fallback when the SQLite file cannot be opened.
 */
import type { Digest } from '../digest/digest.js';
import { monotonicNow } from './clock.js';
import { type CacheLookups, candidateLocationsFrom, type SeenLocation, uncompressedDigestOf } from './prioritize.js';
import type {
  BlobInfoCache,
  BlobInfoCacheOptions,
  Candidate,
  CandidateLocationOptions,
  CompressorName,
} from './types.js';

type KnownCompressor = Exclude<CompressorName, 'unknown'>;

export class MemoryBlobInfoCache implements BlobInfoCache {
  readonly kind = 'memory' as const;
  readonly #now: () => number;
  #closed = false;
  readonly #uncompressed = new Map<Digest, Digest>();
  /** uncompressed digest → every digest recorded with it. */
  readonly #byUncompressed = new Map<Digest, Set<Digest>>();
  readonly #compressors = new Map<Digest, KnownCompressor>();
  /** `transport \0 scope \0 digest` → location → last seen (ms). */
  readonly #locations = new Map<string, Map<string, number>>();
  readonly #lookups: CacheLookups;

  constructor(options: BlobInfoCacheOptions = {}) {
    this.#now = options.now ?? monotonicNow;
    this.#lookups = {
      recordedUncompressed: (d) => this.#uncompressed.get(d),
      isRecordedAsUncompressed: (d) => (this.#byUncompressed.get(d)?.size ?? 0) > 0,
      digestsWithUncompressed: (u) => [...(this.#byUncompressed.get(u) ?? [])],
      recordedCompressor: (d) => this.#compressors.get(d),
      locations: (transport, scope, d) => {
        const seen = this.#locations.get(locationKey(transport, scope, d));
        if (seen === undefined) return [];
        return [...seen].map(([location, lastSeen]): SeenLocation => ({ location, lastSeen }));
      },
    };
  }

  uncompressedDigest(d: Digest): Digest | undefined {
    return uncompressedDigestOf(this.#lookups, d);
  }

  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void {
    if (this.#closed) return;
    const previous = this.#uncompressed.get(anyDigest);
    if (previous !== undefined && previous !== uncompressed) this.#byUncompressed.get(previous)?.delete(anyDigest);
    this.#uncompressed.set(anyDigest, uncompressed);
    let set = this.#byUncompressed.get(uncompressed);
    if (set === undefined) this.#byUncompressed.set(uncompressed, (set = new Set()));
    set.add(anyDigest);
  }

  recordDigestCompressorName(d: Digest, name: CompressorName): void {
    if (this.#closed) return;
    if (name === 'unknown') this.#compressors.delete(d);
    else this.#compressors.set(d, name);
  }

  recordKnownLocation(transport: string, scope: string, d: Digest, location: string): void {
    if (this.#closed) return;
    const key = locationKey(transport, scope, d);
    let seen = this.#locations.get(key);
    if (seen === undefined) this.#locations.set(key, (seen = new Map()));
    const now = this.#now();
    seen.set(location, Math.max(now, seen.get(location) ?? now));
  }

  candidateLocations(
    transport: string,
    scope: string,
    primaryDigest: Digest,
    options: CandidateLocationOptions,
  ): Candidate[] {
    return candidateLocationsFrom(this.#lookups, transport, scope, primaryDigest, options);
  }

  close(): void {
    this.#closed = true;
    this.#uncompressed.clear();
    this.#byUncompressed.clear();
    this.#compressors.clear();
    this.#locations.clear();
  }
}

function locationKey(transport: string, scope: string, d: Digest): string {
  return `${transport}\0${scope}\0${d}`;
}
