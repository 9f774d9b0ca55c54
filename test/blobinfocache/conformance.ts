/**
 * The one behaviour suite every blob-info cache back end passes. A back-end test file calls
 * `registerBlobInfoCacheConformance` with a factory; a cache that remembers nothing (`none`)
 * passes it with every lookup expected empty.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import type { BlobInfoCache, BlobInfoCacheOptions, Candidate } from '../../src/blobinfocache/index.js';
import { MediaType } from '../../src/manifest/mediatypes.js';

export interface ConformanceTarget {
  name: string;
  /** false for the `none` cache: every lookup must then come back empty. */
  remembers: boolean;
  /** A fresh, empty cache using the given options (the suite injects a clock). */
  make(options: BlobInfoCacheOptions): BlobInfoCache;
}

export function digestOfChar(c: string): Digest {
  return `sha256:${c.repeat(64)}` as Digest;
}

const U = digestOfChar('2'); // uncompressed
const A = digestOfChar('3'); // gzip of U
const B = digestOfChar('4'); // zstd of U
const CU = digestOfChar('5'); // unrelated
const C = digestOfChar('6');
const D = digestOfChar('7');
const UNKNOWN = digestOfChar('1');
const T = 'docker';

/** A clock the test moves: each `tick()` is one millisecond later. */
class FakeClock {
  ms = 1_700_000_000_000;
  readonly now = (): number => this.ms;
  tick(): number {
    this.ms += 1;
    return this.ms;
  }
}

/** Candidates reduced to `digest@location` (`digest@?` for an unknown location), for readable assertions. */
function short(cs: readonly Candidate[]): string[] {
  const names = new Map<string, string>([
    [U, 'U'],
    [A, 'A'],
    [B, 'B'],
    [CU, 'CU'],
    [C, 'C'],
    [D, 'D'],
    [UNKNOWN, 'X'],
  ]);
  return cs.map((c) => `${names.get(c.digest) ?? c.digest}@${c.location ?? '?'}`);
}

