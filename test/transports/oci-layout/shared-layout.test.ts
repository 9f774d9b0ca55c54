/**
 * One OCI layout written by several copies: a copy that fails never deletes a blob, so neither an
 * image already in the layout nor one another writer commits meanwhile loses any (upstream deletes
 * nothing on failure either; only an explicit delete collects garbage).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyImage, isFerryError, parseImageReference } from '../../../src/index.js';
import { parseOciReference } from '../../../src/transports/oci-layout/index.js';
import type { BlobInfo } from '../../../src/transports/types.js';
import { blobPath, type MadeImage, makeImage } from '../../helpers/make-image.js';
import { run } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blobsOf(image: MadeImage): { digest: string; size: number; isConfig: boolean }[] {
  const inst = image.instances[0];
  assert.ok(inst);
  return [{ ...inst.config, isConfig: true }, ...inst.layers.map((l) => ({ digest: l.digest, size: l.size, isConfig: false }))];
}

/** Every blob of `image` (manifest included) is in `layout` with the right digest; skopeo and umoci read the image. */
async function assertComplete(layout: string, tag: string, image: MadeImage): Promise<void> {
  for (const d of [image.digest, ...blobsOf(image).map((b) => b.digest)]) {
    assert.equal(sha256(await readFile(blobPath(layout, d))), d, `blob ${d} of ${tag}`);
  }
  const inspected = await run('skopeo', ['inspect', `oci:${layout}:${tag}`]);
  assert.equal(inspected.code, 0, inspected.stderr);
  assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, image.digest);
  const stat = await run('umoci', ['stat', '--image', `${layout}:${tag}`]);
  assert.equal(stat.code, 0, stat.stderr);
}

const noTemps = async (dir: string) => (await readdir(dir)).filter((n) => n.includes('ferry-'));

test('a writer that fails after a blob it wrote was reused by another writer leaves that writer\'s image complete', async () => {
  await withTempDir(async (dir) => {
    const src = join(dir, 'src');
    const made = await makeImage(src, { tag: 't', layers: 2, layerSize: 8192, seed: 3 });
    const out = join(dir, 'out');
    const source = await parseOciReference(`${src}:t`).newImageSource();
    const failing = await parseOciReference(`${out}:f`).newImageDestination();
    const other = await parseOciReference(`${out}:g`).newImageDestination();
    const blobs = blobsOf(made);
    // The failing writer stores the first layer; the other finds it there and does not write it again.
    const first = blobs[1];
    assert.ok(first);
    const info: BlobInfo = { digest: first.digest as BlobInfo['digest'], size: first.size };
    await failing.putBlob((await source.getBlob(info)).stream, info, { isConfig: false });
    let reused = 0;
    for (const b of blobs) {
      const bi: BlobInfo = { digest: b.digest as BlobInfo['digest'], size: b.size };
      if ((await other.tryReusingBlob(bi, { isConfig: b.isConfig })) !== undefined) {
        reused++;
        continue;
      }
      await other.putBlob((await source.getBlob(bi)).stream, bi, { isConfig: b.isConfig });
    }
    assert.equal(reused, 1);
    await other.putManifest(made.bytes);
    // The failing writer gives up before the other commits.
    await failing.close();
    await other.commit();
    await other.close();
    await source.close();
    await assertComplete(out, 'g', made);
    assert.deepEqual(await noTemps(join(out, 'blobs')), []);
  });
});

/** Makes `src` hold image `b` (sharing its first two layers with `a`'s image) with its last layer's bytes changed. */
async function corruptThirdLayer(src: string): Promise<MadeImage> {
  const b = await makeImage(src, { tag: 'b', layers: 3, layerSize: 8192, seed: 1, labels: { image: 'b' } });
  const last = b.instances[0]?.layers[2];
  assert.ok(last);
  const bytes = await readFile(blobPath(src, last.digest));
  bytes[bytes.length >> 1] ^= 0xff;
  await writeFile(blobPath(src, last.digest), bytes);
  return b;
}

test('an image already in the layout survives a failed copy of an image sharing its layers', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'out');
    const a = await makeImage(out, { tag: 'a', layers: 2, layerSize: 8192, seed: 1 });
    const src = join(dir, 'src');
    const b = await corruptThirdLayer(src);
    assert.deepEqual(b.instances[0]?.layers.slice(0, 2).map((l) => l.digest), a.instances[0]?.layers.map((l) => l.digest));
    const index = await readFile(join(out, 'index.json'));
    await assert.rejects(
      copyImage(parseImageReference(`oci:${src}:b`), parseImageReference(`oci:${out}:b`), { blobInfoCache: 'memory' }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    assert.deepEqual(await readFile(join(out, 'index.json')), index);
    await assertComplete(out, 'a', a);
    assert.deepEqual(await noTemps(join(out, 'blobs')), []);
  });
});

test('two copies into one layout at once, one failing, leave the other image complete', async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, 'good');
    const g = await makeImage(good, { tag: 'g', layers: 3, layerSize: 65536, seed: 1, labels: { image: 'g' } });
    const bad = join(dir, 'bad');
    await corruptThirdLayer(bad);
    const out = join(dir, 'out');
    const results = await Promise.allSettled([
      copyImage(parseImageReference(`oci:${bad}:b`), parseImageReference(`oci:${out}:b`), { blobInfoCache: 'memory' }),
      copyImage(parseImageReference(`oci:${good}:g`), parseImageReference(`oci:${out}:g`), { blobInfoCache: 'memory' }),
    ]);
    assert.equal(results[0].status, 'rejected');
    assert.equal(results[1].status, 'fulfilled');
    await assertComplete(out, 'g', g);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.equal(index.manifests.length, 1);
    assert.deepEqual(await noTemps(join(out, 'blobs')), []);
  });
});
