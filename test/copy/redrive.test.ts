/**
 * Re-driving blob transfers (issue 10, defect 6): a transfer that breaks on a transient failure is
 * restarted (downloads resumed with Range or fetched again, uploads redone in a new session) within
 * a budget, and the copy ends with the exact digests or a typed error.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { copyImage, forgetRegistryPings, isFerryError, parseImageReference } from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { type FakeRegistry, type FakeRequest, startFakeRegistry } from './fake-registry.js';

let work = '';
let image: MadeImage;
let layout = '';
const registries: FakeRegistry[] = [];
let outputs = 0;

before(async () => {
  work = await makeTempDir('ferry-redrive-');
  layout = join(work, 'src');
  image = await makeImage(layout, {
    tag: 't1',
    layers: 2,
    layerSize: 400_000,
    entropy: 1,
    compression: 'gzip',
    seed: 5,
  });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

afterEach(async () => {
  for (const r of registries.splice(0)) await r.close();
});

/** Fast retries: the delays are not what these tests are about (except the Retry-After one). */
const fast = { retryTimes: 4, retryDelayMs: 5, tlsVerify: false } as const;

async function registry(): Promise<FakeRegistry> {
  const r = await startFakeRegistry();
  registries.push(r);
  return r;
}

function layerDigests(): string[] {
  return image.instances[0]!.layers.map((l) => l.digest);
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function push(reg: FakeRegistry, options: Record<string, unknown> = {}): Promise<void> {
  await copyImage(parseImageReference(`oci:${layout}:t1`), parseImageReference(`docker://${reg.host}/app/x:t1`), {
    destinationOptions: fast,
    blobInfoCache: 'memory',
    ...options,
  });
}

async function pull(reg: FakeRegistry, options: Record<string, unknown> = {}): Promise<string> {
  const dest = join(work, `out-${++outputs}`);
  await copyImage(parseImageReference(`docker://${reg.host}/app/x:t1`), parseImageReference(`oci:${dest}:t1`), {
    sourceOptions: fast,
    blobInfoCache: 'memory',
    ...options,
  });
  return dest;
}

/** Every blob of a layout read back: its bytes have the digest it is named by; the image's layers are all there. */
async function assertLayoutIntact(dir: string): Promise<void> {
  const names = await readdir(join(dir, 'blobs', 'sha256'));
  for (const name of names) {
    const bytes = await readFile(join(dir, 'blobs', 'sha256', name));
    assert.equal(sha256(bytes), `sha256:${name}`, `blob ${name} does not match its name`);
  }
  for (const d of [...layerDigests(), image.instances[0]!.config.digest])
    assert.ok(names.includes(d.slice('sha256:'.length)), `blob ${d} missing`);
}

function assertRegistryIntact(reg: FakeRegistry): void {
  for (const [digest, bytes] of reg.blobs) assert.equal(sha256(bytes), digest);
  for (const d of [...layerDigests(), image.instances[0]!.config.digest])
    assert.ok(reg.blobs.has(d), `blob ${d} was not pushed`);
  assert.ok(
    reg.manifests.get('app/x:t1')?.bytes.equals(image.instances[0]!.bytes),
    'the manifest was not pushed unchanged',
  );
}

/** Applies `fault` to the first `times` requests that match. */
function firstN(
  times: number,
  match: (r: FakeRequest) => boolean,
  fault: ReturnType<FakeRegistry['fault']>,
): FakeRegistry['fault'] {
  let left = times;
  return (r) => {
    if (left > 0 && match(r)) {
      left--;
      return fault;
    }
    return undefined;
  };
}

const isLayerGet = (digest: string) => (r: FakeRequest) => r.method === 'GET' && r.path.endsWith(`/blobs/${digest}`);

async function seeded(): Promise<FakeRegistry> {
  const reg = await registry();
  await push(reg);
  reg.requests.length = 0;
  return reg;
}

describe('downloads', () => {
  it('a reset in the middle of a blob GET is resumed with Range and the copy has the exact digests', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    reg.fault = firstN(1, isLayerGet(layer), { resetResponseAt: 150_000 });
    const out = await pull(reg);
    await assertLayoutIntact(out);
    const ranged = reg.requests.filter((r) => isLayerGet(layer)(r) && r.headers.range !== undefined);
    assert.ok(
      ranged.some((r) => r.headers.range !== 'bytes=0-'),
      'the broken read was not resumed with a Range',
    );
  });

  it('without Range support the blob is fetched again from the start', async () => {
    const reg = await seeded();
    reg.ranges = false;
    const layer = layerDigests()[1]!;
    reg.fault = firstN(1, isLayerGet(layer), { resetResponseAt: 150_000 });
    const out = await pull(reg);
    await assertLayoutIntact(out);
    assert.ok(reg.requests.filter((r) => isLayerGet(layer)(r) && r.headers.range === undefined).length >= 2);
  });

  it('a body that stalls past the idle timeout (FERRY_REGISTRY_TIMEOUT_MS) is re-driven', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    reg.fault = (r) =>
      isLayerGet(layer)(r) && reg.requests.filter(isLayerGet(layer)).length <= 2
        ? { stallResponseAt: 100_000 }
        : undefined;
    process.env.FERRY_REGISTRY_TIMEOUT_MS = '300';
    try {
      const started = Date.now();
      const out = await pull(reg);
      await assertLayoutIntact(out);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      delete process.env.FERRY_REGISTRY_TIMEOUT_MS;
    }
    assert.ok(reg.requests.filter(isLayerGet(layer)).length >= 3);
  });

  it('the registryTimeoutMs option cuts a stalled body short too', async () => {
    const reg = await seeded();
    const layer = layerDigests()[1]!;
    reg.fault = firstN(1, isLayerGet(layer), { stallResponseAt: 100_000 });
    const started = Date.now();
    const out = await pull(reg, { sourceOptions: { ...fast, registryTimeoutMs: 300 } });
    await assertLayoutIntact(out);
    assert.ok(Date.now() - started < 10_000);
  });

  it('bytes damaged in transit (a digest mismatch) are fetched again', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    reg.fault = firstN(1, isLayerGet(layer), { corrupt: true });
    const out = await pull(reg);
    await assertLayoutIntact(out);
    assert.equal(reg.requests.filter(isLayerGet(layer)).length, 2);
  });

  it('a damaged gzip layer that a decompression step refuses is fetched again', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    // Early in the deflate data: the decompressor fails long before the digest is known.
    reg.fault = firstN(1, isLayerGet(layer), { corrupt: true, at: 12 });
    const dest = join(work, `out-${++outputs}`);
    await copyImage(parseImageReference(`docker://${reg.host}/app/x:t1`), parseImageReference(`oci:${dest}:t1`), {
      sourceOptions: fast,
      blobInfoCache: 'memory',
      destinationCompression: { decompress: true },
    });
    assert.equal(reg.requests.filter(isLayerGet(layer)).length, 2);
    const names = await readdir(join(dest, 'blobs', 'sha256'));
    for (const name of names)
      assert.equal(sha256(await readFile(join(dest, 'blobs', 'sha256', name))), `sha256:${name}`);
  });

  it('a server that always resets ends in a typed error after the per-blob budget, counted', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    reg.fault = (r) => (isLayerGet(layer)(r) ? { resetResponseAt: 1000 } : undefined);
    await assert.rejects(
      pull(reg, { sourceOptions: { ...fast, retryTimes: 2 } }),
      (e: unknown) =>
        isFerryError(e, 'REGISTRY_UNREACHABLE') &&
        e.details.attempts === 3 &&
        /gave up after 3 attempts/.test(e.message),
    );
    // 3 transfers, each a first GET and its Range resumes.
    assert.equal(reg.requests.filter((r) => isLayerGet(layer)(r) && r.headers.range === undefined).length, 3);
  });

  it('the per-copy budget bounds re-drives across blobs', async () => {
    const reg = await seeded();
    reg.fault = (r) => (r.method === 'GET' && /\/blobs\/sha256:/.test(r.path) ? { status: 503 } : undefined);
    await assert.rejects(
      pull(reg, { sourceOptions: { ...fast, retryTimes: 0 }, blobRetry: { attemptsPerBlob: 10, retriesPerCopy: 2 } }),
      (e: unknown) => isFerryError(e, 'REGISTRY_ERROR') && /the copy's 2 retries are spent/.test(e.message),
    );
  });

  it('a refused blob (404) is not re-driven', async () => {
    const reg = await seeded();
    const layer = layerDigests()[0]!;
    reg.blobs.delete(layer);
    await assert.rejects(pull(reg), (e: unknown) => isFerryError(e, 'BLOB_UNKNOWN'));
    assert.equal(reg.requests.filter(isLayerGet(layer)).length, 1);
  });
});

