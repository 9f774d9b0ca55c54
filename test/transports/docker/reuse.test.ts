/**
 * Blob reuse against the real registry (counted from its access log): mounts into a new repository
 * of the same registry, a re-copy that moves no blob, zstd substitutes, and a refused mount (202).
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MemoryBlobInfoCache, openBlobInfoCache } from '../../../src/blobinfocache/index.js';
import { copyImage } from '../../../src/copy/index.js';
import type { CopyOptions, ProgressEvent } from '../../../src/copy/types.js';
import type { Digest } from '../../../src/digest/digest.js';
import { parseDockerImageReference } from '../../../src/transports/docker/reference.js';
import { parseOciReference } from '../../../src/transports/oci-layout/reference.js';
import { type MadeImage, makeImage } from '../../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { runFerry, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';

interface Request {
  method: string;
  path: string;
  status: number;
}

/** Requests logged (Apache combined format) since `from` bytes into the log. */
async function requestsSince(reg: TestRegistry, from: number): Promise<Request[]> {
  const log = (await readFile(reg.logPath)).subarray(from).toString('utf8');
  return [...log.matchAll(/"([A-Z]+) (\S+) HTTP\/[0-9.]+" ([0-9]{3})/g)].map((m) => ({
    method: m[1] ?? '',
    path: m[2] ?? '',
    status: Number(m[3]),
  }));
}

async function logSize(reg: TestRegistry): Promise<number> {
  return (await readFile(reg.logPath)).length;
}

function summary(requests: Request[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.method, (counts.get(r.method) ?? 0) + 1);
  return [...counts].map(([m, n]) => `${m} ${n}`).join(', ');
}

/** Runs `fn` and returns the registry requests it caused (the log is flushed per request; give it a moment). */
async function counted(reg: TestRegistry, fn: () => Promise<unknown>): Promise<Request[]> {
  const from = await logSize(reg);
  await fn();
  await new Promise((r) => setTimeout(r, 100));
  return requestsSince(reg, from);
}

