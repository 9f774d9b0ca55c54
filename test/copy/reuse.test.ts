/** Blob reuse in the copy engine (memory transport): substitution rules, cache wiring and what a copy records. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { MemoryBlobInfoCache } from '../../src/blobinfocache/index.js';
import { copyImage } from '../../src/copy/index.js';
import type { ProgressEvent } from '../../src/copy/types.js';
import { type MemoryBehaviour, MemoryTransport } from './memory-transport.js';
import { OCI_MANIFEST, sha256, singleImage } from './memory-image.js';

const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

function setup(): { t: MemoryTransport; ref: (name: string) => ReturnType<MemoryTransport['parseReference']> } {
  const t = new MemoryTransport();
  return { t, ref: (name) => t.parseReference(name) };
}

/** A source image, and a destination that offers a zstd copy of the first layer as its substitute. */
async function withZstdSubstitute(capabilities?: MemoryBehaviour['capabilities']) {
  const { t, ref } = setup();
  const { image, built } = await singleImage();
  t.images.set('src', image);
  const first = built.layers[0];
  assert.ok(first);
  const zstd = zstdCompress(first.tar);
  const blob = { digest: sha256(zstd), size: zstd.length, compression: 'zstd' as const };
  t.behaviour.set('dst', {
    ...(capabilities === undefined ? {} : { capabilities }),
    substitutes: new Map([[first.digest, { blob, bytes: zstd }]]),
  });
  return { t, ref, image, built, first, zstd };
}

interface ManifestJSON {
  layers: { mediaType: string; digest: string; size: number }[];
}

describe('blob reuse in the copy engine', () => {
  it('offers substitutes for layers (for the planned manifest type) but never for the config', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    await copyImage(ref('src'), ref('dst'), { blobInfoCache: 'memory' });
    const layerCalls = t.reuseCalls.filter((c) => built.layers.some((l) => l.digest === c.digest));
    assert.equal(layerCalls.length, built.layers.length);
    for (const c of layerCalls) {
      assert.equal(c.options.canSubstitute, true);
      assert.equal(c.options.hasCache, true);
      assert.deepEqual(c.options.possibleManifestFormats, [OCI_MANIFEST]);
      assert.equal(c.options.requiredCompression, undefined);
    }
    const configCall = t.reuseCalls.find((c) => c.digest === sha256(built.config));
    assert.ok(configCall);
    assert.notEqual(configCall.options.canSubstitute, true);
  });

  it('does not allow substitution when preserveDigests is set', async () => {
    const { t, ref, built, first } = await withZstdSubstitute();
    const result = await copyImage(ref('src'), ref('dst'), { preserveDigests: true, blobInfoCache: 'memory' });
    assert.equal(result.manifestDigest, built.digest);
    const calls = t.reuseCalls.filter((c) => c.digest === first.digest);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.options.canSubstitute, false);
    assert.ok(t.images.get('dst')?.blobs.has(first.digest));
  });

  it('writes a substitute into the manifest with its digest, size and media type', async () => {
    const { t, ref, built, first, zstd } = await withZstdSubstitute();
    const events: ProgressEvent[] = [];
    const result = await copyImage(ref('src'), ref('dst'), {
      blobInfoCache: 'memory',
      onProgress: (e) => events.push(e),
    });
    assert.notEqual(result.manifestDigest, built.digest);
    const m = JSON.parse(result.manifest.toString()) as ManifestJSON;
    assert.deepEqual(m.layers[0], { mediaType: OCI_LAYER_ZSTD, digest: sha256(zstd), size: zstd.length });
    assert.equal(m.layers[1]?.digest, built.layers[1]?.digest);
    // The substituted layer was never read from the source.
    assert.equal(t.reads.get('src')?.includes(first.digest), false);
    assert.ok(events.some((e) => e.kind === 'blob-skipped' && e.blob.digest === first.digest));
  });

  it('passes an open cache to the transports and leaves it open', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    t.images.set('src', image);
    const cache = new MemoryBlobInfoCache();
    await copyImage(ref('src'), ref('dst'), { blobInfoCache: cache });
    assert.ok(t.reuseCalls.every((c) => c.options.hasCache));
    // Still usable: a closed cache would forget this.
    cache.recordDigestCompressorName(sha256(Buffer.from('x')), 'gzip');
    assert.equal(
      cache.candidateLocations('t', 's', sha256(Buffer.from('x')), { canSubstitute: false })[0]?.compressorName,
      'gzip',
    );
  });

  it('records the compressor of each layer it read and, on recompression, the uncompressed pairs', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { desiredLayerCompression: 'compress' } });
    const cache = new MemoryBlobInfoCache();
    const result = await copyImage(ref('src'), ref('dst'), {
      blobInfoCache: cache,
      destinationCompression: { algorithm: 'zstd' },
    });
    const m = JSON.parse(result.manifest.toString()) as ManifestJSON;
    for (const [i, l] of built.layers.entries()) {
      const written = m.layers[i];
      assert.ok(written);
      assert.equal(written.mediaType, OCI_LAYER_ZSTD);
      const diffID = sha256(l.tar);
      assert.equal(cache.uncompressedDigest(l.digest), diffID);
      assert.equal(cache.uncompressedDigest(written.digest as `sha256:${string}`), diffID);
      const options = { canSubstitute: true, requiredCompression: 'zstd' as const };
      const candidates = cache.candidateLocations('memory', 'x', l.digest, options);
      // No location is known (the memory transport records none), but the zstd blob is a known substitute.
      assert.deepEqual(
        candidates.map((c) => [c.digest, c.compressorName]),
        [[written.digest, 'zstd']],
      );
    }
  });

  it('asks for the planned compression when a layer must be recompressed and the cache knows a substitute', async () => {
    const { t, ref, image, built, first, zstd } = await withZstdSubstitute({ desiredLayerCompression: 'compress' });
    const cache = new MemoryBlobInfoCache();
    cache.recordDigestUncompressedPair(first.digest, sha256(first.tar));
    cache.recordDigestUncompressedPair(sha256(zstd), sha256(first.tar));
    cache.recordDigestCompressorName(sha256(zstd), 'zstd');
    const result = await copyImage(ref('src'), ref('dst'), {
      blobInfoCache: cache,
      destinationCompression: { algorithm: 'zstd' },
    });
    const call = t.reuseCalls.find((c) => c.digest === first.digest);
    assert.equal(call?.options.requiredCompression, 'zstd');
    assert.equal(call?.options.canSubstitute, true);
    // The second layer's uncompressed digest is unknown: no reuse is attempted, it is recompressed.
    assert.equal(
      t.reuseCalls.some((c) => c.digest === built.layers[1]?.digest),
      false,
    );
    const m = JSON.parse(result.manifest.toString()) as ManifestJSON;
    assert.equal(m.layers[0]?.digest, sha256(zstd));
    assert.equal(t.reads.get('src')?.includes(first.digest), false);
    assert.deepEqual(gunzipSync(image.blobs.get(first.digest) ?? Buffer.alloc(0)), first.tar);
  });
});
