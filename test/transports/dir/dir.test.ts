import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { digestHex, digestOf } from '../../../src/digest/digest.js';
import { isFerryError } from '../../../src/errors.js';
import { DIR_VERSION, dirTransport, parseDirReference } from '../../../src/transports/dir/index.js';
import { parseOciReference } from '../../../src/transports/oci-layout/index.js';
import { makeImage } from '../../helpers/make-image.js';
import { withTempDir } from '../../helpers/tmp.js';
import { copyImage, drainVerified, rejectsWith, skopeo } from '../oci-layout/transport-helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Copies oci:LAYOUT:TAG into dir:OUT with our transports. */
async function ociToDir(layout: string, tag: string, out: string): Promise<void> {
  const src = await parseOciReference(`${layout}:${tag}`).newImageSource();
  const dest = await parseDirReference(out).newImageDestination();
  try {
    await copyImage(src, dest);
  } finally {
    await dest.close();
    await src.close();
  }
}

test('parses dir:PATH with the path made absolute and refuses an empty one', () => {
  const ref = parseDirReference('some/dir');
  assert.equal(ref.path, join(process.cwd(), 'some/dir'));
  assert.equal(ref.toString(), `dir:${join(process.cwd(), 'some/dir')}`);
  assert.equal(dirTransport.parseReference(ref.stringWithinTransport()).toString(), ref.toString());
  assert.equal(ref.dockerReference(), undefined);
  assert.throws(
    () => parseDirReference(''),
    (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'),
  );
});

test('reads a dir: image written by skopeo copy', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 2, layerSize: 8000, seed: 4 });
    const out = join(dir, 'd');
    await skopeo('copy', '-q', `oci:${join(dir, 'src')}:t`, `dir:${out}`);
    const src = await parseDirReference(out).newImageSource();
    const m = await src.getManifest();
    assert.equal(m.mimeType, OCI_MANIFEST);
    assert.equal(digestOf(m.bytes), made.digest);
    const inst = made.instances[0];
    assert.ok(inst);
    for (const b of [inst.config, ...inst.layers]) {
      const blob = await src.getBlob({ digest: b.digest as `${string}:${string}`, size: b.size });
      assert.equal(blob.size, b.size);
      await drainVerified(blob.stream, b.digest as `${string}:${string}`, b.size);
    }
    assert.deepEqual(await src.getSignatures(), []);
    await assert.rejects(src.getBlob({ digest: digestOf('absent'), size: -1 }), rejectsWith('BLOB_NOT_FOUND'));
    await src.close();
  });
});

test('a dir: image written through the destination is read by skopeo', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(join(dir, 'src'), { tag: 't', layers: 2, layerSize: 8000, seed: 6 });
    const out = join(dir, 'd');
    await ociToDir(join(dir, 'src'), 't', out);
    assert.equal(await readFile(join(out, 'version'), 'utf8'), 'Directory Transport Version: 1.1\n');
    assert.equal(DIR_VERSION, 'Directory Transport Version: 1.1\n');
    const inst = made.instances[0];
    assert.ok(inst);
    const expected = [
      'manifest.json',
      'version',
      digestHex(inst.config.digest as `${string}:${string}`),
      ...inst.layers.map((l) => digestHex(l.digest as `${string}:${string}`)),
    ];
    assert.deepEqual((await readdir(out)).sort(), expected.sort());
    const inspected = JSON.parse(await skopeo('inspect', `dir:${out}`)) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, made.digest);
    assert.deepEqual(
      inspected.Layers,
      inst.layers.map((l) => l.digest),
    );
    // No temp or old directories are left beside it.
    assert.deepEqual((await readdir(dir)).sort(), ['d', 'src']);
  });
});

test('signatures are stored as signature-N and read back, per instance too', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'd');
    const dest = await parseDirReference(out).newImageDestination();
    assert.equal(dest.capabilities.supportsSignatures, true);
    assert.equal(dest.capabilities.supportedManifestMIMETypes, undefined);
    assert.equal(dest.capabilities.desiredLayerCompression, 'preserve');
    assert.equal(dest.capabilities.acceptsForeignLayerURLs, false);
    assert.equal(dest.capabilities.supportsMultipleImages, true);
    const manifest = Buffer.from(
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}',
    );
    const instance = digestOf(manifest);
    await dest.putManifest(manifest);
    await dest.putManifest(manifest, instance);
    await dest.putSignatures([Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]);
    await dest.putSignatures([Buffer.from('first'), Buffer.from('second')]);
    await dest.putSignatures([Buffer.from('inst')], instance);
    await dest.commit();
    await dest.close();
    const files = (await readdir(out)).sort();
    assert.deepEqual(files, [
      `${digestHex(instance)}.manifest.json`,
      `${digestHex(instance)}.signature-1`,
      'manifest.json',
      'signature-1',
      'signature-2',
      'version',
    ]);
    const src = await parseDirReference(out).newImageSource();
    assert.deepEqual((await src.getSignatures()).map(String), ['first', 'second']);
    assert.deepEqual((await src.getSignatures(instance)).map(String), ['inst']);
  });
});

test('refuses a non-empty directory that is not a dir: image, and leaves it alone', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'precious');
    await mkdir(out);
    await writeFile(join(out, 'notes.txt'), 'keep me');
    await assert.rejects(
      parseDirReference(out).newImageDestination(),
      rejectsWith('DESTINATION_NOT_EMPTY', new RegExp(out)),
    );
    await writeFile(join(out, 'version'), 'Directory Transport Version: 1.0\n');
    await assert.rejects(parseDirReference(out).newImageDestination(), rejectsWith('DESTINATION_NOT_EMPTY'));
    assert.deepEqual((await readdir(out)).sort(), ['notes.txt', 'version']);
    assert.deepEqual(await readdir(dir), ['precious']);
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(
      parseDirReference(join(dir, 'file')).newImageDestination(),
      rejectsWith('DESTINATION_NOT_EMPTY'),
    );
  });
});

