/** Proxies from the environment, the 413 → chunked upload fallback, identity tokens and retry settings. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { MediaType } from '../../src/manifest/mediatypes.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry-client/index.js';
import { registryClientOptions } from '../../src/transports/docker/source.js';
import { type FakeHandler, type FakeServer, json, startFakeServer } from './fake-server.js';

const sha = (b: Buffer | string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MANIFEST = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: sha('c'), size: 1 },
    layers: [],
  }),
);

const servers: FakeServer[] = [];
const clients: RegistryClient[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
  for (const close of closers.splice(0)) await close();
});

async function fake(handler: FakeHandler, handlePing = false): Promise<FakeServer> {
  const s = await startFakeServer(handler, handlePing);
  servers.push(s);
  return s;
}

async function clientFor(server: FakeServer, options: RegistryClientOptions = {}): Promise<RegistryClient> {
  const c = await RegistryClient.create(server.host, {
    tlsVerify: false,
    retry: { initialDelayMs: 5 },
    env: {},
    ...options,
  });
  clients.push(c);
  return c;
}

const serveManifest: FakeHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': MediaType.OCI_MANIFEST, 'content-length': String(MANIFEST.length) });
  res.end(MANIFEST);
};

/** A CONNECT-only HTTP proxy on 127.0.0.1 that records the targets it tunnelled to. */
async function startConnectProxy(): Promise<{ url: string; targets: string[] }> {
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(405);
    res.end();
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    targets.push(target);
    const [host, port] = target.split(':');
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(client).add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}`, targets };
}

describe('proxies from the environment', () => {
  test('HTTP_PROXY sends every registry request through the proxy when NO_PROXY is unset', async () => {
    const proxy = await startConnectProxy();
    const s = await fake(serveManifest);
    const c = await clientFor(s, { env: { HTTP_PROXY: proxy.url } });
    assert.ok((await c.getManifest('x/y', 'latest')).bytes.equals(MANIFEST));
    assert.ok(proxy.targets.length >= 1, 'the proxy saw no connection');
    assert.ok(
      proxy.targets.every((t) => t === s.host),
      proxy.targets.join(', '),
    );
    assert.deepEqual(
      s.requests.map((r) => r.url),
      ['/v2/', '/v2/x/y/manifests/latest'],
    );
  });

  test('thirty requests on one signal through the proxy: node warns of no listener leak, and an abort still stops one', async () => {
    const proxy = await startConnectProxy();
    const s = await fake((req, res, seen) => {
      if (req.url?.endsWith('/silent')) return;
      serveManifest(req, res, seen);
    });
    const c = await clientFor(s, { env: { HTTP_PROXY: proxy.url } });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const got = await Promise.all(Array.from({ length: 30 }, () => c.getManifest('x/y', 'latest', shared.signal)));
      assert.equal(got.length, 30);
      const held = c.getManifest('x/y', 'silent', shared.signal);
      await new Promise((r) => setTimeout(r, 100));
      shared.abort();
      await assert.rejects(held, (e: unknown) => isFerryError(e, 'ABORTED'));
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('NO_PROXY naming the registry host bypasses the proxy', async () => {
    const proxy = await startConnectProxy();
    const s = await fake(serveManifest);
    const c = await clientFor(s, { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    await c.getManifest('x/y', 'latest');
    assert.equal(proxy.targets.length, 0);
  });
});

describe('uploads refused as too large', () => {
  test('a 413 to the whole-blob PATCH is followed by a chunked upload with Content-Range', async () => {
    const blob = randomBytes(3 * 1024 * 1024 + 17);
    const received = new Map<string, Buffer[]>();
    let sessions = 0;
    const s = await fake((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (req.method === 'POST' && url.pathname === '/v2/x/y/blobs/uploads/') {
        const id = `s${++sessions}`;
        received.set(id, []);
        res.writeHead(202, { location: `/v2/x/y/blobs/uploads/${id}`, 'content-length': '0' });
        return res.end();
      }
      const id = url.pathname.split('/').at(-1) ?? '';
      if (req.method === 'PATCH') {
        if (req.headers['content-range'] === undefined) {
          // A proxy's body limit: refused from the headers, before the body is read.
          res.writeHead(413, { connection: 'close', 'content-length': '0' });
          return res.end();
        }
        req.on('data', (b: Buffer) => received.get(id)?.push(b));
        req.on('end', () => {
          res.writeHead(202, { location: `/v2/x/y/blobs/uploads/${id}`, 'content-length': '0' });
          res.end();
        });
        return;
      }
      if (req.method === 'PUT') {
        const ok = sha(Buffer.concat(received.get(id) ?? [])) === url.searchParams.get('digest');
        res.writeHead(ok ? 201 : 400, { 'content-length': '0' });
        return res.end();
      }
      if (req.method === 'DELETE') {
        res.writeHead(204);
        return res.end();
      }
      json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN', message: 'no' }] });
    });
    const c = await clientFor(s);
    const up = await c.uploadBlob('x/y', Readable.from([blob.subarray(0, 1000), blob.subarray(1000)]), {
      digest: sha(blob),
      size: blob.length,
    });
    assert.deepEqual(up, { digest: sha(blob), size: blob.length, mounted: false });
    const patches = s.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches[0]?.headers['content-range'], undefined);
    assert.ok(patches.length >= 2);
    assert.equal(patches[1]?.headers['content-range'], `0-${blob.length - 1}`);
    assert.ok(Buffer.concat(received.get('s2') ?? []).equals(blob));
  });
});

describe('identity tokens', () => {
  test('an identity token is exchanged with a refresh_token POST to the realm', async () => {
    const forms: URLSearchParams[] = [];
    let self: FakeServer | undefined;
    const s = await fake((req, res) => {
      const host = self?.url ?? '';
      if (req.url === '/token' && req.method === 'POST') {
        const chunks: Buffer[] = [];
        req.on('data', (b: Buffer) => chunks.push(b));
        req.on('end', () => {
          const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
          forms.push(form);
          if (form.get('refresh_token') !== 'refresh-me') return json(res, 401, {});
          json(res, 200, { access_token: 'from-refresh', expires_in: 300 });
        });
        return;
      }
      if (req.headers.authorization !== 'Bearer from-refresh') {
        return json(res, 401, {}, { 'www-authenticate': `Bearer realm="${host}/token",service="svc"` });
      }
      serveManifest(req, res, []);
    }, true);
    self = s;
    const c = await clientFor(s, { credentials: { identityToken: 'refresh-me' } });
    assert.ok((await c.getManifest('x/y', 'latest')).bytes.equals(MANIFEST));
    assert.equal(forms.length, 1);
    const form = forms[0]!;
    assert.equal(form.get('grant_type'), 'refresh_token');
    assert.equal(form.get('client_id'), 'ferry');
    assert.equal(form.get('service'), 'svc');
    assert.equal(form.get('scope'), 'repository:x/y:pull');
  });

  test('a refused identity token is UNAUTHORIZED without the token in the error', async () => {
    let self: FakeServer | undefined;
    const s = await fake((req, res) => {
      if (req.url === '/token') return json(res, 400, { error: 'invalid_grant' });
      json(res, 401, {}, { 'www-authenticate': `Bearer realm="${self?.url ?? ''}/token",service="svc"` });
    }, true);
    self = s;
    const c = await clientFor(s, { credentials: { identityToken: 'secret-refresh-token' } });
    const err = await c.getManifest('x/y', 'latest').then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(isFerryError(err, 'UNAUTHORIZED'), String(err));
    assert.ok(!`${String(err)} ${JSON.stringify(err.details)}`.includes('secret-refresh-token'));
  });
});

describe('retry settings', () => {
  test('retryTimes and retryDelayMs become the client retry policy', () => {
    assert.deepEqual(registryClientOptions({ retryTimes: 2, retryDelayMs: 10 }).retry, {
      maxAttempts: 3,
      initialDelayMs: 10,
      fixedDelay: true,
    });
    assert.equal(registryClientOptions({}).retry, undefined);
  });

  test('retryTimes bounds the tries of a request answered 503', async () => {
    const s = await fake((_req, res) => json(res, 503, { errors: [{ code: 'UNAVAILABLE', message: 'busy' }] }));
    const c = await clientFor(s, registryClientOptions({ retryTimes: 2, retryDelayMs: 1 }));
    await assert.rejects(c.getManifest('x/y', 'latest'), (e: unknown) => isFerryError(e) && e.details.status === 503);
    assert.equal(s.requests.filter((r) => r.url.includes('/manifests/')).length, 3);
  });
});
