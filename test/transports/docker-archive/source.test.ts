import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { createGzip, gzipSync } from 'node:zlib';
import { CompressStream } from 'zstd-napi';
import type { Digest } from '../../../src/digest/digest.js';
import { digestStream } from '../../../src/digest/verify.js';
import { isFerryError } from '../../../src/errors.js';
import { listArchiveTags, parseDockerArchiveReference } from '../../../src/transports/docker-archive/index.js';
import type { ImageOptions } from '../../../src/transports/types.js';
import { type MadeImage, makeImage } from '../../helpers/make-image.js';
import { run, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { rm } from 'node:fs/promises';
import { dockerArchive, layerTar, sha256, writeTar } from './fixtures.js';

interface Schema2 {
  mediaType: string;
  config: { mediaType: string; size: number; digest: string };
  layers: { mediaType: string; size: number; digest: string }[];
}

async function readImage(within: string, options: ImageOptions = {}) {
  const src = await parseDockerArchiveReference(within).newImageSource(options);
  try {
    const { bytes, mimeType } = await src.getManifest();
    const manifest = JSON.parse(bytes.toString()) as Schema2;
    const config = await src.getBlob({ digest: manifest.config.digest as Digest, size: manifest.config.size });
    const configBytes = (await config.stream.toArray()).map((c) => c as Buffer);
    const layers = [];
    for (const l of manifest.layers) {
      const blob = await src.getBlob({ digest: l.digest as Digest, size: l.size });
      const { digest } = await digestStream(blob.stream);
      layers.push({ digest, size: blob.size });
    }
    return { mimeType, manifest, config: Buffer.concat(configBytes), layers };
  } finally {
    await src.close();
  }
}

describe('docker-archive source', () => {
  let dir: string;
  let made: MadeImage;
  let archive: string;

  before(async () => {
    dir = await makeTempDir('ferry-docker-archive-src-');
    made = await makeImage(join(dir, 'layout'), { tag: 't', layers: 2, layerSize: 30000 });
    archive = join(dir, 'skopeo.tar');
    const r = await runSkopeo(['copy', '-q', `oci:${join(dir, 'layout')}:t`, `docker-archive:${archive}:img:t`]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('reads an archive written by skopeo: the synthesised manifest lists the config diff_ids as layers', async () => {
    const instance = made.instances[0];
    assert.ok(instance);
    const img = await readImage(`${archive}:img:t`);
    assert.equal(img.mimeType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(img.manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(img.manifest.config.mediaType, 'application/vnd.docker.container.image.v1+json');
    assert.equal(img.manifest.config.digest, instance.config.digest);
    assert.deepEqual(img.config, instance.config.bytes);
    const diffIDs = instance.layers.map((l) => l.diffID);
    assert.deepEqual(
      img.manifest.layers.map((l) => l.digest),
      diffIDs,
    );
    // Labelled gzip as containers/image labels them, although they are served uncompressed.
    for (const l of img.manifest.layers) assert.equal(l.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    // Each layer streams back uncompressed: its digest is its diffID, its size the manifest's.
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      diffIDs,
    );
    assert.deepEqual(
      img.layers.map((l) => l.size),
      img.manifest.layers.map((l) => l.size),
    );
  });

  test('reads the only image when the reference names none, and by @0', async () => {
    const a = await readImage(archive);
    const b = await readImage(`${archive}:@0`);
    assert.deepEqual(a.manifest, b.manifest);
    assert.equal(a.manifest.layers.length, 2);
  });

  test('reads a gzip-compressed archive through a temp copy that is removed on close', async () => {
    const gz = join(dir, 'skopeo.tar.gz');
    await pipeline(createReadStream(archive), createGzip(), createWriteStream(gz));
    const tmpDir = await makeTempDir('ferry-docker-archive-tmp-');
    try {
      const plain = await readImage(archive);
      const img = await readImage(gz, { tmpDir });
      assert.deepEqual(img.manifest, plain.manifest);
      assert.deepEqual(img.layers, plain.layers);
      assert.deepEqual(await readdir(tmpDir), []);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  });

  test('reads a zstd-compressed archive', async () => {
    const zst = join(dir, 'skopeo.tar.zst');
    await pipeline(createReadStream(archive), new CompressStream(), createWriteStream(zst));
    const img = await readImage(zst);
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      made.instances[0]?.layers.map((l) => l.diffID),
    );
  });

  test('reads an archive from a non-seekable stream (a FIFO)', async () => {
    const fifo = join(dir, 'fifo');
    const r = await run('mkfifo', [fifo]);
    assert.equal(r.code, 0, r.stderr);
    const feeding = pipeline(createReadStream(archive), createWriteStream(fifo));
    const img = await readImage(`${fifo}:img:t`);
    await feeding;
    assert.deepEqual(
      img.layers.map((l) => l.digest),
      made.instances[0]?.layers.map((l) => l.diffID),
    );
  });

  test('fails with IMAGE_NOT_FOUND for a tag the archive does not hold', async () => {
    await assert.rejects(
      parseDockerArchiveReference(`${archive}:img:other`).newImageSource(),
      (e) => isFerryError(e, 'IMAGE_NOT_FOUND') && /img:other/.test(e.message),
    );
  });

  test('lists the tags skopeo recorded', async () => {
    assert.deepEqual(await listArchiveTags(archive), ['docker.io/library/img:t']);
  });
});

describe('docker-archive source with hand-made archives', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('ferry-docker-archive-hand-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function multiImageArchive(): Promise<{ path: string; layers: Buffer[][] }> {
    const layers = [[await layerTar({ a: 'one' })], [await layerTar({ b: 'two' }), await layerTar({ c: 'three' })]];
    const { members } = dockerArchive([
      { repoTags: ['first:1'], layers: layers[0] as Buffer[], label: 'first' },
      { repoTags: ['quay.io/org/second:2', 'second:latest'], layers: layers[1] as Buffer[], label: 'second' },
    ]);
    const path = join(dir, 'multi.tar');
    await writeTar(path, members);
    return { path, layers };
  }

  test('selects an image of a multi-image archive by @N and by name:tag', async () => {
    const { path, layers } = await multiImageArchive();
    const byIndex = await readImage(`${path}:@1`);
    assert.deepEqual(
      byIndex.manifest.layers.map((l) => l.digest),
      layers[1]?.map((l) => sha256(l)),
    );
    assert.match(byIndex.config.toString(), /"image":"second"/);
    const byTag = await readImage(`${path}:quay.io/org/second:2`);
    assert.deepEqual(byTag.manifest, byIndex.manifest);
    const byShortName = await readImage(`${path}:second`);
    assert.deepEqual(byShortName.manifest, byIndex.manifest);
    const first = await readImage(`${path}:docker.io/library/first:1`);
    assert.deepEqual(
      first.layers.map((l) => l.digest),
      layers[0]?.map((l) => sha256(l)),
    );
  });

  test('refuses to guess in a multi-image archive: AMBIGUOUS_IMAGE without a selector', async () => {
    const { path } = await multiImageArchive();
    await assert.rejects(
      parseDockerArchiveReference(path).newImageSource(),
      (e) => isFerryError(e, 'AMBIGUOUS_IMAGE') && /more than one image/.test(e.message),
    );
  });

  test('fails with IMAGE_NOT_FOUND for a source index past the end', async () => {
    const { path } = await multiImageArchive();
    await assert.rejects(parseDockerArchiveReference(`${path}:@2`).newImageSource(), (e) =>
      isFerryError(e, 'IMAGE_NOT_FOUND'),
    );
  });

  test('lists every tag of a multi-image archive, and @N for an untagged image', async () => {
    const { members } = dockerArchive([
      { repoTags: ['a:1', 'a:2'], layers: [await layerTar({ x: '1' })], label: 'a' },
      { repoTags: [], layers: [await layerTar({ y: '2' })], label: 'b' },
    ]);
    const path = join(dir, 'tags.tar');
    await writeTar(path, members);
    assert.deepEqual(await listArchiveTags(path), ['a:1', 'a:2', '@1']);
  });

  test('serves a layer stored gzip-compressed in the archive decompressed, named by its diffID', async () => {
    const layer = await layerTar({ f: 'compressed inside' });
    const { members } = dockerArchive([
      { repoTags: ['z:1'], layers: [layer], storedLayers: [gzipSync(layer)], label: 'z' },
    ]);
    const path = join(dir, 'gzlayer.tar');
    await writeTar(path, members);
    const img = await readImage(path);
    assert.deepEqual(img.manifest.layers, [
      { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.length, digest: sha256(layer) },
    ]);
    assert.deepEqual(img.layers, [{ digest: sha256(layer), size: layer.length }]);
  });

  test('reads an image that uses the same layer twice', async () => {
    const layer = await layerTar({ same: 'same' });
    const { members } = dockerArchive([{ repoTags: ['d:1'], layers: [layer, layer], label: 'd' }]);
    const path = join(dir, 'dup.tar');
    await writeTar(path, members);
    const img = await readImage(path);
    assert.deepEqual(
      img.manifest.layers.map((l) => l.digest),
      [sha256(layer), sha256(layer)],
    );
  });

  test('refuses an archive whose layer count differs from the config rootfs.diff_ids', async () => {
    const layer = await layerTar({ f: 'x' });
    const { members } = dockerArchive([{ repoTags: ['c:1'], layers: [layer], label: 'c' }]);
    const manifest = members.find((m) => m.name === 'manifest.json');
    assert.ok(manifest);
    const items = JSON.parse(String(manifest.data)) as { Layers: string[] }[];
    (items[0] as { Layers: string[] }).Layers.push('extra.tar');
    manifest.data = JSON.stringify(items);
    const path = join(dir, 'count.tar');
    await writeTar(path, members);
    await assert.rejects(
      parseDockerArchiveReference(path).newImageSource(),
      (e) => isFerryError(e, 'INVALID_ARCHIVE') && /layer count/.test(e.message),
    );
  });

  test('fails with DIGEST_MISMATCH when a stored layer does not match its diff_id', async () => {
    const layer = await layerTar({ f: 'expected' });
    const other = await layerTar({ f: 'tampered' });
    const { members } = dockerArchive([{ repoTags: ['m:1'], layers: [layer], storedLayers: [other], label: 'm' }]);
    const path = join(dir, 'tampered.tar');
    await writeTar(path, members);
    const src = await parseDockerArchiveReference(path).newImageSource();
    try {
      const blob = await src.getBlob({ digest: sha256(layer) as Digest, size: -1 });
      await assert.rejects(digestStream(blob.stream), (e) => isFerryError(e, 'DIGEST_MISMATCH'));
    } finally {
      await src.close();
    }
  });

  test('refuses a file that is not a tar archive with INVALID_ARCHIVE', async () => {
    const path = join(dir, 'not-a-tar');
    await writeFile(path, 'x'.repeat(2000));
    await assert.rejects(parseDockerArchiveReference(path).newImageSource(), (e) => isFerryError(e, 'INVALID_ARCHIVE'));
    assert.equal((await readFile(path)).length, 2000);
  });
});