describe('the CLI', () => {
  it('ferry copy --retry-times re-drives a reset blob, says so on stderr, and --retry-times 0 does not', async () => {
    const reg = await seeded();
    reg.ranges = false;
    const layer = layerDigests()[0]!;
    reg.fault = firstN(1, isLayerGet(layer), { resetResponseAt: 100_000 });
    const out = join(work, `cli-${++outputs}`);
    const r = await runFerry([
      'copy',
      '--src-tls-verify=false',
      '--retry-times',
      '2',
      '--retry-delay',
      '10ms',
      `docker://${reg.host}/app/x:t1`,
      `oci:${out}:t1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: copying blob sha256:[0-9a-f]{64} failed, retrying in 0s \(attempt 2 of 3\)/);
    await assertLayoutIntact(out);
    reg.fault = (q) => (isLayerGet(layer)(q) ? { resetResponseAt: 100_000 } : undefined);
    const failed = await runFerry([
      'copy',
      '--src-tls-verify=false',
      '--retry-times',
      '0',
      `docker://${reg.host}/app/x:t1`,
      `oci:${join(work, `cli-${++outputs}`)}:t1`,
    ]);
    assert.equal(failed.code, 1);
    assert.doesNotMatch(failed.stderr, /retrying/);
  });
});

describe('manifests', () => {
  it('a ping whose connection is dropped is tried again', async () => {
    const reg = await seeded();
    // The push pinged it: pings are shared per process, so forget that answer for the pull to ping.
    forgetRegistryPings();
    reg.fault = firstN(1, (r) => r.path === '/v2/', { drop: true });
    const out = await pull(reg);
    await assertLayoutIntact(out);
    assert.ok(reg.requests.filter((r) => r.path === '/v2/').length >= 2);
  });

  it('a manifest GET cut short is asked for again', async () => {
    const reg = await seeded();
    reg.fault = firstN(1, (r) => r.method === 'GET' && r.path.includes('/manifests/'), { resetResponseAt: 50 });
    const out = await pull(reg);
    await assertLayoutIntact(out);
    assert.ok(reg.requests.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length >= 2);
  });

  it('a 500 on the manifest PUT is retried', async () => {
    const reg = await registry();
    reg.fault = firstN(2, (r) => r.method === 'PUT' && r.path.includes('/manifests/'), { status: 500 });
    await push(reg);
    assertRegistryIntact(reg);
  });
});

