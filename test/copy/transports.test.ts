/** copyImage between real on-disk transports (oci, dir, docker-archive) in temp dirs. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'zstd-napi';
import { copyImage } from '../../src/copy/index.js';
import type { ProgressEvent } from '../../src/copy/types.js';
import { isFerryError } from '../../src/errors.js';
import { dirTransport } from '../../src/transports/dir/index.js';
import { dockerArchiveTransport } from '../../src/transports/docker-archive/index.js';
import { ociTransport } from '../../src/transports/oci-layout/index.js';
import type { ImageReference } from '../../src/transports/types.js';
import { blobPath, type MadeImage, makeImage } from '../helpers/make-image.js';
import { makeTempDir } from '../helpers/tmp.js';
import { rm } from 'node:fs/promises';

const V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ZSTD_LAYER = 'application/vnd.oci.image.layer.v1.tar+zstd';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';

const oci = (dir: string, tag = 'latest'): ImageReference => ociTransport.parseReference(`${dir}:${tag}`);
const dir = (p: string): ImageReference => dirTransport.parseReference(p);

interface Manifest {
  mediaType?: string;
  config: { digest: string; mediaType: string };
  layers: { digest: string; mediaType: string; size: number }[];
}
interface Index {
  manifests: { digest: string; platform?: { os: string; architecture: string } }[];
}

const parse = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;

/** Every file under `root` with a hash of its content, for "nothing changed" checks. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else
        out.set(
          path.relative(root, p),
          createHash('sha256')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  }
  await walk(root);
  return out;
}

/**
 * A failed copy into a shared layout keeps what was there byte for byte and adds no image; blobs it
 * finished may stay (as upstream: blobs only go through an explicit delete), each complete.
 */
