import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { classifyRequest, startFaultProxy, type FaultKind, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One request over `agent`; resolves with the status, headers, body and whether the socket was reused, or the error. */
function get(
  url: string,
  agent: Agent | false,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer; reused: boolean } | Error> {
  return new Promise((resolve) => {
    const req = request(url, { method, agent, timeout: 10_000 });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          reused: req.reusedSocket,
        }),
      );
      res.on('error', (e) => resolve(e));
      res.on('aborted', () => resolve(new Error('aborted')));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e));
    req.end();
  });
}

async function pushBlob(reg: TestRegistry, repo: string, body: Buffer): Promise<string> {
  const digest = sha256(body);
  const start = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  const location = new URL(start.headers.get('location') ?? '', reg.url);
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', body: new Uint8Array(body) });
  assert.equal(put.status, 201);
  return digest;
}

describe('fault proxy', () => {
  let reg: TestRegistry;
  let blob: Buffer;
  let digest: string;
  const proxies: FaultProxy[] = [];
  const proxy = async (o: Parameters<typeof startFaultProxy>[1] = {}): Promise<FaultProxy> => {
    const p = await startFaultProxy({ port: reg.port, restart: () => reg.restart() }, o);
    proxies.push(p);
    return p;
  };

  before(async () => {
    reg = await startRegistry();
    blob = Buffer.alloc(200_000, 'ferry fault proxy ');
    digest = await pushBlob(reg, 'p/blob', blob);
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.stop()));
    await reg.stop();
  });

  test('classifies Distribution API requests by method and path', () => {
    assert.equal(classifyRequest('GET', '/v2/'), 'ping');
    assert.equal(classifyRequest('GET', '/v2/a/b/blobs/sha256:00'), 'blob-get');
    assert.equal(classifyRequest('HEAD', '/v2/a/blobs/sha256:00'), 'blob-head');
    assert.equal(classifyRequest('POST', '/v2/a/b/blobs/uploads/'), 'upload-start');
    assert.equal(classifyRequest('PATCH', '/v2/a/blobs/uploads/1234?_state=x'), 'upload-patch');
    assert.equal(classifyRequest('PUT', '/v2/a/blobs/uploads/1234?_state=x&digest=sha256:00'), 'upload-put');
    assert.equal(classifyRequest('GET', '/v2/a/manifests/v1'), 'manifest-get');
    assert.equal(classifyRequest('HEAD', '/v2/a/manifests/v1'), 'manifest-head');
    assert.equal(classifyRequest('PUT', '/v2/a/manifests/v1'), 'manifest-put');
    assert.equal(classifyRequest('GET', '/v2/_catalog'), 'other');
  });

  test('passes requests through unchanged and keeps the client connection alive', async () => {
    const p = await proxy();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(`${p.url}/v2/p/blob/blobs/${digest}`, agent);
      const second = await get(`${p.url}/v2/p/blob/blobs/${digest}`, agent);
      assert.ok(!(first instanceof Error) && !(second instanceof Error));
      assert.equal(first.status, 200);
      assert.equal(sha256(first.body), digest);
      assert.equal(sha256(second.body), digest);
      assert.equal(second.reused, true);
      assert.equal(p.total(), 0);
      assert.equal(p.requests['blob-get'], 2);
    } finally {
      agent.destroy();
    }
  });

  test('answers 429 and 503 with Retry-After only for the -retry-after kinds, and counts each', async () => {
    const kinds: FaultKind[] = [
      'too-many-requests',
      'too-many-requests-retry-after',
      'unavailable',
      'unavailable-retry-after',
    ];
    const p = await proxy({
      rules: kinds.map((kind, i) => ({ kind, on: 'blob-get', nth: i + 1, retryAfterSeconds: 2 })),
    });
    const seen: [number, unknown][] = [];
    for (let i = 0; i < 5; i++) {
      const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
      assert.ok(!(r instanceof Error));
      seen.push([r.status, r.headers['retry-after']]);
    }
    assert.deepEqual(seen, [
      [429, undefined],
      [429, '2'],
      [503, undefined],
      [503, '2'],
      [200, undefined],
    ]);
    for (const k of kinds) assert.equal(p.counts[k], 1);
    assert.equal(p.total(), 4);
  });

  test('truncates a blob body at the offset and corrupts one byte without changing its length', async () => {
    const p = await proxy({
      rules: [
        { kind: 'truncate', on: 'blob-get', offset: 1000 },
        { kind: 'corrupt', on: 'blob-get', nth: 2, offset: 150_000 },
      ],
    });
    const cut = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
    assert.ok(cut instanceof Error || cut.body.length < blob.length, 'a truncated body must not arrive whole');
    const bad = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
    assert.ok(!(bad instanceof Error));
    assert.equal(bad.body.length, blob.length);
    assert.notEqual(sha256(bad.body), digest);
    assert.equal(bad.body.compare(blob, 0, 150_000, 0, 150_000), 0);
    assert.deepEqual([p.counts.truncate, p.counts.corrupt], [1, 1]);
  });

  test('resets the response at the offset', async () => {
    const p = await proxy({ rules: [{ kind: 'reset-response', on: 'blob-get', offset: 5000 }] });
    const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
    assert.ok(r instanceof Error || r.body.length < blob.length);
    assert.equal(p.counts['reset-response'], 1);
  });

  test('a stall holds the request, then resets it', async () => {
    const p = await proxy({ stallMs: 300, rules: [{ kind: 'stall', on: 'blob-head' }] });
    const started = Date.now();
    const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false, 'HEAD');
    assert.ok(r instanceof Error);
    assert.ok(Date.now() - started >= 250);
    assert.equal(p.counts.stall, 1);
  });

  test('a body stall sends the first bytes, holds the rest, then resets', async () => {
    const p = await proxy({ stallMs: 300, rules: [{ kind: 'stall-body', on: 'blob-get', offset: 10_000 }] });
    const started = Date.now();
    const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
    assert.ok(r instanceof Error || r.body.length < blob.length);
    assert.ok(Date.now() - started >= 250);
    assert.equal(p.counts['stall-body'], 1);
  });

  test('stops injecting after maxFaults', async () => {
    const p = await proxy({ maxFaults: 3, rules: [{ kind: 'unavailable', on: 'blob-head', times: 100 }] });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false, 'HEAD');
      assert.ok(!(r instanceof Error));
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [503, 503, 503, 200, 200, 200]);
    assert.equal(p.total(), 3);
  });

  test('the same seed and traffic give the same random faults', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const p = await proxy({
        random: { seed, probability: 0.5, weights: { unavailable: 1, 'too-many-requests': 1 } },
      });
      for (let i = 0; i < 20; i++) await get(`${p.url}/v2/p/blob/blobs/${digest}`, false, 'HEAD');
      return p.injected.map((f) => f.kind);
    };
    const [a, b, c] = [await run(42), await run(42), await run(43)];
    assert.ok(a.length > 0 && a.length < 20);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('a restart fault stops and starts the registry and the data survives', async () => {
    const p = await proxy({ rules: [{ kind: 'restart', on: 'manifest-put' }] });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: blob.length },
        layers: [],
      }),
    );
    await fetch(`${p.url}/v2/p/blob/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: new Uint8Array(manifest),
    }).catch(() => undefined);
    await p.settled();
    assert.equal(p.counts.restart, 1);
    const r = await get(`${p.url}/v2/p/blob/blobs/${digest}`, false);
    assert.ok(!(r instanceof Error));
    assert.equal(sha256(r.body), digest);
  });
});
