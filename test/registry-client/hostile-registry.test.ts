/**
 * A hostile registry (issue 10, defect 7): error codes that name Object.prototype members, terminal
 * escapes in its error text, endless or looping tag-list pagination; and foreign-layer URLs read
 * through the registry client's HTTP layer (proxy variables, timeouts) instead of the global fetch.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { FerryError, isFerryError } from '../../src/errors.js';
import { parseChallenges, RegistryClient } from '../../src/registry-client/index.js';
import { fetchExternalBlob } from '../../src/transports/shared/external-blob.js';
import { type FakeHandler, type FakeServer, json, startFakeServer } from './fake-server.js';

const servers: FakeServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fake(handler: FakeHandler): Promise<FakeServer> {
  const s = await startFakeServer(handler);
  servers.push(s);
  return s;
}

async function clientFor(server: FakeServer): Promise<RegistryClient> {
  const c = await RegistryClient.create(server.host, { tlsVerify: false, retry: { maxAttempts: 1 } });
  clients.push(c);
  return c;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('registry error codes are not looked up on Object.prototype', () => {
  for (const code of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    test(`an error with code "${code}" is an ordinary REGISTRY_ERROR`, async () => {
      const s = await fake((_req, res) => json(res, 400, { errors: [{ code, message: 'odd' }] }));
      const c = await clientFor(s);
      await assert.rejects(c.getManifest('x/y', 'latest'), (e: unknown) => {
        assert.ok(e instanceof FerryError);
        assert.equal(e.code, 'REGISTRY_ERROR');
        assert.equal(typeof e.code, 'string');
        return true;
      });
    });
  }

  test('challenge parameters named __proto__ or constructor are plain parameters', () => {
    const [challenge] = parseChallenges('Bearer __proto__="x",constructor="y",realm="https://auth.example/token"');
    assert.ok(challenge !== undefined);
    assert.equal(challenge.params.realm, 'https://auth.example/token');
    assert.equal(challenge.params.constructor, 'y');
    assert.equal(Object.getOwnPropertyDescriptor(challenge.params, '__proto__')?.value, 'x');
    assert.equal(Object.getPrototypeOf(challenge.params), Object.prototype);
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('credentials stay with the registry and its token realm', () => {
  test('a token realm that redirects elsewhere gets no credentials carried there', async () => {
    const elsewhere = await fake((_req, res) => json(res, 200, { token: 'from-elsewhere' }));
    const realm = await fake((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/token`, 'content-length': '0' });
      res.end();
    });
    const registry = await startFakeServer((req, res) => {
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="${realm.url}/token",service="reg"`,
        'content-length': '0',
      });
      res.end();
      void req;
    }, true);
    servers.push(registry);
    const c = await RegistryClient.create(registry.host, {
      tlsVerify: false,
      retry: { maxAttempts: 1 },
      credentials: { username: 'user', password: 'secret-marker' },
    });
    clients.push(c);
    await assert.rejects(c.getManifest('x/y', 'latest'), (e: unknown) => isFerryError(e));
    assert.ok(realm.requests.length > 0, 'the realm was not asked');
    assert.equal(elsewhere.requests.length, 0, 'the realm redirect was followed');
  });
});

describe('upload sessions on another host', () => {
  test('a 401 with a Bearer realm from an upload Location on another host sends no credentials and is a typed error', async () => {
    const realm = await fake((_req, res) => json(res, 200, { token: 'stolen' }));
    const storage = await fake((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${realm.url}/token"`, 'content-length': '0' });
        res.end();
      });
    });
    const registry = await startFakeServer((req, res) => {
      if (req.url === '/v2/') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="reg"', 'content-length': '0' });
        return res.end();
      }
      res.writeHead(202, { location: `${storage.url}/upload/1`, 'content-length': '0' });
      res.end();
    }, true);
    servers.push(registry);
    const c = await RegistryClient.create(registry.host, {
      tlsVerify: false,
      retry: { maxAttempts: 1 },
      credentials: { username: 'user', password: 'secret-marker' },
    });
    clients.push(c);
    await assert.rejects(c.uploadBlob('x/y', Readable.from([Buffer.from('abc')])), (e: unknown) => {
      assert.ok(isFerryError(e, 'REGISTRY_ERROR'), String(e));
      assert.match(e.message, /credentials are not sent to other hosts/);
      return true;
    });
    assert.ok(storage.requests.length > 0);
    for (const r of storage.requests) assert.equal(r.headers.authorization, undefined);
    assert.equal(realm.requests.length, 0);
  });
});

describe('registry error text is printable', () => {
  test('terminal escapes and carriage returns in an error message are stripped, and a long one is cut', async () => {
    const message = `denied\u001b[2J\u001b]0;owned\u0007\rfake prompt$ ${'A'.repeat(100_000)}`;
    const s = await fake((_req, res) => json(res, 403, { errors: [{ code: 'DENIED\u001b[31m', message }] }));
    const c = await clientFor(s);
    await assert.rejects(c.getManifest('x/y', 'latest'), (e: unknown) => {
      assert.ok(isFerryError(e));
      assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/);
      assert.match(e.message, /denied/);
      assert.ok(e.message.length < 2000, `the message is ${e.message.length} characters`);
      assert.doesNotMatch(JSON.stringify(e.details), /\\u001b|\\r/);
      return true;
    });
  });
});

describe('registry header values are printable', () => {
  test('a Content-Type holding a C1 terminal control is not taken as the manifest type', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 1 },
        layers: [],
      }),
    );
    const s = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-evil\u009b2J', 'content-length': String(manifest.length) });
      res.end(manifest);
    });
    const c = await clientFor(s);
    const m = await c.getManifest('x/y', 'latest');
    assert.equal(m.mimeType, 'application/vnd.oci.image.manifest.v1+json');
    const head = await c.headManifest('x/y', 'latest');
    assert.equal(head?.mimeType, undefined);
  });
});

describe('tag-list pagination is bounded', () => {
  test('an endless Link chain stops with TOO_LARGE at the page cap', async () => {
    const s = await fake((req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('last') ?? '0');
      json(res, 200, { name: 'x/y', tags: [`t${n}`] }, { link: `</v2/x/y/tags/list?last=${n + 1}>; rel="next"` });
    });
    const c = await clientFor(s);
    await assert.rejects(
      c.listTags('x/y', { maxPages: 50 }),
      (e: unknown) => isFerryError(e, 'TOO_LARGE') && e.details.limit === 50,
    );
    assert.equal(s.requests.filter((r) => r.url.includes('/tags/list')).length, 50);
  });

  test('a Link back to an earlier page is an error', async () => {
    const s = await fake((req, res) => {
      const last = new URL(req.url ?? '/', 'http://x').searchParams.get('last');
      json(
        res,
        200,
        { name: 'x/y', tags: [last ?? 'first'] },
        { link: last === null ? '</v2/x/y/tags/list?last=a>; rel="next"' : '</v2/x/y/tags/list>; rel="next"' },
      );
    });
    const c = await clientFor(s);
    await assert.rejects(
      c.listTags('x/y'),
      (e: unknown) => isFerryError(e, 'REGISTRY_ERROR') && /leads back to an earlier page/.test(e.message),
    );
    assert.equal(s.requests.filter((r) => r.url.includes('/tags/list')).length, 2);
  });

  test('past the entry cap the listing is TOO_LARGE', async () => {
    const s = await fake((_req, res) =>
      json(res, 200, { name: 'x/y', tags: Array.from({ length: 30 }, (_, i) => `t${i}`) }),
    );
    const c = await clientFor(s);
    await assert.rejects(c.listTags('x/y', { maxEntries: 10 }), (e: unknown) => isFerryError(e, 'TOO_LARGE'));
  });
});

describe('foreign-layer URLs go through the registry HTTP layer', () => {
  const blob = Buffer.from('foreign layer bytes');
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}` as Digest;

  test('HTTP_PROXY is honoured and no Authorization is sent', async () => {
    const origin = await fake((req, res) => {
      if (req.url !== '/layer.tar') return json(res, 404, {});
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    });
    // A forward proxy that sends every tunnel (or absolute-URL request) to `origin`, whatever host it names.
    const targets: string[] = [];
    const proxy = createServer((req, res) => {
      targets.push(req.url ?? '');
      const up = httpRequest(
        `${origin.url}${new URL(req.url ?? '/', 'http://x').pathname}`,
        { headers: req.headers },
        (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        },
      );
      req.pipe(up);
    });
    proxy.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      targets.push(req.url ?? '');
      const up = connect(Number(new URL(origin.url).port), '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(socket);
        socket.pipe(up);
      });
      up.on('error', () => socket.destroy());
      socket.on('error', () => up.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    const names = ['HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy'];
    const saved = names.map((n) => process.env[n]);
    for (const n of names) delete process.env[n];
    process.env.HTTP_PROXY = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    try {
      const { stream, size } = await fetchExternalBlob({
        digest,
        size: blob.length,
        urls: ['http://127.0.0.1:9/layer.tar'],
      });
      assert.equal(size, blob.length);
      assert.ok((await readAll(stream)).equals(blob));
    } finally {
      for (const [i, n] of names.entries()) {
        if (saved[i] === undefined) delete process.env[n];
        else process.env[n] = saved[i];
      }
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
    assert.equal(targets.length, 1, 'the request did not go through the proxy');
    assert.match(targets[0]!, /127\.0\.0\.1:9/);
    assert.equal(origin.requests.length, 1);
    assert.equal(origin.requests[0]!.headers.authorization, undefined);
  });

  test('a foreign server that stalls is cut off by FERRY_REGISTRY_TIMEOUT_MS', { timeout: 15_000 }, async () => {
    const s = await fake((_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 4));
    });
    process.env.FERRY_REGISTRY_TIMEOUT_MS = '300';
    try {
      const { stream } = await fetchExternalBlob({ digest, size: blob.length, urls: [`${s.url}/layer.tar`] });
      const started = Date.now();
      await assert.rejects(readAll(stream));
      assert.ok(Date.now() - started < 5000);
    } finally {
      delete process.env.FERRY_REGISTRY_TIMEOUT_MS;
    }
  });

  test('control characters in a foreign URL are not quoted into the error', async () => {
    await assert.rejects(fetchExternalBlob({ digest, size: 1, urls: ['ftp://x/\u001b[2J'] }), (e: unknown) => {
      assert.ok(isFerryError(e, 'BLOB_NOT_FOUND'));
      assert.doesNotMatch(e.message, /\u001b/);
      return true;
    });
  });
});