export function registerBlobInfoCacheConformance(target: ConformanceTarget): void {
  const { remembers } = target;
  /** What a remembering cache returns, or the empty value for `none`. */
  const expect = <V>(value: V, empty: V): V => (remembers ? value : empty);

  const withCache = (fn: (cache: BlobInfoCache, clock: FakeClock) => void) => () => {
    const clock = new FakeClock();
    const cache = target.make({ now: clock.now });
    try {
      fn(cache, clock);
    } finally {
      cache.close();
    }
  };

  /** Records U's family: A (gzip) and B (zstd) decompress to U. */
  const recordFamily = (cache: BlobInfoCache): void => {
    cache.recordDigestUncompressedPair(A, U);
    cache.recordDigestUncompressedPair(B, U);
    cache.recordDigestCompressorName(A, 'gzip');
    cache.recordDigestCompressorName(B, 'zstd');
  };

  /** Records locations "<name>2" then, later, "<name>1" for U, A, B and CU in `scope`. */
  const recordTwoLocationsEach = (cache: BlobInfoCache, clock: FakeClock, scope: string): void => {
    for (const suffix of ['2', '1']) {
      for (const [name, d] of [
        ['U', U],
        ['A', A],
        ['B', B],
        ['CU', CU],
      ] as const) {
        clock.tick();
        cache.recordKnownLocation(T, scope, d, `${name}${suffix}`);
      }
    }
  };

  describe(`${target.name} blob-info cache (shared conformance suite)`, () => {
    test(
      'knows nothing about a digest that was never recorded',
      withCache((cache) => {
        assert.equal(cache.uncompressedDigest(UNKNOWN), undefined);
        assert.deepEqual(cache.candidateLocations(T, 'reg', UNKNOWN, { canSubstitute: false }), []);
        assert.deepEqual(cache.candidateLocations(T, 'reg', UNKNOWN, { canSubstitute: true }), []);
      }),
    );

    test(
      'returns the recorded uncompressed digest of compressed blobs, and implies it is uncompressed itself',
      withCache((cache) => {
        for (let i = 0; i < 2; i++) {
          // Recording the same facts twice changes nothing.
          cache.recordDigestUncompressedPair(A, U);
          cache.recordDigestUncompressedPair(B, U);
          assert.equal(cache.uncompressedDigest(A), expect(U, undefined));
          assert.equal(cache.uncompressedDigest(B), expect(U, undefined));
          assert.equal(cache.uncompressedDigest(U), expect(U, undefined));
        }
      }),
    );

    test(
      'maps a digest recorded as its own uncompressed digest to itself',
      withCache((cache) => {
        cache.recordDigestUncompressedPair(CU, CU);
        assert.equal(cache.uncompressedDigest(CU), expect(CU, undefined));
      }),
    );

    test(
      'treats a digest recorded with the uncompressed compressor as its own uncompressed digest',
      withCache((cache) => {
        cache.recordDigestCompressorName(CU, 'uncompressed');
        assert.equal(cache.uncompressedDigest(CU), expect(CU, undefined));
      }),
    );

    test(
      'replaces an uncompressed digest recorded again with a different value',
      withCache((cache) => {
        cache.recordDigestUncompressedPair(A, CU);
        cache.recordDigestUncompressedPair(A, U);
        assert.equal(cache.uncompressedDigest(A), expect(U, undefined));
        // CU is no longer anyone's uncompressed digest.
        assert.equal(cache.uncompressedDigest(CU), undefined);
      }),
    );

    test(
      'returns only the exact digest, newest location first, when substitution is not allowed',
      withCache((cache, clock) => {
        recordFamily(cache);
        recordTwoLocationsEach(cache, clock, 'reg');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: false })),
          expect(['A@A1', 'A@A2'], []),
        );
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', U, { canSubstitute: false })),
          expect(['U@U1', 'U@U2'], []),
        );
      }),
    );

    test(
      'reports each location with its last-seen time and the compressor of its digest',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        const seen = clock.tick();
        cache.recordKnownLocation(T, 'reg', A, 'lib/app');
        assert.deepEqual(
          cache.candidateLocations(T, 'reg', A, { canSubstitute: false }),
          expect([{ digest: A, compressorName: 'gzip', location: 'lib/app', lastSeen: new Date(seen) }], []),
        );
      }),
    );

    test(
      'moves a location seen again to the front',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        for (const loc of ['one', 'two', 'three', 'one']) {
          clock.tick();
          cache.recordKnownLocation(T, 'reg', A, loc);
        }
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: false })),
          expect(['A@one', 'A@three', 'A@two'], []),
        );
      }),
    );

    test(
      'keeps locations of different transports and scopes apart',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        clock.tick();
        cache.recordKnownLocation(T, 'reg-a', A, 'in-a');
        clock.tick();
        cache.recordKnownLocation(T, 'reg-b', A, 'in-b');
        clock.tick();
        cache.recordKnownLocation('oci', 'reg-a', A, 'in-oci');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg-a', A, { canSubstitute: true })),
          expect(['A@in-a'], []),
        );
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg-b', A, { canSubstitute: true })),
          expect(['A@in-b'], []),
        );
        assert.deepEqual(
          short(cache.candidateLocations('oci', 'reg-a', A, { canSubstitute: true })),
          expect(['A@in-oci'], []),
        );
      }),
    );

    test(
      'offers the primary digest first, then other compressions by recency, the uncompressed digest last',
      withCache((cache, clock) => {
        recordFamily(cache);
        for (const scope of ['s1', 's2']) {
          recordTwoLocationsEach(cache, clock, scope);
          assert.deepEqual(
            short(cache.candidateLocations(T, scope, A, { canSubstitute: true })),
            expect(['A@A1', 'A@A2', 'B@B1', 'B@B2', 'U@U1'], []),
          );
          assert.deepEqual(
            short(cache.candidateLocations(T, scope, B, { canSubstitute: true })),
            expect(['B@B1', 'B@B2', 'A@A1', 'A@A2', 'U@U1'], []),
          );
          // From the uncompressed digest: its own locations, then A and B interleaved by time (B1 is newer than A1).
          assert.deepEqual(
            short(cache.candidateLocations(T, scope, U, { canSubstitute: true })),
            expect(['U@U1', 'U@U2', 'B@B1', 'A@A1', 'B@B2'], []),
          );
          // Known locations, but no relationship: no substitutes.
          cache.recordDigestCompressorName(CU, 'gzip');
          assert.deepEqual(
            short(cache.candidateLocations(T, scope, CU, { canSubstitute: true })),
            expect(['CU@CU1', 'CU@CU2'], []),
          );
        }
      }),
    );

    test(
      'keeps the uncompressed digest last even when it was seen most recently',
      withCache((cache, clock) => {
        recordFamily(cache);
        clock.tick();
        cache.recordKnownLocation(T, 'reg', B, 'b');
        clock.tick();
        cache.recordKnownLocation(T, 'reg', A, 'a');
        clock.tick();
        cache.recordKnownLocation(T, 'reg', U, 'u');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: true })),
          expect(['A@a', 'B@b', 'U@u'], []),
        );
      }),
    );

    test(
      'orders substitutes seen at the same time by digest',
      withCache((cache) => {
        for (const d of [D, B, C]) {
          cache.recordDigestUncompressedPair(d, U);
          cache.recordDigestCompressorName(d, 'gzip');
          cache.recordKnownLocation(T, 'reg', d, 'same'); // the fake clock does not move
        }
        cache.recordDigestCompressorName(A, 'gzip');
        cache.recordDigestUncompressedPair(A, U);
        cache.recordKnownLocation(T, 'reg', A, 'a');
        const got = cache.candidateLocations(T, 'reg', A, { canSubstitute: true }).map((c) => c.digest);
        // U (implied uncompressed, no location) follows as the one unknown-location candidate that fits.
        assert.deepEqual(got, expect([A, B, C, D, U], []));
      }),
    );

    test(
      'drops substitutes of unknown compression but keeps the primary digest',
      withCache((cache, clock) => {
        recordFamily(cache);
        recordTwoLocationsEach(cache, clock, 'reg');
        cache.recordDigestCompressorName(B, 'unknown'); // forgets B's compressor
        const got = cache.candidateLocations(T, 'reg', A, { canSubstitute: true });
        assert.deepEqual(short(got), expect(['A@A1', 'A@A2', 'U@U1', 'U@U2'], []));
        cache.recordDigestCompressorName(A, 'unknown');
        const primaryUnknown = cache.candidateLocations(T, 'reg', A, { canSubstitute: true });
        assert.deepEqual(short(primaryUnknown), expect(['A@A1', 'A@A2', 'U@U1', 'U@U2'], []));
        assert.deepEqual(
          primaryUnknown.map((c) => c.compressorName),
          expect(['unknown', 'unknown', 'uncompressed', 'uncompressed'], []),
        );
      }),
    );

    test(
      'drops a primary digest of unknown compression when a compression is required',
      withCache((cache, clock) => {
        clock.tick();
        cache.recordKnownLocation(T, 'reg', CU, 'somewhere');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', CU, { canSubstitute: false })),
          expect(['CU@somewhere'], []),
        );
        assert.deepEqual(
          cache.candidateLocations(T, 'reg', CU, { canSubstitute: false, requiredCompression: 'gzip' }),
          [],
        );
      }),
    );

    test(
      'offers only candidates of the required compression, never uncompressed ones',
      withCache((cache, clock) => {
        recordFamily(cache);
        recordTwoLocationsEach(cache, clock, 'reg');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', U, { canSubstitute: true, requiredCompression: 'gzip' })),
          expect(['A@A1', 'A@A2'], []),
        );
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: true, requiredCompression: 'zstd' })),
          expect(['B@B1', 'B@B2'], []),
        );
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', U, { canSubstitute: true })).slice(0, 2),
          expect(['U@U1', 'U@U2'], []),
        );
      }),
    );

    test(
      'offers zstd candidates only when one of the possible manifest formats can express zstd',
      withCache((cache, clock) => {
        recordFamily(cache);
        recordTwoLocationsEach(cache, clock, 'reg');
        const docker = cache.candidateLocations(T, 'reg', A, {
          canSubstitute: true,
          possibleManifestFormats: [MediaType.DOCKER_V2_SCHEMA2],
        });
        assert.deepEqual(short(docker), expect(['A@A1', 'A@A2', 'U@U1', 'U@U2'], []));
        const either = cache.candidateLocations(T, 'reg', A, {
          canSubstitute: true,
          possibleManifestFormats: [MediaType.DOCKER_V2_SCHEMA2, MediaType.OCI_MANIFEST],
        });
        assert.deepEqual(short(either), expect(['A@A1', 'A@A2', 'B@B1', 'B@B2', 'U@U1'], []));
        const zstdPrimary = cache.candidateLocations(T, 'reg', B, {
          canSubstitute: false,
          possibleManifestFormats: [MediaType.DOCKER_V2_SCHEMA2],
        });
        assert.deepEqual(zstdPrimary, []);
      }),
    );

    test(
      'offers a digest of known compression without a location as an unknown-location candidate',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        assert.deepEqual(
          cache.candidateLocations(T, 'reg', A, { canSubstitute: true }),
          expect([{ digest: A, compressorName: 'gzip' }], []),
        );
        clock.tick();
        cache.recordKnownLocation(T, 'reg', A, 'there');
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: true })),
          expect(['A@there'], []),
        );
        // In another scope the location is not known.
        assert.deepEqual(short(cache.candidateLocations(T, 'other', A, { canSubstitute: true })), expect(['A@?'], []));
      }),
    );

    test(
      'offers at most five candidates with known locations',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        for (let i = 0; i < 8; i++) {
          clock.tick();
          cache.recordKnownLocation(T, 'reg', A, `r${i}`);
        }
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', A, { canSubstitute: false })),
          expect(['A@r7', 'A@r6', 'A@r5', 'A@r4', 'A@r3'], []),
        );
      }),
    );

    test(
      'adds at most two unknown-location candidates after the known ones, five in all',
      withCache((cache, clock) => {
        // Primary A with `known` locations; substitutes S0..S3 (gzip, no location).
        const subs = ['a', 'b', 'c', 'd'].map(digestOfChar);
        for (const d of [A, ...subs]) {
          cache.recordDigestUncompressedPair(d, U);
          cache.recordDigestCompressorName(d, 'gzip');
        }
        const counts = (): [number, number] => {
          const got = cache.candidateLocations(T, 'reg', A, { canSubstitute: true, requiredCompression: 'gzip' });
          const known = got.filter((c) => c.location !== undefined).length;
          // Known locations always come before unknown ones.
          assert.ok(got.slice(0, known).every((c) => c.location !== undefined));
          return [known, got.length - known];
        };
        assert.deepEqual(counts(), expect([0, 2], [0, 0]));
        for (let i = 1; i <= 5; i++) {
          clock.tick();
          cache.recordKnownLocation(T, 'reg', A, `r${i}`);
          const room = Math.min(2, 5 - i);
          assert.deepEqual(counts(), expect([i, room], [0, 0]), `with ${i} known locations`);
        }
      }),
    );

    test(
      'orders unknown-location candidates with the primary first, then substitutes by digest',
      withCache((cache) => {
        for (const d of [C, B]) {
          cache.recordDigestUncompressedPair(d, U);
          cache.recordDigestCompressorName(d, 'gzip');
        }
        cache.recordDigestCompressorName(U, 'uncompressed');
        // The primary is U: its own unknown-location candidate first, then B before C.
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', U, { canSubstitute: true })),
          expect(['U@?', 'B@?'], []),
        );
        cache.recordDigestCompressorName(A, 'gzip');
        cache.recordDigestUncompressedPair(A, U);
        assert.deepEqual(
          short(cache.candidateLocations(T, 'reg', C, { canSubstitute: true })),
          expect(['C@?', 'A@?'], []),
        );
      }),
    );

    test(
      'can be closed twice, and records and returns nothing once closed',
      withCache((cache, clock) => {
        cache.recordDigestCompressorName(A, 'gzip');
        cache.close();
        cache.close();
        cache.recordDigestUncompressedPair(A, U);
        clock.tick();
        cache.recordKnownLocation(T, 'reg', A, 'x');
        assert.equal(cache.uncompressedDigest(A), undefined);
        assert.deepEqual(cache.candidateLocations(T, 'reg', A, { canSubstitute: true }), []);
      }),
    );

    test(
      `reports its kind as ${target.name}`,
      withCache((cache) => {
        assert.equal(cache.kind, target.name);
      }),
    );
  });
}
