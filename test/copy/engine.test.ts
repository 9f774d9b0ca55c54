/** Copy-engine behaviours checked with the in-memory transport (capabilities set per test). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { copyImage } from '../../src/copy/index.js';
import type { ProgressEvent } from '../../src/copy/types.js';
import { isFerryError } from '../../src/errors.js';
import {
  convertImageManifest,
  GZIPPED_EMPTY_LAYER,
  GZIPPED_EMPTY_LAYER_DIGEST,
  parseManifest,
} from '../../src/manifest/index.js';
import { emptyImage, MemoryTransport } from './memory-transport.js';
import { indexImage, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, sha256, singleImage } from './memory-image.js';

const V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

function setup(): { t: MemoryTransport; ref: (name: string) => ReturnType<MemoryTransport['parseReference']> } {
  const t = new MemoryTransport();
  return { t, ref: (name) => t.parseReference(name) };
}

describe('copy engine (memory transport)', () => {
  it('copies an image unchanged and reports the same digest', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    const result = await copyImage(ref('src'), ref('dst'));
    assert.equal(result.manifestDigest, built.digest);
    assert.deepEqual(result.manifest, built.manifest);
    const dst = t.images.get('dst');
    assert.ok(dst?.blobs.has(sha256(built.config)));
    for (const l of built.layers) assert.ok(dst?.blobs.has(l.digest));
  });

  it('falls back to the next manifest type when the destination rejects the first', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    t.behaviour.set('dst', { rejectManifestTypes: [OCI_MANIFEST] });
    const result = await copyImage(ref('src'), ref('dst'));
    assert.equal(result.manifestMIMEType, V2S2);
    const m = JSON.parse(result.manifest.toString()) as { config: { digest: string } };
    assert.equal(m.config.digest, sha256(built.config));
  });

  it('fails with MANIFEST_REJECTED when every candidate type is rejected and commits nothing', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    t.images.set('src', image);
    t.behaviour.set('dst', {
      capabilities: { supportedManifestMIMETypes: [OCI_MANIFEST] },
      rejectManifestTypes: [OCI_MANIFEST],
    });
    await assert.rejects(copyImage(ref('src'), ref('dst')), (e: unknown) => isFerryError(e, 'MANIFEST_REJECTED'));
    assert.equal(t.images.has('dst'), false);
  });

  it('copies up to maxParallelBlobs layers at once when both ends are thread-safe', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage('p', 6);
    t.images.set('src', image);
    t.behaviour.set('src', { chunkDelayMs: 2 });
    await copyImage(ref('src'), ref('dst'), { maxParallelBlobs: 3 });
    assert.equal(t.maxConcurrentReads.get('src'), 3);
  });

  it('copies one layer at a time when the source is not thread-safe', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage('s', 4);
    t.images.set('src', image);
    t.behaviour.set('src', { chunkDelayMs: 2, threadSafeGetBlob: false });
    await copyImage(ref('src'), ref('dst'));
    assert.equal(t.maxConcurrentReads.get('src'), 1);
  });

  it('skips layers the destination already has, without reading them', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    const dst = emptyImage();
    const first = built.layers[0];
    assert.ok(first);
    dst.blobs.set(first.digest, first.gz);
    t.images.set('dst', dst);
    const events: ProgressEvent[] = [];
    await copyImage(ref('src'), ref('dst'), { onProgress: (e) => events.push(e) });
    assert.ok(events.some((e) => e.kind === 'blob-skipped' && e.blob.digest === first.digest));
    assert.equal(t.reads.get('src')?.includes(first.digest), false);
  });

  it('decompresses layers for a destination that stores them uncompressed', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    t.behaviour.set('dst', {
      capabilities: { desiredLayerCompression: 'decompress', supportedCompressionAlgorithms: [] },
    });
    const result = await copyImage(ref('src'), ref('dst'));
    const m = JSON.parse(result.manifest.toString()) as {
      layers: { mediaType: string; digest: string }[];
      config: { digest: string };
    };
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      built.layers.map((l) => sha256(l.tar)),
    );
    assert.ok(m.layers.every((l) => l.mediaType === OCI_LAYER));
    assert.equal(m.config.digest, sha256(built.config));
    assert.notEqual(result.manifestDigest, built.digest);
  });

  it('copies signatures when the manifest is unchanged', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    image.signatures.set('top', [Buffer.from('sig-1')]);
    t.images.set('src', image);
    await copyImage(ref('src'), ref('dst'));
    assert.deepEqual(t.images.get('dst')?.signatures.get('top'), [Buffer.from('sig-1')]);
  });

  it('refuses to drop signatures silently when the destination cannot store them', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    image.signatures.set('top', [Buffer.from('sig-1')]);
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { supportsSignatures: false } });
    await assert.rejects(copyImage(ref('src'), ref('dst')), (e: unknown) => isFerryError(e, 'UNSUPPORTED_OPERATION'));
    await copyImage(ref('src'), ref('dst'), { removeSignatures: true });
    assert.equal(t.images.get('dst')?.signatures.size, 0);
  });

  it('refuses a format change that would invalidate signatures', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    image.signatures.set('top', [Buffer.from('sig-1')]);
    t.images.set('src', image);
    await assert.rejects(
      copyImage(ref('src'), ref('dst'), { forceManifestMIMEType: V2S2 }),
      (e: unknown) => isFerryError(e, 'PRESERVE_DIGESTS_VIOLATED') && /signatures/.test(e.message),
    );
  });

  it('refuses --all when the destination cannot hold several images', async () => {
    const { t, ref } = setup();
    const { image } = await indexImage([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { supportsMultipleImages: false } });
    await assert.rejects(
      copyImage(ref('src'), ref('dst'), { imageListSelection: 'all' }),
      (e: unknown) =>
        isFerryError(e, 'UNSUPPORTED_OPERATION') &&
        /does not support copying multiple images as a group/.test(e.message),
    );
  });

  it('writes only the index with index-only', async () => {
    const { t, ref } = setup();
    const { image, index } = await indexImage([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    t.images.set('src', image);
    const result = await copyImage(ref('src'), ref('dst'), { imageListSelection: 'index-only' });
    assert.deepEqual(result.manifest, index);
    assert.equal(result.manifestMIMEType, OCI_INDEX);
    const dst = t.images.get('dst');
    assert.equal(dst?.blobs.size, 0);
    assert.deepEqual([...(dst?.manifests.keys() ?? [])], ['top']);
  });

  it('converts an OCI index to a Docker list when forced to schema2', async () => {
    const { t, ref } = setup();
    const { image } = await indexImage([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ]);
    t.images.set('src', image);
    const result = await copyImage(ref('src'), ref('dst'), { imageListSelection: 'all', forceManifestMIMEType: V2S2 });
    assert.equal(result.manifestMIMEType, 'application/vnd.docker.distribution.manifest.list.v2+json');
    const list = JSON.parse(result.manifest.toString()) as { manifests: { digest: string; mediaType: string }[] };
    assert.ok(list.manifests.every((m) => m.mediaType === V2S2));
    for (const m of list.manifests) assert.equal(t.images.get('dst')?.manifests.get(m.digest)?.mimeType, V2S2);
  });

  it('stops with ABORTED and commits nothing when aborted mid-copy', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage('abort', 3);
    t.images.set('src', image);
    t.behaviour.set('src', { chunkDelayMs: 20 });
    const controller = new AbortController();
    const copying = copyImage(ref('src'), ref('dst'), {
      signal: controller.signal,
      onProgress: (e) => {
        if (e.kind === 'blob-started') setTimeout(() => controller.abort(), 10);
      },
    });
    await assert.rejects(copying, (e: unknown) => isFerryError(e, 'ABORTED'));
    assert.equal(t.images.has('dst'), false);
  });

  it('keeps the decompressed content when recompressing', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage();
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { desiredLayerCompression: 'compress' } });
    const result = await copyImage(ref('src'), ref('dst'), {
      destinationCompression: { algorithm: 'gzip', level: 1, force: true },
    });
    // gzip → gzip is not a change: the bytes stay as they are.
    assert.equal(result.manifestDigest, built.digest);
    const first = built.layers[0];
    assert.ok(first);
    assert.deepEqual(gunzipSync(t.images.get('dst')?.blobs.get(first.digest) ?? Buffer.alloc(0)), first.tar);
  });

  it('leaves a foreign layer at its URLs when the destination accepts foreign layers', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage('f', 2);
    const foreign = built.layers[1];
    assert.ok(foreign);
    const m = JSON.parse(built.manifest.toString()) as { layers: { mediaType: string; urls?: string[] }[] };
    const layer = m.layers[1];
    assert.ok(layer);
    layer.mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';
    layer.urls = ['https://example.com/layer'];
    const bytes = Buffer.from(JSON.stringify(m));
    image.manifests.set('top', { bytes, mimeType: OCI_MANIFEST });
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { acceptsForeignLayerURLs: true } });
    const result = await copyImage(ref('src'), ref('dst'));
    assert.deepEqual(result.manifest, bytes);
    assert.equal(t.reads.get('src')?.includes(foreign.digest), false);
    assert.equal(t.images.get('dst')?.blobs.has(foreign.digest), false);

    t.behaviour.set('dst2', { capabilities: { acceptsForeignLayerURLs: false } });
    const copied = await copyImage(ref('src'), ref('dst2'));
    const written = JSON.parse(copied.manifest.toString()) as { layers: { mediaType: string; urls?: string[] }[] };
    assert.equal(written.layers[1]?.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal(written.layers[1]?.urls, undefined);
    assert.ok(t.images.get('dst2')?.blobs.has(foreign.digest));
  });

  it('reports the first failing layer, not the stop of the others', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage('e', 4);
    const bad = built.layers[0];
    assert.ok(bad);
    const corrupted = Buffer.from(bad.gz);
    corrupted[10] = (corrupted[10] ?? 0) ^ 0xff;
    image.blobs.set(bad.digest, corrupted);
    t.images.set('src', image);
    t.behaviour.set('src', { chunkDelayMs: 5 });
    await assert.rejects(copyImage(ref('src'), ref('dst')), (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'));
    assert.equal(t.images.has('dst'), false);
  });

  it('converts a schema1 image to OCI, computing diffIDs in the same pass', async () => {
    const { t, ref } = setup();
    const { image, built } = await singleImage('s1', 2);
    const config = JSON.parse(built.config.toString()) as { history: { created_by: string; empty_layer?: boolean }[] };
    config.history.push({ created_by: 'ENV A=b', empty_layer: true });
    const configBytes = Buffer.from(JSON.stringify(config));
    const oci = parseManifest(built.manifest, OCI_MANIFEST);
    assert.equal(oci.kind, 'image');
    if (oci.kind !== 'image') return;
    const edited = oci.withUpdates({
      config: { digest: sha256(configBytes), size: configBytes.length, mediaType: OCI_CONFIG },
    });
    const s1 = convertImageManifest(edited, 'application/vnd.docker.distribution.manifest.v1+prettyjws', {
      config: configBytes,
    });
    image.blobs.set(GZIPPED_EMPTY_LAYER_DIGEST, GZIPPED_EMPTY_LAYER);
    image.manifests.set('top', { bytes: s1.manifest.bytes, mimeType: s1.manifest.mimeType });
    t.images.set('src', image);
    t.behaviour.set('dst', { capabilities: { supportedManifestMIMETypes: [OCI_MANIFEST] } });
    const result = await copyImage(ref('src'), ref('dst'));
    assert.equal(result.manifestMIMEType, OCI_MANIFEST);
    const m = JSON.parse(result.manifest.toString()) as { config: { digest: string }; layers: { digest: string }[] };
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      built.layers.map((l) => l.digest),
    );
    const written = t.images.get('dst')?.blobs.get(m.config.digest as `${string}:${string}`);
    assert.ok(written);
    const writtenConfig = JSON.parse(written.toString()) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(
      writtenConfig.rootfs.diff_ids,
      built.layers.map((l) => sha256(l.tar)),
    );
  });

  it('refuses a layer compression change when preserveDigests is set', async () => {
    const { t, ref } = setup();
    const { image } = await singleImage();
    t.images.set('src', image);
    await assert.rejects(
      copyImage(ref('src'), ref('dst'), { preserveDigests: true, destinationCompression: { decompress: true } }),
      (e: unknown) => isFerryError(e, 'PRESERVE_DIGESTS_VIOLATED') && /decompress/.test(e.message),
    );
    assert.equal(t.images.has('dst'), false);
  });
});