const isPatch = (r: FakeRequest) => r.method === 'PATCH';
const isPost = (r: FakeRequest) => r.method === 'POST';
const isCompletingPut = (r: FakeRequest) => r.method === 'PUT' && r.path.includes('/blobs/uploads/');

describe('uploads', () => {
  it('a reset in the middle of a PATCH body is redone in a new upload session and the registry has the exact digests', async () => {
    const reg = await registry();
    reg.fault = firstN(1, (r) => isPatch(r) && Number(r.headers['content-length'] ?? 0) > 300_000, {
      resetRequestAt: 200_000,
    });
    await push(reg);
    assertRegistryIntact(reg);
    const blobs = 1 + layerDigests().length;
    assert.equal(reg.requests.filter(isPost).length, blobs + 1, 'the broken upload was not started again');
  });

  it('a 500 on the upload-completing PUT is re-driven', async () => {
    const reg = await registry();
    // More 500s than the request-level retries (5 tries): the blob's whole upload is redone.
    reg.fault = firstN(5, isCompletingPut, { status: 500 });
    await push(reg, { maxParallelBlobs: 1 });
    assertRegistryIntact(reg);
    assert.ok(reg.requests.filter(isPost).length > 1 + layerDigests().length);
  });

  it('an upload the registry stops reading and never answers is cut off by the timeout and redone', async () => {
    const reg = await registry();
    reg.fault = firstN(1, isPatch, { stallRequest: true });
    process.env.FERRY_REGISTRY_TIMEOUT_MS = '300';
    try {
      const started = Date.now();
      await push(reg);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      delete process.env.FERRY_REGISTRY_TIMEOUT_MS;
    }
    assertRegistryIntact(reg);
  });

  it('an upload session the registry lost (BLOB_UPLOAD_UNKNOWN) is started again', async () => {
    const reg = await registry();
    reg.fault = firstN(1, isPatch, { status: 404, code: 'BLOB_UPLOAD_UNKNOWN' });
    await push(reg);
    assertRegistryIntact(reg);
  });

  it('429 with Retry-After on a PATCH is honoured before the upload is redone', async () => {
    const reg = await registry();
    reg.fault = firstN(1, isPatch, { status: 429, headers: { 'retry-after': '1' } });
    await push(reg, { maxParallelBlobs: 1 });
    assertRegistryIntact(reg);
    const patches = reg.requests.filter(isPatch);
    const refused = patches[0]!;
    const posts = reg.requests.filter(isPost);
    const again = posts.find((p) => p.at > refused.at && reg.requests.indexOf(p) > reg.requests.indexOf(refused));
    assert.ok(again !== undefined);
    assert.ok(again.at - refused.at >= 900, `retried after ${again.at - refused.at} ms, not after Retry-After: 1`);
  });

  it('a registry that keeps resetting uploads ends in a typed error after the budget', async () => {
    const reg = await registry();
    reg.fault = (r) => (isPatch(r) ? { resetRequestAt: 1 } : undefined);
    await assert.rejects(
      push(reg, { destinationOptions: { ...fast, retryTimes: 1 }, maxParallelBlobs: 1 }),
      (e: unknown) => {
        assert.ok(isFerryError(e), String(e));
        assert.equal(e.code, 'REGISTRY_UNREACHABLE');
        assert.equal(e.details.attempts, 2);
        return true;
      },
    );
    assert.equal(reg.blobs.size, 0);
  });
});
