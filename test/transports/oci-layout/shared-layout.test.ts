/**
 * One OCI layout written by several copies: a copy that fails never deletes a blob, so neither an
 * image already in the layout nor one another writer commits meanwhile loses any (upstream deletes
 * nothing on failure either; only an explicit delete collects garbage).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { copyImage, isFerryError, parseImageReference } from '../../../src/index.js';
import { parseOciReference } from '../../../src/transports/oci-layout/index.js';
import type { BlobInfo } from '../../../src/transports/types.js';
import { blobPath, type MadeImage, makeImage } from '../../helpers/make-image.js';
import { run, runFerry } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function blobsOf(image: MadeImage): { digest: string; size: number; isConfig: boolean }[] {
  const inst = image.instances[0];
  assert.ok(inst);
  return [
    { ...inst.config, isConfig: true },
    ...inst.layers.map((l) => ({ digest: l.digest, size: l.size, isConfig: false })),
  ];
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

test("a writer that fails after a blob it wrote was reused by another writer leaves that writer's image complete", async () => {
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
    assert.deepEqual(
      b.instances[0]?.layers.slice(0, 2).map((l) => l.digest),
      a.instances[0]?.layers.map((l) => l.digest),
    );
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

test('writers committing into one layout at the same moment all keep their index.json entries', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'out');
    await makeImage(out, { tag: 'before', layers: 1, layerSize: 1024 });
    const writers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const dest = await parseOciReference(`${out}:w${i}`).newImageDestination();
        const layer = Buffer.from(`layer ${i}`);
        const config = Buffer.from(
          JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }),
        );
        for (const [bytes, isConfig] of [
          [config, true],
          [layer, false],
        ] as const) {
          await dest.putBlob(
            Readable.from([bytes]),
            { digest: sha256(bytes) as BlobInfo['digest'], size: bytes.length },
            { isConfig },
          );
        }
        await dest.putManifest(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: 'application/vnd.oci.image.manifest.v1+json',
              config: {
                mediaType: 'application/vnd.oci.image.config.v1+json',
                digest: sha256(config),
                size: config.length,
              },
              layers: [
                { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
              ],
            }),
          ),
        );
        return dest;
      }),
    );
    await Promise.all(writers.map((w) => w.commit()));
    await Promise.all(writers.map((w) => w.close()));
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    const names = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort();
    assert.deepEqual(names, ['before', ...Array.from({ length: 8 }, (_, i) => `w${i}`)].sort());
    for (const name of names) assert.equal((await run('skopeo', ['inspect', `oci:${out}:${name}`])).code, 0, name);
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });
});

test('a commit whose reused blob was deleted meanwhile fails with BLOB_NOT_FOUND instead of adding a broken image', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'out');
    const a = await makeImage(out, { tag: 'a', layers: 1, layerSize: 2048 });
    const index = await readFile(join(out, 'index.json'));
    const dest = await parseOciReference(`${out}:b`).newImageDestination();
    for (const b of blobsOf(a)) {
      assert.ok(
        await dest.tryReusingBlob({ digest: b.digest as BlobInfo['digest'], size: b.size }, { isConfig: b.isConfig }),
      );
    }
    await dest.putManifest(a.bytes);
    await parseOciReference(`${out}:a`).deleteImage();
    await assert.rejects(dest.commit(), (e: unknown) => isFerryError(e, 'BLOB_NOT_FOUND'));
    await dest.close();
    const after = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: unknown[] };
    assert.deepEqual(after.manifests, []);
    assert.notDeepEqual(await readFile(join(out, 'index.json')), index);
  });
});

test('a lock left by a dead process is broken; a live one is waited for, and the wait can be aborted', async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, 'out');
    const lock = join(out, '.index.json.ferry-lock');
    const { spawnSync } = await import('node:child_process');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const write = async (tag: string, signal?: AbortSignal) => {
      const dest = await parseOciReference(`${out}:${tag}`).newImageDestination();
      const bytes = Buffer.from(`config ${tag}`);
      await dest.putBlob(Readable.from([bytes]), { size: -1 }, { isConfig: true });
      await dest.putManifest(
        Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha256(bytes),
              size: bytes.length,
            },
            layers: [],
          }),
        ),
      );
      try {
        await dest.commit(signal);
      } finally {
        await dest.close();
      }
    };
    await write('first');
    await writeFile(lock, `${dead}\n`);
    await write('after-dead');
    await writeFile(lock, `${process.ppid}\n`);
    const controller = new AbortController();
    const waiting = write('blocked', controller.signal);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await assert.rejects(waiting, (e: unknown) => isFerryError(e, 'ABORTED'));
    assert.equal(await readFile(lock, 'utf8'), `${process.ppid}\n`, 'a live lock is not broken');
    const tags = (
      JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {
        manifests: { annotations: Record<string, string> }[];
      }
    ).manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']);
    assert.deepEqual(tags, ['first', 'after-dead']);
  });
});

test('two ferry processes copying into one layout at once, one failing, leave the other image complete', async () => {
  await withTempDir(async (dir) => {
    const good = join(dir, 'good');
    const g = await makeImage(good, { tag: 'g', layers: 3, layerSize: 262144, seed: 1, labels: { image: 'g' } });
    const bad = join(dir, 'bad');
    await corruptThirdLayer(bad);
    const out = join(dir, 'out');
    const env = { ...process.env, FERRY_BLOB_CACHE: 'memory', TMPDIR: dir };
    const [failed, copied] = await Promise.all([
      runFerry(['copy', '-q', `oci:${bad}:b`, `oci:${out}:b`], { env }),
      runFerry(['copy', '-q', `oci:${good}:g`, `oci:${out}:g`], { env }),
    ]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^ferry: .*digest/i);
    assert.equal(copied.code, 0, copied.stderr);
    await assertComplete(out, 'g', g);
    assert.deepEqual(await noTemps(join(out, 'blobs')), []);
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });
});