describe('blob reuse with docker://', () => {
  let reg: TestRegistry;
  let dir: string;
  let image: MadeImage;

  before(async () => {
    reg = await startRegistry({ accessLog: true });
    dir = await makeTempDir('ferry-docker-reuse-');
    image = await makeImage(`${dir}/src`, { tag: 't', layers: 3, layerSize: 100_000, seed: 21 });
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a copy to a new repository of the same registry mounts every blob; a third copy moves no blob at all', async (t) => {
    const cachePath = join(dir, 'must-show.sqlite');
    const src = parseOciReference(`${dir}/src:t`);
    const options = (events: ProgressEvent[]): CopyOptions => ({
      destinationOptions: { tlsVerify: false },
      blobInfoCache: cachePath,
      onProgress: (e) => events.push(e),
    });
    const blobs = image.instances[0]?.layers.length ?? 0;
    assert.equal(blobs, 3);

    const firstEvents: ProgressEvent[] = [];
    const first = await counted(reg, () =>
      copyImage(src, parseDockerImageReference(`//${reg.host}/a/img:t`), options(firstEvents)),
    );
    assert.equal(first.filter((r) => r.method === 'PATCH').length, blobs + 1, summary(first));

    const secondEvents: ProgressEvent[] = [];
    let digest: Digest | undefined;
    const second = await counted(reg, async () => {
      digest = (await copyImage(src, parseDockerImageReference(`//${reg.host}/b/img:t`), options(secondEvents)))
        .manifestDigest;
    });
    assert.equal(digest, image.digest);
    const mounts = second.filter(
      (r) => r.method === 'POST' && r.path.includes('mount=') && r.path.includes('from=a%2Fimg'),
    );
    assert.equal(mounts.length, blobs + 1, summary(second)); // every layer and the config
    assert.ok(mounts.every((r) => r.status === 201));
    assert.equal(second.filter((r) => r.method === 'PATCH').length, 0, summary(second));
    assert.equal(secondEvents.filter((e) => e.kind === 'blob-skipped').length, blobs + 1);
    assert.equal(secondEvents.filter((e) => e.kind === 'blob-started').length, 0);

    const thirdEvents: ProgressEvent[] = [];
    const third = await counted(reg, () =>
      copyImage(src, parseDockerImageReference(`//${reg.host}/b/img:t`), options(thirdEvents)),
    );
    const moving = third.filter((r) => r.method !== 'HEAD' && !(r.method === 'GET' && r.path === '/v2/'));
    assert.deepEqual(moving, [], summary(third));
    // The tag already names this digest: one manifest HEAD and no blob checked at all (copy/noop.ts).
    assert.equal(third.filter((r) => r.method === 'HEAD').length, 1, summary(third));
    assert.ok(third.some((r) => r.method === 'HEAD' && r.path === '/v2/b/img/manifests/t' && r.status === 200));
    assert.equal(thirdEvents.filter((e) => e.kind === 'blob-skipped').length, 0);
    t.diagnostic(`requests: push ${summary(first)}; mount ${summary(second)}; re-copy ${summary(third)}`);

    const check = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/b/img:t`]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, image.bytes.toString());
  });

  test('a copy records where each blob now is and how it is compressed', async () => {
    const cachePath = join(dir, 'recording.sqlite');
    await copyImage(parseOciReference(`${dir}/src:t`), parseDockerImageReference(`//${reg.host}/rec/img:t`), {
      destinationOptions: { tlsVerify: false },
      blobInfoCache: cachePath,
    });
    const cache = openBlobInfoCache(cachePath);
    try {
      assert.equal(cache.kind, 'sqlite');
      for (const layer of image.instances[0]?.layers ?? []) {
        const candidates = cache.candidateLocations('docker', reg.host, layer.digest as Digest, {
          canSubstitute: false,
        });
        assert.deepEqual(
          candidates.map((c) => [c.location, c.compressorName]),
          [['rec/img', 'gzip']],
        );
      }
    } finally {
      cache.close();
    }
  });

  test('a zstd recompression is reused by the next zstd copy to another repository (mounted, same manifest)', async () => {
    const cachePath = join(dir, 'zstd.sqlite');
    const copy = (repo: string) =>
      runFerry([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--dest-compress-format',
        'zstd',
        '--blob-cache',
        cachePath,
        `oci:${dir}/src:t`,
        `docker://${reg.host}/${repo}:t`,
      ]);
    let r = await copy('z1/img');
    assert.equal(r.code, 0, r.stderr);
    const firstManifest = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/z1/img:t`]);
    const m1 = JSON.parse(firstManifest.stdout) as { layers: { mediaType: string; digest: string }[] };
    assert.ok(m1.layers.every((l) => l.mediaType === 'application/vnd.oci.image.layer.v1.tar+zstd'));

    const cache = openBlobInfoCache(cachePath);
    try {
      for (const [i, layer] of (image.instances[0]?.layers ?? []).entries()) {
        const zstd = m1.layers[i]?.digest as Digest;
        assert.equal(cache.uncompressedDigest(layer.digest as Digest), layer.diffID);
        assert.equal(cache.uncompressedDigest(zstd), layer.diffID);
      }
    } finally {
      cache.close();
    }

    const second = await counted(reg, async () => {
      r = await copy('z2/img');
    });
    assert.equal(r.code, 0, r.stderr);
    const secondManifest = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/z2/img:t`]);
    assert.equal(secondManifest.stdout, firstManifest.stdout);
    const mounts = second.filter((x) => x.method === 'POST' && x.path.includes('from=z1%2Fimg') && x.status === 201);
    assert.equal(mounts.length, m1.layers.length + 1, summary(second));
    assert.equal(second.filter((x) => x.method === 'PATCH').length, 0, summary(second));
  });

  test('a mount the registry answers with 202 (blob not in that repository) falls back to an upload', async () => {
    const cache = new MemoryBlobInfoCache();
    const layers = image.instances[0]?.layers ?? [];
    for (const l of layers) {
      cache.recordDigestCompressorName(l.digest as Digest, 'gzip');
      cache.recordKnownLocation('docker', reg.host, l.digest as Digest, 'nowhere/img');
    }
    let digest: Digest | undefined;
    const requests = await counted(reg, async () => {
      digest = (
        await copyImage(parseOciReference(`${dir}/src:t`), parseDockerImageReference(`//${reg.host}/fallback/img:t`), {
          destinationOptions: { tlsVerify: false },
          blobInfoCache: cache,
        })
      ).manifestDigest;
    });
    assert.equal(digest, image.digest);
    const refused = requests.filter((x) => x.method === 'POST' && x.path.includes('from=nowhere%2Fimg'));
    assert.equal(refused.length, layers.length, summary(requests));
    assert.ok(refused.every((x) => x.status === 202));
    // Each refused mount's upload session is cancelled, then the layer is uploaded.
    assert.equal(requests.filter((x) => x.method === 'DELETE').length, layers.length, summary(requests));
    assert.equal(requests.filter((x) => x.method === 'PATCH').length, layers.length + 1, summary(requests));
    // The cache now knows the real location.
    const candidates = cache.candidateLocations('docker', reg.host, layers[0]?.digest as Digest, {
      canSubstitute: false,
    });
    assert.equal(candidates[0]?.location, 'fallback/img');
    cache.close();
  });
});
