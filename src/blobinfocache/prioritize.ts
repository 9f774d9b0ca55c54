/**
 * Candidate selection shared by every back end (containers/image pkg/blobinfocache/internal/prioritize):
 * which recorded blobs may replace a primary digest, in which order, and how many are offered.
 * A back end only answers the small lookups of `CacheLookups`; the rules live here once.
 */
import type { Digest } from '../digest/digest.js';
import { MediaType } from '../manifest/mediatypes.js';
import type { Candidate, CandidateLocationOptions, CompressorName } from './types.js';

/** Candidates with a known location offered at most (upstream's heuristic). */
export const MAX_KNOWN_LOCATION_CANDIDATES = 5;
/** Candidates with an unknown location offered at most, after the known ones and within the total. */
export const MAX_UNKNOWN_LOCATION_CANDIDATES = 2;
/** Candidates offered at most in all. */
export const MAX_CANDIDATES = 5;

/** A recorded location and when it was last seen, in milliseconds since the epoch. */
export interface SeenLocation {
  location: string;
  lastSeen: number;
}

/** The primitive lookups a back end answers; everything else is derived here. */
export interface CacheLookups {
  /** The uncompressed digest recorded for `d` by a pair whose first member is `d`. */
  recordedUncompressed(d: Digest): Digest | undefined;
  /** Whether some recorded pair names `d` as its uncompressed digest. */
  isRecordedAsUncompressed(d: Digest): boolean;
  /** Every digest recorded with uncompressed digest `u` (including `u` when paired with itself). */
  digestsWithUncompressed(u: Digest): Digest[];
  /** The compressor recorded for `d` (never `unknown`: recording that erases the entry). */
  recordedCompressor(d: Digest): Exclude<CompressorName, 'unknown'> | undefined;
  locations(transport: string, scope: string, d: Digest): SeenLocation[];
}

/** BlobInfoCache.uncompressedDigest over a back end's lookups. */
export function uncompressedDigestOf(lookups: CacheLookups, d: Digest): Digest | undefined {
  const recorded = lookups.recordedUncompressed(d);
  if (recorded !== undefined) return recorded;
  // Being some blob's uncompressed digest (or recorded as uncompressed) means `d` is uncompressed.
  if (lookups.isRecordedAsUncompressed(d) || lookups.recordedCompressor(d) === 'uncompressed') return d;
  return undefined;
}

/** The compressor of `d`: recorded, or implied by `d` being an uncompressed digest. */
function compressorOf(lookups: CacheLookups, d: Digest): CompressorName {
  const recorded = lookups.recordedCompressor(d);
  if (recorded !== undefined) return recorded;
  return uncompressedDigestOf(lookups, d) === d ? 'uncompressed' : 'unknown';
}

/** Whether a manifest of this MIME type can list a zstd-compressed layer (only OCI image manifests can). */
function formatAllowsZstd(mimeType: string): boolean {
  return mimeType === MediaType.OCI_MANIFEST;
}

/** Whether a blob compressed with `name` satisfies the required compression and the possible manifest formats. */
export function compressionMatches(
  name: Exclude<CompressorName, 'unknown'>,
  options: CandidateLocationOptions,
): boolean {
  if (options.requiredCompression !== undefined && name !== options.requiredCompression) return false;
  const formats = options.possibleManifestFormats;
  if (name === 'zstd' && formats !== undefined && formats.length > 0 && !formats.some(formatAllowsZstd)) return false;
  return true;
}

/** A candidate before ordering; `lastSeen` is undefined for an unknown location. */
export interface TimedCandidate {
  digest: Digest;
  compressorName: CompressorName;
  location?: string;
  lastSeen?: number;
}

/**
 * Every acceptable candidate for `primaryDigest`, prioritized and bounded:
 * the primary digest; with `canSubstitute`, also every other digest of the same uncompressed
 * content and the uncompressed digest itself. Substitutes of unknown compression are dropped; the
 * primary of unknown compression is kept (its compression is the source layer's) unless a
 * compression is required. A digest with no location in the scope yields one unknown-location
 * candidate (to check at the current location) when its compression is known.
 */
export function candidateLocationsFrom(
  lookups: CacheLookups,
  transport: string,
  scope: string,
  primaryDigest: Digest,
  options: CandidateLocationOptions,
): Candidate[] {
  const found: TimedCandidate[] = [];
  const add = (d: Digest, isPrimary: boolean): void => {
    const compressorName = compressorOf(lookups, d);
    if (compressorName === 'unknown') {
      if (!isPrimary || options.requiredCompression !== undefined) return;
    } else if (!compressionMatches(compressorName, options)) {
      return;
    }
    const seen = lookups.locations(transport, scope, d);
    for (const { location, lastSeen } of seen) found.push({ digest: d, compressorName, location, lastSeen });
    if (seen.length === 0 && compressorName !== 'unknown') found.push({ digest: d, compressorName });
  };

  add(primaryDigest, true);
  let uncompressed: Digest | undefined;
  if (options.canSubstitute) {
    uncompressed = uncompressedDigestOf(lookups, primaryDigest);
    if (uncompressed !== undefined) {
      for (const d of lookups.digestsWithUncompressed(uncompressed)) {
        if (d !== primaryDigest && d !== uncompressed) add(d, false);
      }
      if (uncompressed !== primaryDigest) add(uncompressed, false);
    }
  }
  return prioritizeCandidates(found, primaryDigest, uncompressed);
}

/**
 * Orders candidates: the primary digest first (most recently seen first), then the other digests
 * by last-seen time (most recent first; equal times by digest), the uncompressed digest last
 * (most recent first). Then keeps at most MAX_KNOWN_LOCATION_CANDIDATES with a known location,
 * followed by at most MAX_UNKNOWN_LOCATION_CANDIDATES without one, MAX_CANDIDATES in all.
 */
export function prioritizeCandidates(
  candidates: readonly TimedCandidate[],
  primaryDigest: Digest,
  uncompressedDigest: Digest | undefined,
): Candidate[] {
  const rank = (c: TimedCandidate): number => {
    if (c.digest === primaryDigest) return 0;
    if (c.digest === uncompressedDigest) return 2;
    return 1;
  };
  const sorted = [...candidates].sort((a, b) => {
    const byRank = rank(a) - rank(b);
    if (byRank !== 0) return byRank;
    const byTime = (b.lastSeen ?? Number.NEGATIVE_INFINITY) - (a.lastSeen ?? Number.NEGATIVE_INFINITY);
    if (byTime !== 0 && !Number.isNaN(byTime)) return byTime;
    if (a.digest !== b.digest) return a.digest < b.digest ? -1 : 1;
    const la = a.location ?? '';
    const lb = b.location ?? '';
    return la < lb ? -1 : la > lb ? 1 : 0;
  });
  const known = sorted
    .filter((c) => c.location !== undefined)
    .slice(0, Math.min(MAX_KNOWN_LOCATION_CANDIDATES, MAX_CANDIDATES));
  const room = Math.min(MAX_UNKNOWN_LOCATION_CANDIDATES, MAX_CANDIDATES - known.length);
  const unknown = sorted.filter((c) => c.location === undefined).slice(0, Math.max(0, room));
  return [...known, ...unknown].map(toCandidate);
}

function toCandidate(c: TimedCandidate): Candidate {
  const out: Candidate = { digest: c.digest, compressorName: c.compressorName };
  if (c.location !== undefined) out.location = c.location;
  if (c.lastSeen !== undefined) out.lastSeen = new Date(c.lastSeen);
  return out;
}
