/** Planning a sync without a registry: skopeo's destination names for a dir source, filters, and a shard split that is stable and complete. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FerryError, parseShard, planSync, shardOf } from '../../src/index.js';
import { withTempDir } from '../helpers/tmp.js';

async function fakeDirImages(root: string, names: string[]): Promise<void> {
  for (const name of names) {
    await mkdir(join(root, name), { recursive: true });
    await writeFile(join(root, name, 'manifest.json'), '{}');
  }
}

describe('sync plan', () => {
  it("names docker destinations as skopeo does: the image's directory, its path with --scoped, plus the suffix", async () => {
    await withTempDir(async (root) => {
      await fakeDirImages(root, ['a:1', 'sub/b:2', 'a:1/nested:3']);
      const dests = async (extra: { scoped?: boolean; appendSuffix?: string }) =>
        (
          await planSync({
            sourceKind: 'dir',
            source: root,
            destinationKind: 'docker',
            destination: 'reg.example/ns/',
            ...extra,
          })
        ).entries.map((e) => e.destination.toString());
      // An image directory is not searched further (a:1/nested:3 is inside an image).
      assert.deepEqual(await dests({}), ['docker://reg.example/ns/a:1', 'docker://reg.example/ns/b:2']);
      assert.deepEqual(await dests({ scoped: true }), [
        'docker://reg.example/ns/a:1',
        'docker://reg.example/ns/sub/b:2',
      ]);
      assert.deepEqual(await dests({ appendSuffix: '-m' }), [
        'docker://reg.example/ns/a:1-m',
        'docker://reg.example/ns/b:2-m',
      ]);
    });
  });

  it('include and exclude filters narrow the images; dir to dir is refused as in skopeo', async () => {
    await withTempDir(async (root) => {
      await fakeDirImages(root, ['app:1.0', 'app:1.1', 'app:dev']);
      const plan = await planSync({
        sourceKind: 'dir',
        source: root,
        destinationKind: 'docker',
        destination: 'reg.example',
        includeTags: [':1\\.'],
        excludeTags: ['1\\.1$'],
      });
      assert.deepEqual(
        plan.entries.map((e) => e.key),
        ['app:1.0'],
      );
      assert.equal(plan.found, 3);
      await assert.rejects(
        planSync({ sourceKind: 'dir', source: root, destinationKind: 'dir', destination: join(root, 'x') }),
        (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT' && /rsync/.test(e.message),
      );
    });
  });

  it('shards: a fixed hash (same answer on every run and machine), every key in exactly one shard', () => {
    assert.equal(shardOf('quay.io/org/app:1.0', 7), shardOf('quay.io/org/app:1.0', 7));
    // sha256("quay.io/org/app:1.0"): the first 48 bits modulo 1000, computed once and pinned.
    assert.equal(shardOf('quay.io/org/app:1.0', 1000), 228);
    const keys = Array.from({ length: 300 }, (_, i) => `r/app:${i}`);
    const counts = [0, 0, 0];
    for (const k of keys) counts[shardOf(k, 3)]! += 1;
    assert.equal(
      counts.reduce((a, b) => a + b),
      300,
    );
    for (const c of counts) assert.ok(c > 70, `uneven: ${counts.join(',')}`);
    assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
    for (const bad of ['3/3', '1/0', '-1/2', 'a/b', '1']) {
      assert.throws(
        () => parseShard(bad),
        (e: unknown) => e instanceof FerryError && e.code === 'INVALID_ARGUMENT',
      );
    }
  });
});
