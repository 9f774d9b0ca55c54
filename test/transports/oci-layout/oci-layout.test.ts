import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { digestOf } from '../../../src/digest/digest.js';
import {
  addDescriptor,
  emptyIndex,
  type IndexFile,
  REF_NAME_ANNOTATION,
} from '../../../src/transports/oci-layout/layout.js';
import { type OciReference, ociTransport, parseOciReference } from '../../../src/transports/oci-layout/index.js';
import { blobPath, makeImage } from '../../helpers/make-image.js';
import { run } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';
import { copyImage, drainVerified, rejectsWith, skopeo } from './transport-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${relative(dir, p)}/`);
        await walk(p);
      } else out.push(`${relative(dir, p)} ${(await stat(p)).size}`);
    }
  }
  await walk(dir);
  return out.sort();
}

async function indexJSON(layout: string): Promise<IndexFile> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as IndexFile;
}

// --- references ---

test('parses PATH:REF with the path made absolute', () => {
  const ref = parseOciReference('rel/layout:app:v1.2');
  assert.equal(ref.dir, join(process.cwd(), 'rel/layout'));
  assert.equal(ref.image, 'app:v1.2');
  assert.equal(ref.sourceIndex, undefined);
  assert.equal(ref.toString(), `oci:${join(process.cwd(), 'rel/layout')}:app:v1.2`);
  const again = ociTransport.parseReference(ref.stringWithinTransport()) as OciReference;
  assert.equal(again.dir, ref.dir);
  assert.equal(again.image, ref.image);
});

test('parses PATH:@N as a source index and PATH alone as no name', () => {
  const byIndex = parseOciReference('/l:@3');
  assert.equal(byIndex.sourceIndex, 3);
  assert.equal(byIndex.image, undefined);
  assert.equal(byIndex.stringWithinTransport(), '/l:@3');
  const bare = parseOciReference('/l');
  assert.equal(bare.image, undefined);
  assert.equal(parseOciReference('/l:').image, undefined);
});

test('accepts ref names with the annotation separators and slashes', () => {
  for (const name of ['a', 'app-1.0_x:tag@v+b', 'a--b', 'org/app/v1', 'A9/B8']) {
    assert.equal(parseOciReference(`/l:${name}`).image, name);
  }
});

test('rejects ref names that break the annotation grammar', () => {
  for (const name of ['-a', 'a-', 'a b', 'a//b', 'a/', 'a---b', 'a..b', 'é']) {
    assert.throws(() => parseOciReference(`/l:${name}`), rejectsWith('INVALID_REFERENCE'), name);
  }
});

test('rejects a malformed source index and an empty path', () => {
  assert.throws(() => parseOciReference('/l:@x'), rejectsWith('INVALID_REFERENCE'));
  assert.throws(() => parseOciReference('/l:@-1'), rejectsWith('INVALID_REFERENCE'));
  assert.throws(() => parseOciReference(':tag'), rejectsWith('INVALID_REFERENCE'));
});

test('refuses a destination reference with a source index', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(parseOciReference(`${dir}/l:@0`).newImageDestination(), rejectsWith('INVALID_REFERENCE'));
  });
});

// --- index.json rules ---