async function assertNoImageAdded(root: string, before: Map<string, string>): Promise<void> {
  const after = await snapshot(root);
  for (const [file, hash] of before) assert.equal(after.get(file), hash, `${file} changed`);
  for (const [file, hash] of after) {
    if (before.has(file)) continue;
    assert.match(file, /^blobs\/sha256\/[0-9a-f]{64}$/, `${file} left behind`);
    assert.equal(hash, path.basename(file), `${file} is not a complete blob`);
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe('copyImage between on-disk transports', () => {
  let tmp: string;
  let srcLayout: string;
  let single: MadeImage;
  let multi: MadeImage;
  const platforms = ['linux/amd64', 'linux/arm64', 'linux/s390x'];

  before(async () => {
    tmp = await makeTempDir('ferry-copy-');
    srcLayout = path.join(tmp, 'src');
    single = await makeImage(srcLayout, { tag: 'single', layers: 2, layerSize: 40000 });
    multi = await makeImage(srcLayout, { tag: 'multi', platforms, layers: 1, layerSize: 20000, seed: 2 });
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it('copies oci → oci with the same manifest digest', async () => {
    const dst = path.join(tmp, 'oci-oci');
    const result = await copyImage(oci(srcLayout, 'single'), oci(dst));
    assert.equal(result.manifestDigest, single.digest);
    assert.equal(result.manifestMIMEType, OCI_MANIFEST);
    const index = parse<Index>(await readFile(path.join(dst, 'index.json')));
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [single.digest],
    );
    for (const l of single.instances[0]?.layers ?? []) assert.ok(await exists(blobPath(dst, l.digest)));
  });

  it('copies oci → dir → oci and keeps the digest', async () => {
    const middle = path.join(tmp, 'round-dir');
    const back = path.join(tmp, 'round-oci');
    const first = await copyImage(oci(srcLayout, 'single'), dir(middle));
    assert.equal(first.manifestDigest, single.digest);
    assert.deepEqual(await readFile(path.join(middle, 'manifest.json')), single.bytes);
    const second = await copyImage(dir(middle), oci(back, 'again'));
    assert.equal(second.manifestDigest, single.digest);
    assert.deepEqual(second.manifest, single.bytes);
  });

  it('copies oci → docker-archive with decompressed layers and the config unchanged', async () => {
    const archive = path.join(tmp, 'image.tar');
    const result = await copyImage(
      oci(srcLayout, 'single'),
      dockerArchiveTransport.parseReference(`${archive}:example.com/app:1`),
    );
    const instance = single.instances[0];
    assert.ok(instance);
    assert.equal(result.manifestMIMEType, V2S2);
    assert.notEqual(result.manifestDigest, single.digest);
    const m = parse<Manifest>(result.manifest);
    assert.equal(m.config.digest, instance.config.digest);
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      instance.layers.map((l) => l.diffID),
    );
    assert.ok(m.layers.every((l) => l.mediaType === DOCKER_LAYER));
    assert.ok((await stat(archive)).size > 40000);
  });

  it('copies every instance with --all and keeps the index bytes', async () => {
    const dst = path.join(tmp, 'all');
    const result = await copyImage(oci(srcLayout, 'multi'), oci(dst), { imageListSelection: 'all' });
    assert.equal(result.manifestMIMEType, OCI_INDEX);
    assert.equal(result.manifestDigest, multi.digest);
    assert.deepEqual(result.manifest, multi.bytes);
    for (const inst of multi.instances) {
      assert.ok(await exists(blobPath(dst, inst.digest)));
      for (const l of inst.layers) assert.ok(await exists(blobPath(dst, l.digest)));
    }
  });

  it('picks the instance for an os/architecture override with system selection', async () => {
    const dst = path.join(tmp, 'system');
    const result = await copyImage(oci(srcLayout, 'multi'), oci(dst), {
      sourceOptions: { os: 'linux', architecture: 'arm64' },
    });
    const arm = multi.instances.find((i) => i.platform.architecture === 'arm64');
    assert.ok(arm);
    assert.equal(result.manifestDigest, arm.digest);
    assert.equal(result.manifestMIMEType, OCI_MANIFEST);
    const other = multi.instances.find((i) => i.platform.architecture === 'amd64');
    assert.ok(other);
    assert.equal(await exists(blobPath(dst, other.layers[0]?.digest ?? '')), false);
  });

  it('writes a sparse index when copying 2 of 3 instances', async () => {
    const dst = path.join(tmp, 'sparse');
    const result = await copyImage(oci(srcLayout, 'multi'), oci(dst), {
      imageListSelection: {
        platforms: [
          { os: 'linux', architecture: 'amd64' },
          { os: 'linux', architecture: 's390x' },
        ],
      },
    });
    const index = parse<Index>(result.manifest);
    assert.deepEqual(
      index.manifests.map((m) => m.platform?.architecture),
      ['amd64', 's390x'],
    );
    assert.notEqual(result.manifestDigest, multi.digest);
    const arm = multi.instances.find((i) => i.platform.architecture === 'arm64');
    assert.ok(arm);
    assert.equal(await exists(blobPath(dst, arm.digest)), false);
    assert.ok(await exists(blobPath(dst, result.manifestDigest)));
  });

  it('refuses a format change when preserveDigests is set', async () => {
    const archive = path.join(tmp, 'preserve.tar');
    await assert.rejects(
      copyImage(oci(srcLayout, 'single'), dockerArchiveTransport.parseReference(`${archive}:example.com/app:1`), {
        preserveDigests: true,
      }),
      (e: unknown) => isFerryError(e, 'PRESERVE_DIGESTS_VIOLATED') && /preserveDigests/.test(e.message),
    );
    assert.equal(await exists(archive), false);
  });

  it('converts OCI to schema2 when forced, keeping the config bytes', async () => {
    const dst = path.join(tmp, 'forced-v2s2');
    const result = await copyImage(oci(srcLayout, 'single'), dir(dst), { forceManifestMIMEType: V2S2 });
    const instance = single.instances[0];
    assert.ok(instance);
    assert.equal(result.manifestMIMEType, V2S2);
    const m = parse<Manifest>(result.manifest);
    assert.equal(m.mediaType, V2S2);
    assert.equal(m.config.digest, instance.config.digest);
    assert.deepEqual(await readFile(path.join(dst, instance.config.digest.slice(7))), instance.config.bytes);
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      instance.layers.map((l) => l.digest),
    );
  });

  it('recompresses gzip layers to zstd with the matching media type and the same content', async () => {
    const dst = path.join(tmp, 'zstd');
    const result = await copyImage(oci(srcLayout, 'single'), oci(dst), {
      destinationCompression: { algorithm: 'zstd' },
    });
    const instance = single.instances[0];
    assert.ok(instance);
    const m = parse<Manifest>(result.manifest);
    assert.notEqual(result.manifestDigest, single.digest);
    assert.equal(m.config.digest, instance.config.digest);
    for (const [i, l] of m.layers.entries()) {
      const src = instance.layers[i];
      assert.ok(src);
      assert.equal(l.mediaType, ZSTD_LAYER);
      assert.notEqual(l.digest, src.digest);
      const stored = await readFile(blobPath(dst, l.digest));
      assert.equal(stored.length, l.size);
      assert.deepEqual(zstdDecompress(stored), gunzipSync(await readFile(blobPath(srcLayout, src.digest))));
    }
  });

  it('fails with DIGEST_MISMATCH on a corrupted source blob and adds no image to the destination', async () => {
    const corruptSrc = path.join(tmp, 'corrupt-src');
    const made = await makeImage(corruptSrc, { layers: 2, layerSize: 30000, seed: 7 });
    const layer = made.instances[0]?.layers[1];
    assert.ok(layer);
    const file = blobPath(corruptSrc, layer.digest);
    const bytes = await readFile(file);
    bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const dst = path.join(tmp, 'corrupt-dst');
    await makeImage(dst, { tag: 'existing', layers: 1, layerSize: 1000, seed: 9 });
    const before = await snapshot(dst);
    await assert.rejects(copyImage(oci(corruptSrc), oci(dst, 'new')), (e: unknown) =>
      isFerryError(e, 'DIGEST_MISMATCH'),
    );
    await assertNoImageAdded(dst, before);
  });

  it('stops with ABORTED when aborted mid-copy and adds no image to the destination', async () => {
    const bigSrc = path.join(tmp, 'big-src');
    await makeImage(bigSrc, { layers: 3, layerSize: 3 * 1024 * 1024, entropy: 1, seed: 11 });
    const dst = path.join(tmp, 'abort-dst');
    await makeImage(dst, { tag: 'existing', layers: 1, layerSize: 1000, seed: 12 });
    const before = await snapshot(dst);
    const controller = new AbortController();
    await assert.rejects(
      copyImage(oci(bigSrc), oci(dst, 'new'), {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.kind === 'blob-bytes') controller.abort();
        },
      }),
      (e: unknown) => isFerryError(e, 'ABORTED'),
    );
    await assertNoImageAdded(dst, before);
  });

  it('reports progress: started, throttled bytes, done and manifest writing', async () => {
    const dst = path.join(tmp, 'progress');
    const events: { at: number; event: ProgressEvent }[] = [];
    await copyImage(oci(srcLayout, 'single'), dir(dst), {
      onProgress: (event) => events.push({ at: Date.now(), event }),
    });
    const instance = single.instances[0];
    assert.ok(instance);
    const kinds = new Set(events.map((e) => e.event.kind));
    for (const k of ['blob-started', 'blob-bytes', 'blob-done', 'manifest-writing'] as const)
      assert.ok(kinds.has(k), k);
    for (const l of instance.layers) {
      const bytes = events.flatMap((e) =>
        e.event.kind === 'blob-bytes' && e.event.blob.digest === l.digest ? [e] : [],
      );
      assert.ok(bytes.length >= 1);
      const last = bytes[bytes.length - 1]?.event;
      assert.ok(last?.kind === 'blob-bytes' && last.bytes === l.size && last.total === l.size);
      const span = Math.max(1, (bytes[bytes.length - 1]?.at ?? 0) - (bytes[0]?.at ?? 0));
      assert.ok(bytes.length <= 2 + span / 90, `${bytes.length} byte events in ${span} ms`);
      assert.ok(events.some((e) => e.event.kind === 'blob-done' && e.event.blob.digest === l.digest));
    }
    assert.ok(events.some((e) => e.event.kind === 'blob-done' && e.event.isConfig));
  });
});
