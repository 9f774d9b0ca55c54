import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compressionMatches, prioritizeCandidates, type TimedCandidate } from '../../src/blobinfocache/prioritize.js';
import { MediaType } from '../../src/manifest/mediatypes.js';
import { digestOfChar } from './conformance.js';

const P = digestOfChar('1'); // primary
const U = digestOfChar('2'); // uncompressed
const S1 = digestOfChar('3');
const S2 = digestOfChar('4');

const at = (digest: typeof P, location: string | undefined, lastSeen?: number): TimedCandidate => ({
  digest,
  compressorName: 'gzip',
  ...(location === undefined ? {} : { location }),
  ...(lastSeen === undefined ? {} : { lastSeen }),
});

const order = (cs: { digest: string; location?: string }[]): string[] =>
  cs.map((c) => `${c.digest.slice(7, 8)}@${c.location ?? '?'}`);

describe('prioritizeCandidates', () => {
  test('puts the primary digest first even when it is the oldest, and the uncompressed digest last even when newest', () => {
    const got = prioritizeCandidates([at(U, 'u', 50), at(S1, 's1', 20), at(P, 'p', 1), at(S2, 's2', 30)], P, U);
    assert.deepEqual(order(got), ['1@p', '4@s2', '3@s1', '2@u']);
  });

  test('orders two locations of the primary by recency', () => {
    assert.deepEqual(order(prioritizeCandidates([at(P, 'old', 1), at(P, 'new', 2)], P, undefined)), ['1@new', '1@old']);
  });

  test('treats the uncompressed digest as the primary one when they are equal', () => {
    const got = prioritizeCandidates([at(S1, 's', 9), at(P, 'p', 1)], P, P);
    assert.deepEqual(order(got), ['1@p', '3@s']);
  });

  test('keeps five known-location candidates and no unknown ones when five are known', () => {
    const known = [1, 2, 3, 4, 5, 6].map((t) => at(S1, `k${t}`, t));
    const got = prioritizeCandidates([...known, at(S2, undefined), at(P, undefined)], P, U);
    assert.deepEqual(order(got), ['3@k6', '3@k5', '3@k4', '3@k3', '3@k2']);
  });

  test('fills the remaining room with at most two unknown-location candidates, the primary’s first', () => {
    const got = prioritizeCandidates([at(S1, 'k', 1), at(S2, undefined), at(U, undefined), at(P, undefined)], P, U);
    assert.deepEqual(order(got), ['3@k', '1@?', '4@?']);
  });
});

describe('compressionMatches', () => {
  test('accepts any compression when nothing is required and no format is named', () => {
    for (const name of ['gzip', 'zstd', 'uncompressed'] as const)
      assert.equal(compressionMatches(name, { canSubstitute: true }), true);
  });

  test('accepts only the required compression', () => {
    assert.equal(compressionMatches('gzip', { canSubstitute: true, requiredCompression: 'gzip' }), true);
    assert.equal(compressionMatches('zstd', { canSubstitute: true, requiredCompression: 'gzip' }), false);
    assert.equal(compressionMatches('uncompressed', { canSubstitute: true, requiredCompression: 'zstd' }), false);
  });

  test('accepts zstd only when an OCI manifest is a possible format', () => {
    assert.equal(
      compressionMatches('zstd', {
        canSubstitute: true,
        possibleManifestFormats: [MediaType.DOCKER_V2_SCHEMA2, MediaType.DOCKER_V2_SCHEMA1_SIGNED],
      }),
      false,
    );
    assert.equal(
      compressionMatches('zstd', { canSubstitute: true, possibleManifestFormats: [MediaType.OCI_MANIFEST] }),
      true,
    );
    assert.equal(compressionMatches('zstd', { canSubstitute: true, possibleManifestFormats: [] }), true);
    assert.equal(
      compressionMatches('gzip', { canSubstitute: true, possibleManifestFormats: [MediaType.DOCKER_V2_SCHEMA2] }),
      true,
    );
  });
});
