/** The cache that remembers nothing (containers/image blobinfocache/none): for callers that want no reuse hints. */
import type { Digest } from '../digest/digest.js';
import type { BlobInfoCache, Candidate } from './types.js';

export class NoneBlobInfoCache implements BlobInfoCache {
  readonly kind = 'none' as const;

  uncompressedDigest(_d: Digest): Digest | undefined {
    return undefined;
  }

  recordDigestUncompressedPair(): void {}

  recordDigestCompressorName(): void {}

  recordKnownLocation(): void {}

  candidateLocations(): Candidate[] {
    return [];
  }

  close(): void {}
}