test('writes into an empty directory, and replaces a previous dir: image as a whole', async () => {
  await withTempDir(async (dir) => {
    const a = await makeImage(join(dir, 'src'), { tag: 'a', layers: 1, layerSize: 2000, seed: 1 });
    const b = await makeImage(join(dir, 'src'), { tag: 'b', layers: 1, layerSize: 2000, seed: 2 });
    const out = join(dir, 'd');
    await mkdir(out);
    await ociToDir(join(dir, 'src'), 'a', out);
    assert.equal(digestOf(await readFile(join(out, 'manifest.json'))), a.digest);
    await ociToDir(join(dir, 'src'), 'b', out);
    assert.equal(digestOf(await readFile(join(out, 'manifest.json'))), b.digest);
    const aLayer = a.instances[0]?.layers[0];
    assert.ok(aLayer);
    assert.ok(!(await readdir(out)).includes(digestHex(aLayer.digest as `${string}:${string}`)), 'old blobs are gone');
    assert.deepEqual((await readdir(dir)).sort(), ['d', 'src']);
  });
});

test('close without commit leaves PATH untouched and removes the temp directory', async () => {
  await withTempDir(async (dir) => {
    const a = await makeImage(join(dir, 'src'), { tag: 'a', layers: 1, layerSize: 2000, seed: 1 });
    const out = join(dir, 'd');
    await ociToDir(join(dir, 'src'), 'a', out);
    const before = (await readdir(out)).sort();
    const dest = await parseDirReference(out).newImageDestination();
    await dest.putBlob(Readable.from([Buffer.from('new blob')]), { size: -1 }, { isConfig: false });
    await dest.putManifest(Buffer.from('{"schemaVersion":2}'));
    await dest.close();
    await dest.close();
    assert.deepEqual((await readdir(out)).sort(), before);
    assert.equal(digestOf(await readFile(join(out, 'manifest.json'))), a.digest);
    assert.deepEqual((await readdir(dir)).sort(), ['d', 'src']);
    // A destination that never existed leaves nothing, not even the parents it made.
    const fresh = await parseDirReference(join(dir, 'new', 'deep', 'd')).newImageDestination();
    await fresh.putBlob(Readable.from([Buffer.from('x')]), { size: 1 }, { isConfig: false });
    await fresh.close();
    assert.deepEqual((await readdir(dir)).sort(), ['d', 'src']);
  });
});

test("opening a destination removes the temp directory a killed run left beside PATH, not a running one's", async () => {
  await withTempDir(async (dir) => {
    const { spawnSync } = await import('node:child_process');
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
    );
    const stale = `.d.ferry-tmp-${dead}-0123456789ab`;
    const running = `.d.ferry-tmp-${process.ppid}-0123456789ab`;
    for (const name of [stale, running, `.e.ferry-tmp-${dead}-0123456789ab`]) {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, 'version'), DIR_VERSION);
    }
    const dest = await parseDirReference(join(dir, 'd')).newImageDestination();
    const names = await readdir(dir);
    await dest.close();
    assert.equal(names.includes(stale), false);
    assert.ok(names.includes(running));
    assert.ok(names.includes(`.e.ferry-tmp-${dead}-0123456789ab`), "another PATH's temp dir is not ours to judge");
    assert.equal(names.filter((n) => n.startsWith(`.d.ferry-tmp-${process.pid}-`)).length, 1);
  });
});

test('putBlob rejects a digest mismatch and tryReusingBlob sees only blobs written here', async () => {
  await withTempDir(async (dir) => {
    const dest = await parseDirReference(join(dir, 'd')).newImageDestination();
    await assert.rejects(
      dest.putBlob(Readable.from([Buffer.from('hello')]), { digest: digestOf('other'), size: -1 }, { isConfig: false }),
      rejectsWith('DIGEST_MISMATCH'),
    );
    const hello = digestOf('hello');
    assert.equal(await dest.tryReusingBlob({ digest: hello, size: 5 }, { isConfig: false }), undefined);
    assert.deepEqual(await dest.putBlob(Readable.from([Buffer.from('hello')]), { size: 5 }, { isConfig: false }), {
      digest: hello,
      size: 5,
    });
    assert.deepEqual(await dest.tryReusingBlob({ digest: hello, size: 5 }, { isConfig: false }), {
      digest: hello,
      size: 5,
    });
    assert.equal(await dest.tryReusingBlob({ digest: hello, size: 6 }, { isConfig: false }), undefined);
    await dest.close();
  });
});

test('a directory without the version file is INVALID_LAYOUT as a source', async () => {
  await withTempDir(async (dir) => {
    await writeFile(join(dir, 'manifest.json'), '{}');
    await assert.rejects(parseDirReference(dir).newImageSource(), rejectsWith('INVALID_LAYOUT', /version/));
    await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.0\n');
    await assert.rejects(parseDirReference(dir).newImageSource(), rejectsWith('INVALID_LAYOUT'));
    await assert.rejects(parseDirReference(join(dir, 'missing')).newImageSource(), rejectsWith('IMAGE_NOT_FOUND'));
  });
});

test('deleteImage is unsupported for dir:', async () => {
  await assert.rejects(parseDirReference('/nonexistent/x').deleteImage(), rejectsWith('UNSUPPORTED_OPERATION'));
});
