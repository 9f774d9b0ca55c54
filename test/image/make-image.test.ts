import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'zstd-napi';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { withTempDir } from '../helpers/tmp.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function snapshot(layout: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { index: await readFile(path.join(layout, 'index.json'), 'utf8') };
  for (const name of await readdir(path.join(layout, 'blobs', 'sha256'))) out[name] = name;
  return out;
}

describe('make-image test helper', () => {
  it('makes byte-identical layouts from the same options', async () => {
    await withTempDir(async (dir) => {
      const options = { tag: 'x', platforms: ['linux/amd64', 'linux/arm64/v8'], seed: 3 };
      await makeImage(path.join(dir, 'a'), options);
      await makeImage(path.join(dir, 'b'), options);
      assert.deepEqual(await snapshot(path.join(dir, 'a')), await snapshot(path.join(dir, 'b')));
    });
  });

  it('records diff IDs that are the digests of the uncompressed layers, for gzip and zstd', async () => {
    await withTempDir(async (dir) => {
      for (const compression of ['gzip', 'zstd'] as const) {
        const made = await makeImage(dir, { tag: compression, compression });
        const instance = made.instances[0]!;
        const config = JSON.parse(instance.config.bytes.toString()) as { rootfs: { diff_ids: string[] } };
        for (const [i, layer] of instance.layers.entries()) {
          const blob = await readFile(blobPath(dir, layer.digest));
          assert.equal(sha256(blob), layer.digest);
          const raw = compression === 'gzip' ? gunzipSync(blob) : decompress(blob);
          assert.equal(sha256(raw), config.rootfs.diff_ids[i]);
        }
      }
    });
  });

  it('keeps other tags when adding one and replaces a tag given again', async () => {
    await withTempDir(async (dir) => {
      await makeImage(dir, { tag: 'a' });
      await makeImage(dir, { tag: 'b', seed: 2 });
      const again = await makeImage(dir, { tag: 'a', seed: 5 });
      const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
        manifests: { digest: string; annotations: Record<string, string> }[];
      };
      assert.deepEqual(
        index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']),
        ['b', 'a'],
      );
      assert.equal(index.manifests[1]?.digest, again.digest);
    });
  });
});