test('a new ref name moves from the older holder, which stays unnamed', () => {
  const a = {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${'a'.repeat(64)}`,
    size: 1,
    annotations: { [REF_NAME_ANNOTATION]: 't' },
  };
  const b = {
    mediaType: OCI_MANIFEST,
    digest: `sha256:${'b'.repeat(64)}`,
    size: 2,
    annotations: { [REF_NAME_ANNOTATION]: 't' },
  };
  const index = addDescriptor({ ...emptyIndex(), manifests: [a] }, b);
  assert.equal(index.manifests.length, 2);
  assert.equal(index.manifests[0]?.digest, a.digest);
  assert.equal(index.manifests[0]?.annotations, undefined);
  assert.deepEqual(index.manifests[1], b);
});

test('an unnamed entry with the same digest is replaced rather than duplicated', () => {
  const old = { mediaType: OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 1, platform: { os: 'linux' } };
  const named = { mediaType: OCI_MANIFEST, digest: old.digest, size: 1, annotations: { [REF_NAME_ANNOTATION]: 'n' } };
  const index = addDescriptor({ ...emptyIndex(), manifests: [old] }, named);
  assert.deepEqual(index.manifests, [named]);
});

test('other annotations of the older holder are kept', () => {
  const a = {
    digest: `sha256:${'a'.repeat(64)}`,
    size: 1,
    annotations: { [REF_NAME_ANNOTATION]: 't', keep: 'me' },
  };
  const b = { digest: `sha256:${'b'.repeat(64)}`, size: 1, annotations: { [REF_NAME_ANNOTATION]: 't' } };
  const index = addDescriptor({ ...emptyIndex(), manifests: [a] }, b);
  assert.deepEqual(index.manifests[0]?.annotations, { keep: 'me' });
});

// --- source ---

test('reads a layout written by skopeo copy, manifest and blobs verified', async () => {
  await withTempDir(async (dir) => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const made = await makeImage(a, { tag: 't', layers: 2, layerSize: 20000, seed: 3 });
    await skopeo('copy', '-q', `oci:${a}:t`, `oci:${b}:t2`);
    const src = await parseOciReference(`${b}:t2`).newImageSource();
    try {
      const m = await src.getManifest();
      assert.equal(m.mimeType, OCI_MANIFEST);
      assert.equal(digestOf(m.bytes), made.digest);
      const instance = made.instances[0];
      assert.ok(instance);
      for (const l of [instance.config, ...instance.layers]) {
        const blob = await src.getBlob({ digest: l.digest as `${string}:${string}`, size: l.size });
        assert.equal(blob.size, l.size);
        await drainVerified(blob.stream, l.digest as `${string}:${string}`, l.size);
      }
      assert.deepEqual(await src.getSignatures(), []);
      assert.equal(src.hasThreadSafeGetBlob, true);
    } finally {
      await src.close();
    }
  });
});

test('reads an index and its instances, each instance checked against its digest', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(dir, {
      tag: 'multi',
      layers: 1,
      layerSize: 5000,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    const src = await parseOciReference(`${dir}:multi`).newImageSource();
    try {
      const top = await src.getManifest();
      assert.equal(top.mimeType, OCI_INDEX);
      assert.equal(digestOf(top.bytes), made.digest);
      for (const inst of made.instances) {
        const m = await src.getManifest(inst.digest as `${string}:${string}`);
        assert.equal(m.mimeType, OCI_MANIFEST);
        assert.deepEqual(m.bytes, inst.bytes);
      }
      // A corrupted instance blob is refused.
      const victim = made.instances[1];
      assert.ok(victim);
      await writeFile(blobPath(dir, victim.digest), Buffer.concat([victim.bytes, Buffer.from(' ')]));
      await assert.rejects(src.getManifest(victim.digest as `${string}:${string}`), rejectsWith('DIGEST_MISMATCH'));
    } finally {
      await src.close();
    }
  });
});

test('picks an entry by @N, and by the only entry when no name is given', async () => {
  await withTempDir(async (dir) => {
    const one = await makeImage(dir, { tag: 'one', layers: 1, layerSize: 1000, seed: 1 });
    const onlySrc = await parseOciReference(dir).newImageSource();
    assert.equal(digestOf((await onlySrc.getManifest()).bytes), one.digest);
    const two = await makeImage(dir, { tag: 'two', layers: 1, layerSize: 1000, seed: 2 });
    const second = await parseOciReference(`${dir}:@1`).newImageSource();
    assert.equal(digestOf((await second.getManifest()).bytes), two.digest);
    await assert.rejects(parseOciReference(`${dir}:@2`).newImageSource(), rejectsWith('IMAGE_NOT_FOUND', /too large/));
  });
});

test('several images and no name is AMBIGUOUS_IMAGE', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 'one', layers: 1, layerSize: 1000, seed: 1 });
    await makeImage(dir, { tag: 'two', layers: 1, layerSize: 1000, seed: 2 });
    await assert.rejects(
      parseOciReference(dir).newImageSource(),
      rejectsWith('AMBIGUOUS_IMAGE', /more than one image in oci layout, please specify an image name/),
    );
  });
});

test('an unknown name is IMAGE_NOT_FOUND, as is a missing layout', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 'one', layers: 1, layerSize: 1000 });
    await assert.rejects(parseOciReference(`${dir}:nope`).newImageSource(), rejectsWith('IMAGE_NOT_FOUND', /nope/));
    await assert.rejects(parseOciReference(`${dir}/missing:x`).newImageSource(), rejectsWith('IMAGE_NOT_FOUND'));
  });
});

test('the name lookup ignores entries that are not manifests or indexes', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(dir, { tag: 'app', layers: 1, layerSize: 1000 });
    const index = await indexJSON(dir);
    index.manifests.unshift({
      mediaType: 'application/vnd.example.thing',
      digest: made.digest,
      size: made.size,
      annotations: { [REF_NAME_ANNOTATION]: 'app' },
    });
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    const src = await parseOciReference(`${dir}:app`).newImageSource();
    assert.equal((await src.getManifest()).mimeType, OCI_MANIFEST);
  });
});

test('index.json that is not JSON is INVALID_LAYOUT naming the file', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 'one', layers: 1, layerSize: 1000 });
    await writeFile(join(dir, 'index.json'), '{"manifests": [');
    await assert.rejects(
      parseOciReference(`${dir}:one`).newImageSource(),
      rejectsWith('INVALID_LAYOUT', /index\.json is not valid JSON/),
    );
  });
});

test('a missing or foreign-version oci-layout file is INVALID_LAYOUT', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 'one', layers: 1, layerSize: 1000 });
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
    await assert.rejects(
      parseOciReference(`${dir}:one`).newImageSource(),
      rejectsWith('INVALID_LAYOUT', /imageLayoutVersion/),
    );
    await rm(join(dir, 'oci-layout'));
    await assert.rejects(parseOciReference(`${dir}:one`).newImageSource(), rejectsWith('INVALID_LAYOUT', /oci-layout/));
  });
});

test('a blob with wrong content fails with DIGEST_MISMATCH when read through a verifier', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(dir, { tag: 'one', layers: 1, layerSize: 4000 });
    const layer = made.instances[0]?.layers[0];
    assert.ok(layer);
    const path = blobPath(dir, layer.digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    await writeFile(path, bytes);
    const src = await parseOciReference(`${dir}:one`).newImageSource();
    const blob = await src.getBlob({ digest: layer.digest as `${string}:${string}`, size: layer.size });
    await assert.rejects(
      drainVerified(blob.stream, layer.digest as `${string}:${string}`, layer.size),
      rejectsWith('DIGEST_MISMATCH'),
    );
  });
});

test('reads blobs from a shared blob directory', async () => {
  await withTempDir(async (dir) => {
    const layout = join(dir, 'l');
    const shared = join(dir, 'shared');
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 3000 });
    await skopeo('copy', '-q', '--dest-shared-blob-dir', shared, `oci:${join(dir, 'src')}:t`, `oci:${layout}:t`);
    const src = await parseOciReference(`${layout}:t`).newImageSource({ sharedBlobDir: shared });
    assert.equal(digestOf((await src.getManifest()).bytes), made.digest);
    const layer = made.instances[0]?.layers[0];
    assert.ok(layer);
    const blob = await src.getBlob({ digest: layer.digest as `${string}:${string}`, size: layer.size });
    await drainVerified(blob.stream, layer.digest as `${string}:${string}`, layer.size);
  });
});

// --- destination ---

test('an image written through the destination is accepted by skopeo and umoci', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 2, layerSize: 30000, seed: 9 });
    const out = join(dir, 'out');
    const src = await parseOciReference(`${join(dir, 'src')}:t`).newImageSource();
    const dest = await parseOciReference(`${out}:app:1.0`).newImageDestination();
    try {
      assert.deepEqual(dest.capabilities.supportedManifestMIMETypes, [OCI_MANIFEST, OCI_INDEX]);
      assert.equal(dest.capabilities.desiredLayerCompression, 'compress');
      assert.equal(dest.capabilities.acceptsForeignLayerURLs, true);
      assert.equal(dest.capabilities.supportsMultipleImages, true);
      assert.equal(dest.capabilities.hasThreadSafePutBlob, true);
      await copyImage(src, dest);
    } finally {
      await dest.close();
    }
    assert.equal(await readFile(join(out, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    const inspected = JSON.parse(await skopeo('inspect', `oci:${out}:app:1.0`)) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, made.digest);
    assert.deepEqual(
      inspected.Layers,
      made.instances[0]?.layers.map((l) => l.digest),
    );
    const umoci = await run('umoci', ['stat', '--image', `${out}:app:1.0`]);
    assert.equal(umoci.code, 0, umoci.stderr);
    const index = await indexJSON(out);
    assert.deepEqual(index.manifests, [
      {
        mediaType: OCI_MANIFEST,
        digest: made.digest,
        size: made.size,
        annotations: { [REF_NAME_ANNOTATION]: 'app:1.0' },
      },
    ]);
  });
});

test('a multi-platform index written through the destination is read back by skopeo', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), {
      tag: 'm',
      layers: 1,
      layerSize: 5000,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    const out = join(dir, 'out');
    const src = await parseOciReference(`${join(dir, 'src')}:m`).newImageSource();
    const dest = await parseOciReference(`${out}:m`).newImageDestination();
    await copyImage(src, dest);
    await dest.close();
    const raw = await skopeo('inspect', '--raw', `oci:${out}:m`);
    assert.equal(digestOf(raw), made.digest);
    const arm = JSON.parse(await skopeo('--override-arch', 'arm64', 'inspect', `oci:${out}:m`)) as {
      Digest: string;
      Architecture: string;
    };
    assert.equal(arm.Architecture, 'arm64');
    const index = await indexJSON(out);
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]?.mediaType, OCI_INDEX);
  });
});

test('writing a name already held moves it to the new image; writing again is idempotent', async () => {
  await withTempDir(async (dir) => {
    const x = await makeImage(join(dir, 'x'), { tag: 't', layers: 1, layerSize: 2000, seed: 1 });
    const y = await makeImage(join(dir, 'y'), { tag: 't', layers: 1, layerSize: 2000, seed: 2 });
    const out = join(dir, 'out');
    const put = async (from: string, to: string) => {
      const src = await parseOciReference(`${join(dir, from)}:t`).newImageSource();
      const dest = await parseOciReference(to).newImageDestination();
      await copyImage(src, dest);
      await dest.close();
    };
    await put('x', `${out}:r`);
    await put('y', `${out}:r`);
    let index = await indexJSON(out);
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, d.annotations?.[REF_NAME_ANNOTATION]]),
      [
        [x.digest, undefined],
        [y.digest, 'r'],
      ],
    );
    // Naming x again replaces its unnamed entry instead of adding a third.
    await put('x', `${out}:again`);
    index = await indexJSON(out);
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, d.annotations?.[REF_NAME_ANNOTATION]]),
      [
        [x.digest, 'again'],
        [y.digest, 'r'],
      ],
    );
    await put('y', `${out}:r`);
    assert.equal((await indexJSON(out)).manifests.length, 2);
  });
});

test('close without commit keeps every file of an existing layout and its index.json, deletes no blob and leaves no temp file', async () => {
  await withTempDir(async (dir) => {
    await makeImage(join(dir, 'out'), { tag: 'keep', layers: 1, layerSize: 2000, seed: 1 });
    const other = await makeImage(join(dir, 'src'), { tag: 't', layers: 2, layerSize: 3000, seed: 5 });
    const out = join(dir, 'out');
    const before = await listing(out);
    const beforeIndex = await readFile(join(out, 'index.json'));
    const src = await parseOciReference(`${join(dir, 'src')}:t`).newImageSource();
    const dest = await parseOciReference(`${out}:new`).newImageDestination();
    const inst = other.instances[0];
    assert.ok(inst);
    for (const l of inst.layers) {
      const info = { digest: l.digest as `${string}:${string}`, size: l.size };
      await dest.putBlob((await src.getBlob(info)).stream, info, { isConfig: false });
    }
    await dest.putBlob(Readable.from([Buffer.from('sha512 blob')]), { size: -1 }, { isConfig: false });
    await dest.putManifest(inst.bytes);
    const written = await listing(out);
    assert.notDeepEqual(written, before);
    await dest.close();
    await dest.close();
    // Blobs stay: another writer's index.json may reference them by now (upstream deletes nothing either).
    assert.deepEqual(await listing(out), written);
    for (const entry of before) assert.ok(written.includes(entry), entry);
    assert.deepEqual(
      written.filter((e) => e.includes('ferry-')),
      [],
    );
    assert.deepEqual(await readFile(join(out, 'index.json')), beforeIndex);
    await skopeo('inspect', `oci:${out}:keep`);
  });
});

test('close without commit on a new layout writes no index.json or oci-layout and leaves no temp file', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'new', 'layout');
    const dest = await parseOciReference(`${out}:t`).newImageDestination();
    await dest.putBlob(Readable.from([Buffer.from('hello')]), { size: 5 }, { isConfig: false });
    await dest.close();
    assert.deepEqual(await listing(out), ['blobs/', 'blobs/sha256/', `blobs/sha256/${digestOf('hello').slice(7)} 5`]);
  });
});

test('tryReusingBlob finds a stored blob of the right size only', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(dir, { tag: 't', layers: 1, layerSize: 1000 });
    const layer = made.instances[0]?.layers[0];
    assert.ok(layer);
    const dest = await parseOciReference(`${dir}:u`).newImageDestination();
    const digest = layer.digest as `${string}:${string}`;
    assert.deepEqual(await dest.tryReusingBlob({ digest, size: -1 }, { isConfig: false }), {
      digest,
      size: layer.size,
    });
    assert.equal(await dest.tryReusingBlob({ digest, size: layer.size + 1 }, { isConfig: false }), undefined);
    assert.equal(await dest.tryReusingBlob({ digest: digestOf('absent'), size: -1 }, { isConfig: false }), undefined);
    await dest.close();
  });
});

test('uncompressed layers are accepted when asked for, signatures are refused', async () => {
  await withTempDir(async (dir) => {
    const dest = await parseOciReference(`${dir}/l:t`).newImageDestination({ ociAcceptUncompressedLayers: true });
    assert.equal(dest.capabilities.desiredLayerCompression, 'preserve');
    assert.equal(dest.capabilities.supportsSignatures, false);
    await dest.putSignatures([]);
    await assert.rejects(dest.putSignatures([Buffer.from('sig')]), rejectsWith('UNSUPPORTED_OPERATION'));
    await dest.close();
  });
});

test('the destination refuses a schema1 manifest', async () => {
  await withTempDir(async (dir) => {
    const dest = await parseOciReference(`${dir}/l:t`).newImageDestination();
    const schema1 = Buffer.from(
      JSON.stringify({ schemaVersion: 1, name: 'a/b', tag: 't', architecture: 'amd64', fsLayers: [], history: [] }),
    );
    await assert.rejects(dest.putManifest(schema1), rejectsWith('MANIFEST_REJECTED'));
    await dest.close();
  });
});

// --- delete ---

test('deleteImage removes the entry and the blobs only it used', async () => {
  await withTempDir(async (dir) => {
    const keep = await makeImage(dir, { tag: 'keep', layers: 2, layerSize: 2000, seed: 1 });
    const gone = await makeImage(dir, { tag: 'gone', layers: 2, layerSize: 2000, seed: 2 });
    await parseOciReference(`${dir}:gone`).deleteImage();
    const index = await indexJSON(dir);
    assert.deepEqual(
      index.manifests.map((d) => d.digest),
      [keep.digest],
    );
    const goneInst = gone.instances[0];
    const keepInst = keep.instances[0];
    assert.ok(goneInst && keepInst);
    for (const d of [gone.digest, goneInst.config.digest, ...goneInst.layers.map((l) => l.digest)]) {
      await assert.rejects(stat(blobPath(dir, d)), /ENOENT/);
    }
    for (const d of [keep.digest, keepInst.config.digest, ...keepInst.layers.map((l) => l.digest)])
      await stat(blobPath(dir, d));
    const umoci = await run('umoci', ['stat', '--image', `${dir}:keep`]);
    assert.equal(umoci.code, 0, umoci.stderr);
  });
});

test('deleteImage keeps blobs another name still references, through nested indexes', async () => {
  await withTempDir(async (dir) => {
    const multi = await makeImage(dir, {
      tag: 'multi',
      layers: 1,
      layerSize: 2000,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    // A second name for one instance of the index.
    const inst = multi.instances[1];
    assert.ok(inst);
    const index = await indexJSON(dir);
    index.manifests.push({
      mediaType: OCI_MANIFEST,
      digest: inst.digest,
      size: inst.size,
      annotations: { [REF_NAME_ANNOTATION]: 'arm' },
    });
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    await parseOciReference(`${dir}:multi`).deleteImage();
    await assert.rejects(stat(blobPath(dir, multi.digest)), /ENOENT/);
    const amd = multi.instances[0];
    assert.ok(amd);
    await assert.rejects(stat(blobPath(dir, amd.digest)), /ENOENT/);
    for (const d of [inst.digest, inst.config.digest, ...inst.layers.map((l) => l.digest)])
      await stat(blobPath(dir, d));
    assert.deepEqual(
      (await indexJSON(dir)).manifests.map((d) => d.digest),
      [inst.digest],
    );
    const inspected = JSON.parse(await skopeo('inspect', `oci:${dir}:arm`)) as { Architecture: string };
    assert.equal(inspected.Architecture, 'arm64');
  });
});

test('deleteImage of an unknown name changes nothing', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 'keep', layers: 1, layerSize: 1000 });
    const before = await listing(dir);
    await assert.rejects(parseOciReference(`${dir}:nope`).deleteImage(), rejectsWith('IMAGE_NOT_FOUND'));
    assert.deepEqual(await listing(dir), before);
  });
});

test('skopeo reads a layout after our delete, and we read skopeo-written layouts with several names', async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, 'src');
    await makeImage(src, { tag: 'a', layers: 1, layerSize: 1500, seed: 1 });
    await makeImage(src, { tag: 'b', layers: 1, layerSize: 1500, seed: 2 });
    const out = join(dir, 'out');
    await mkdir(out);
    await skopeo('copy', '-q', `oci:${src}:a`, `oci:${out}:a`);
    await skopeo('copy', '-q', `oci:${src}:b`, `oci:${out}:b`);
    await parseOciReference(`${out}:a`).deleteImage();
    await skopeo('inspect', `oci:${out}:b`);
    const r = await run('skopeo', ['inspect', `oci:${out}:a`]);
    assert.notEqual(r.code, 0);
  });
});

// --- foreign layers, shared blob directories, aborts, concurrent writers ---

test('a foreign layer missing locally is fetched from its urls; none answering is BLOB_NOT_FOUND', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 't', layers: 1, layerSize: 1000 });
    const body = Buffer.from('foreign layer bytes');
    const server = createServer((req, res) => {
      if (req.url === '/layer') {
        res.writeHead(200, { 'content-length': String(body.length) });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const src = await parseOciReference(`${dir}:t`).newImageSource();
      const digest = digestOf(body);
      const blob = await src.getBlob({
        digest,
        size: body.length,
        urls: ['ftp://example.invalid/x', `${base}/missing`, `${base}/layer`],
      });
      assert.equal(blob.size, body.length);
      await drainVerified(blob.stream, digest, body.length);
      await assert.rejects(
        src.getBlob({ digest, size: -1, urls: [`${base}/missing`] }),
        rejectsWith('BLOB_NOT_FOUND', /HTTP 404/),
      );
    } finally {
      server.close();
    }
  });
});

test('the destination writes into a shared blob directory that skopeo then reads', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 3000 });
    const shared = join(dir, 'shared');
    const out = join(dir, 'out');
    const src = await parseOciReference(`${join(dir, 'src')}:t`).newImageSource();
    const dest = await parseOciReference(`${out}:t`).newImageDestination({ sharedBlobDir: shared });
    await copyImage(src, dest);
    await dest.close();
    assert.deepEqual(await readdir(join(out, 'blobs')), []);
    await stat(join(shared, 'sha256', made.digest.slice('sha256:'.length)));
    const inspected = JSON.parse(await skopeo('inspect', '--shared-blob-dir', shared, `oci:${out}:t`)) as {
      Digest: string;
    };
    assert.equal(inspected.Digest, made.digest);
  });
});

test('an aborted putBlob fails with ABORTED and leaves no temp file', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'out');
    const dest = await parseOciReference(`${out}:t`).newImageDestination();
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
      },
    });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(
      dest.putBlob(endless, { size: -1 }, { isConfig: false, signal: controller.signal }),
      rejectsWith('ABORTED'),
    );
    assert.deepEqual(await listing(out), ['blobs/']);
    await dest.close();
  });
});

test('a rolled-back destination keeps blobs another writer committed meanwhile', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 2000 });
    const out = join(dir, 'out');
    const src = await parseOciReference(`${join(dir, 'src')}:t`).newImageSource();
    const failing = await parseOciReference(`${out}:a`).newImageDestination();
    const inst = made.instances[0];
    assert.ok(inst);
    const layer = inst.layers[0];
    assert.ok(layer);
    const info = { digest: layer.digest as `${string}:${string}`, size: layer.size };
    await failing.putBlob((await src.getBlob(info)).stream, info, { isConfig: false });
    const other = await parseOciReference(`${out}:b`).newImageDestination();
    await copyImage(src, other);
    await other.close();
    await failing.close();
    await stat(blobPath(out, layer.digest));
    await skopeo('inspect', `oci:${out}:b`);
  });
});

test('commit keeps the other members and entries of an existing index.json', async () => {
  await withTempDir(async (dir) => {
    const first = await makeImage(dir, { tag: 'first', layers: 1, layerSize: 1000, seed: 1 });
    const index = await indexJSON(dir);
    const withExtras = { ...index, annotations: { 'org.example': 'kept' } };
    const firstEntry = index.manifests[0];
    assert.ok(firstEntry);
    firstEntry.platform = { os: 'linux', architecture: 'amd64' };
    await writeFile(join(dir, 'index.json'), JSON.stringify(withExtras));
    const second = await makeImage(join(dir, 'other'), { tag: 't', layers: 1, layerSize: 1000, seed: 2 });
    const src = await parseOciReference(`${join(dir, 'other')}:t`).newImageSource();
    const dest = await parseOciReference(`${dir}:second`).newImageDestination();
    await copyImage(src, dest);
    await dest.close();
    const after = (await indexJSON(dir)) as IndexFile & { annotations?: Record<string, string> };
    assert.deepEqual(after.annotations, { 'org.example': 'kept' });
    assert.deepEqual(
      after.manifests.map((d) => d.digest),
      [first.digest, second.digest],
    );
    assert.deepEqual(after.manifests[0]?.platform, { os: 'linux', architecture: 'amd64' });
  });
});

test('a manifest whose size differs from its index.json entry is refused', async () => {
  await withTempDir(async (dir) => {
    await makeImage(dir, { tag: 't', layers: 1, layerSize: 1000 });
    const index = await indexJSON(dir);
    const entry = index.manifests[0];
    assert.ok(entry);
    entry.size = (entry.size ?? 0) + 1;
    await writeFile(join(dir, 'index.json'), JSON.stringify(index));
    const src = await parseOciReference(`${dir}:t`).newImageSource();
    await assert.rejects(src.getManifest(), rejectsWith('SIZE_MISMATCH'));
  });
});
