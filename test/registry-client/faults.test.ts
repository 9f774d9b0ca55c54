/** RegistryClient against faults a real registry will not produce, served by an in-process HTTP server. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { MediaType } from '../../src/manifest/mediatypes.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry-client/index.js';
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

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const servers: FakeServer[] = [];
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fake(handler: FakeHandler, handlePing = false): Promise<FakeServer> {
  const s = await startFakeServer(handler, handlePing);
  servers.push(s);
  return s;
}

async function clientFor(server: FakeServer, options: RegistryClientOptions = {}): Promise<RegistryClient> {
  const c = await RegistryClient.create(server.host, { tlsVerify: false, retry: { initialDelayMs: 5 }, ...options });
  clients.push(c);
  return c;
}

function serveManifest(bytes: Buffer, headers: Record<string, string> = {}): FakeHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': MediaType.OCI_MANIFEST, 'content-length': String(bytes.length), ...headers });
    res.end(bytes);
  };
}

const manifestRequests = (s: FakeServer): number => s.requests.filter((r) => r.url.includes('/manifests/')).length;

describe('manifest verification', () => {
  test('a manifest that does not match its Docker-Content-Digest is DIGEST_MISMATCH', async () => {
    const s = await fake(serveManifest(MANIFEST, { 'docker-content-digest': sha('something else') }));
    const c = await clientFor(s);
    await assert.rejects(
      c.getManifest('x/y', 'latest'),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH') && e.details.expected === sha('something else'),
    );
  });

  test('a manifest fetched by digest whose bytes have another digest is DIGEST_MISMATCH', async () => {
    const s = await fake(serveManifest(MANIFEST));
    const c = await clientFor(s);
    const wanted = sha('the manifest we asked for');
    await assert.rejects(
      c.getManifest('x/y', wanted),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH') && e.details.expected === wanted,
    );
    const ok = await c.getManifest('x/y', sha(MANIFEST));
    assert.ok(ok.bytes.equals(MANIFEST));
  });

  test('a manifest over 4 MiB is TOO_LARGE, announced or streamed without a length', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const announced = await fake(serveManifest(big));
    await assert.rejects((await clientFor(announced)).getManifest('x/y', 'big'), (e: unknown) =>
      isFerryError(e, 'TOO_LARGE'),
    );
    const chunked = await fake((_req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OCI_MANIFEST });
      res.end(big);
    });
    await assert.rejects((await clientFor(chunked)).getManifest('x/y', 'big'), (e: unknown) =>
      isFerryError(e, 'TOO_LARGE'),
    );
  });
  test('a manifest body cut short is a typed error, not a short manifest', async () => {
    const s = await fake((req, res) => {
      res.writeHead(200, { 'content-type': MediaType.OCI_MANIFEST, 'content-length': String(MANIFEST.length) });
      res.write(MANIFEST.subarray(0, 20), () => setTimeout(() => req.socket.destroy(), 20));
    });
    await assert.rejects(
      (await clientFor(s)).getManifest('x/y', 'latest'),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && e.message.includes('cut short'),
    );
  });
});

describe('retries', () => {
  test('a 429 is retried after the Retry-After delay it asks for', async () => {
    const s = await fake((req, res, seen) => {
      if (seen.filter((r) => r.url === req.url).length === 1)
        return json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }, { 'retry-after': '1' });
      serveManifest(MANIFEST)(req, res, seen);
    });
    const c = await clientFor(s);
    const started = Date.now();
    const got = await c.getManifest('x/y', 'latest');
    assert.ok(got.bytes.equals(MANIFEST));
    assert.ok(Date.now() - started >= 900, `retried after ${Date.now() - started} ms`);
    assert.equal(manifestRequests(s), 2);
  });

  test('a 429 that never ends is TOOMANYREQUESTS after the bounded number of tries', async () => {
    const s = await fake((_req, res) =>
      json(res, 429, { errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }),
    );
    const c = await clientFor(s, { retry: { maxAttempts: 3, initialDelayMs: 5 } });
    await assert.rejects(
      c.getManifest('x/y', 'latest'),
      (e: unknown) => isFerryError(e, 'TOOMANYREQUESTS') && e.details.registryCode === 'TOOMANYREQUESTS',
    );
    assert.equal(manifestRequests(s), 3);
  });

  test('502 and 503 answers and a connection reset are retried on a GET', async () => {
    let n = 0;
    const s = await fake((req, res, seen) => {
      n++;
      if (n === 1) return json(res, 502, {});
      if (n === 2) return json(res, 503, {});
      if (n === 3) return req.socket.destroy();
      serveManifest(MANIFEST)(req, res, seen);
    });
    const c = await clientFor(s);
    assert.ok((await c.getManifest('x/y', 'latest')).bytes.equals(MANIFEST));
    assert.equal(manifestRequests(s), 4);
  });
});

describe('a manifest PUT answered MANIFEST_BLOB_UNKNOWN', () => {
  const blobUnknown: FakeHandler = (_req, res) =>
    json(res, 400, {
      errors: [
        { code: 'DIGEST_INVALID', message: 'provided digest did not match uploaded content' },
        { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: sha('c') },
      ],
    });
  const puts = (s: FakeServer): number => s.requests.filter((r) => r.method === 'PUT').length;

  test('is put again (a blob link being rewritten by another writer) and succeeds when the blob shows', async () => {
    const s = await fake((req, res, seen) => {
      if (seen.filter((r) => r.method === 'PUT').length <= 2) return blobUnknown(req, res, seen);
      res.writeHead(201, { 'docker-content-digest': sha(MANIFEST) });
      res.end();
    });
    const c = await clientFor(s);
    assert.equal(await c.putManifest('x/y', 't', MANIFEST, MediaType.OCI_MANIFEST), sha(MANIFEST));
    assert.equal(puts(s), 3);
  });

  test('fails after 4 tries when the blob stays unknown, naming it', async () => {
    const s = await fake(blobUnknown);
    const c = await clientFor(s);
    const started = Date.now();
    await assert.rejects(
      c.putManifest('x/y', 't', MANIFEST, MediaType.OCI_MANIFEST),
      (e: unknown) => isFerryError(e) && /blob unknown to registry/.test(e.message) && e.message.includes(sha('c')),
    );
    assert.equal(puts(s), 4);
    assert.ok(Date.now() - started >= 600, `gave up after ${Date.now() - started} ms`);
  });

  test('any other 400 is not put again', async () => {
    const s = await fake((_req, res) =>
      json(res, 400, { errors: [{ code: 'MANIFEST_INVALID', message: 'manifest invalid' }] }),
    );
    const c = await clientFor(s);
    await assert.rejects(c.putManifest('x/y', 't', MANIFEST, MediaType.OCI_MANIFEST), (e: unknown) =>
      isFerryError(e, 'MANIFEST_REJECTED'),
    );
    assert.equal(puts(s), 1);
  });
});

describe('aborting', () => {
  test('an abort during a retry delay ends the request with ABORTED at once', async () => {
    const s = await fake((_req, res) => json(res, 503, {}, { 'retry-after': '30' }));
    const c = await clientFor(s);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    await assert.rejects(c.getManifest('x/y', 'latest', ac.signal), (e: unknown) => isFerryError(e, 'ABORTED'));
    assert.ok(Date.now() - started < 5000);
  });

  test('an abort while a blob streams fails the stream with ABORTED', async () => {
    const s = await fake((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000)); // then stall
    });
    const c = await clientFor(s);
    const ac = new AbortController();
    const { stream } = await c.getBlob('x/y', sha('x'), ac.signal);
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(readAll(stream), (e: unknown) => isFerryError(e, 'ABORTED'));
  });
});

describe('pagination', () => {
  test('follows Link pages of the tags list', async () => {
    const all = Array.from({ length: 7 }, (_, i) => `t${i}`);
    const s = await fake((req, res) => {
      const u = new URL(req.url ?? '', 'http://x');
      const n = Number(u.searchParams.get('n') ?? 100);
      const last = u.searchParams.get('last');
      const from = last === null ? 0 : all.indexOf(last) + 1;
      const page = all.slice(from, from + n);
      const headers: Record<string, string> =
        from + n < all.length ? { link: `</v2/x/y/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"` } : {};
      json(res, 200, { name: 'x/y', tags: page }, headers);
    });
    const c = await clientFor(s);
    assert.deepEqual(await c.listTags('x/y', { pageSize: 3 }), all);
    assert.equal(s.requests.filter((r) => r.url.includes('tags/list')).length, 3);
  });

  test('refuses a Link header that points to another host', async () => {
    const s = await fake((_req, res) =>
      json(
        res,
        200,
        { name: 'x/y', tags: ['a'] },
        { link: '<http://evil.example:1/v2/x/y/tags/list?last=a>; rel="next"' },
      ),
    );
    const c = await clientFor(s);
    await assert.rejects(
      c.listTags('x/y'),
      (e: unknown) => isFerryError(e, 'REGISTRY_ERROR') && e.message.includes('another host'),
    );
  });
});

describe('blob reads', () => {
  const blob = Buffer.alloc(256 * 1024);
  for (let i = 0; i < blob.length; i++) blob[i] = (i * 7) & 0xff;

  test('a redirect to a storage host is followed without the registry Authorization header', async () => {
    const storage = await fake((_req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    });
    const registry = await fake((_req, res) => {
      res.writeHead(307, { location: `${storage.url}/bucket/blob?X-Signature=abc` });
      res.end();
    });
    const c = await clientFor(registry, { registryToken: 'registry-secret-token' });
    const { stream } = await c.getBlob('x/y', sha(blob));
    assert.ok((await readAll(stream)).equals(blob));
    const toRegistry = registry.requests.find((r) => r.url.includes('/blobs/'));
    assert.equal(toRegistry?.headers.authorization, 'Bearer registry-secret-token');
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0]?.headers.authorization, undefined);
  });

  test('a read that breaks midway is resumed with Range from the byte it reached', async () => {
    const s = await fake((req, res) => {
      const range = req.headers.range;
      if (range === undefined) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        res.write(blob.subarray(0, 100_000), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      const start = Number(/bytes=([0-9]+)-/.exec(range)?.[1]);
      res.writeHead(206, {
        'content-length': String(blob.length - start),
        'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
      });
      res.end(blob.subarray(start));
    });
    const c = await clientFor(s);
    const { stream, size } = await c.getBlob('x/y', sha(blob));
    assert.equal(size, blob.length);
    assert.ok((await readAll(stream)).equals(blob));
    const ranged = s.requests.filter((r) => r.headers.range !== undefined);
    assert.equal(ranged.length, 1);
    assert.ok(Number(/bytes=([0-9]+)-/.exec(ranged[0]!.headers.range!)?.[1]) >= 100_000);
  });

  test('a broken read the server cannot resume fails instead of ending short', async () => {
    const s = await fake((req, res) => {
      if (req.headers.range !== undefined) return json(res, 200, {});
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 1000), () => setTimeout(() => req.socket.destroy(), 20));
    });
    const c = await clientFor(s);
    const { stream } = await c.getBlob('x/y', sha(blob));
    // Still a broken read (REGISTRY_UNREACHABLE): the copy engine re-drives it from byte 0.
    await assert.rejects(
      readAll(stream),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && e.message.includes('cannot resume'),
    );
  });
});

describe('uploads', () => {
  /** A registry whose upload sessions live on `sessions` (another origin, or itself). */
  function uploadHandler(
    sessionsURL: () => string,
    onPut: (res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => void,
  ): FakeHandler {
    return (req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { location: `${sessionsURL()}/v2/x/y/blobs/uploads/u1?_state=s`, 'content-length': '0' });
        return res.end();
      }
      if (req.method === 'PATCH') {
        req.resume();
        req.on('end', () => {
          res.writeHead(202, { location: `${sessionsURL()}/v2/x/y/blobs/uploads/u1?_state=t`, 'content-length': '0' });
          res.end();
        });
        return;
      }
      if (req.method === 'PUT') return onPut(res, req);
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-length': '5' });
        return res.end();
      }
      json(res, 404, {});
    };
  }

  test('an upload session on another host gets the bytes but never the registry Authorization header', async () => {
    const sessions = await fake(
      uploadHandler(
        () => '',
        (res) => {
          res.writeHead(201, { 'content-length': '0' });
          res.end();
        },
      ),
    );
    const registry = await fake(
      uploadHandler(
        () => sessions.url,
        () => assert.fail('PUT must go to the session host'),
      ),
    );
    const c = await clientFor(registry, { registryToken: 'upload-secret' });
    const up = await c.uploadBlob('x/y', Readable.from([Buffer.from('hello')]));
    assert.deepEqual(up, { digest: sha('hello'), size: 5, mounted: false });
    assert.equal(registry.requests.find((r) => r.method === 'POST')?.headers.authorization, 'Bearer upload-secret');
    assert.deepEqual(
      sessions.requests.map((r) => [r.method, r.headers.authorization]),
      [
        ['PATCH', undefined],
        ['PUT', undefined],
      ],
    );
    assert.ok(sessions.requests[1]?.url.includes(`digest=${encodeURIComponent(sha('hello'))}`));
  });

  test('a final PUT whose first try landed before the connection broke counts as done when the blob is there', async () => {
    let puts = 0;
    let self: FakeServer | undefined;
    const s = await fake(
      uploadHandler(
        () => self?.url ?? '',
        (res, req) => {
          puts++;
          if (puts === 1) return req.socket.destroy();
          json(res, 404, { errors: [{ code: 'BLOB_UPLOAD_UNKNOWN', message: 'gone' }] });
        },
      ),
    );
    self = s;
    const c = await clientFor(s);
    const up = await c.uploadBlob('x/y', Readable.from([Buffer.from('hello')]), { size: 5 });
    assert.equal(up.digest, sha('hello'));
    assert.equal(puts, 2);
    assert.ok(s.requests.some((r) => r.method === 'HEAD' && r.url.endsWith(sha('hello'))));
  });
});

describe('bearer token auth', () => {
  const password = 'token-flow-p4ssword';
  function tokenRegistry(
    tokenAnswer: (res: import('node:http').ServerResponse, auth: string | undefined) => void,
  ): Promise<FakeServer> {
    let self: FakeServer | undefined;
    const handler: FakeHandler = (req, res) => {
      const host = self?.url ?? '';
      if (req.url?.startsWith('/token')) return tokenAnswer(res, req.headers.authorization);
      if (req.headers.authorization !== 'Bearer good-token') {
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          {
            'www-authenticate': `Bearer realm="${host}/token",service="fake-registry",scope="repository:x/y:pull"`,
          },
        );
      }
      if (req.url === '/v2/') return json(res, 200, {});
      serveManifest(MANIFEST)(req, res, []);
    };
    return fake(handler, true).then((s) => (self = s));
  }

  test('fetches a token with Basic credentials for the scope and service, and reuses it', async () => {
    const s = await tokenRegistry((res, auth) =>
      auth === `Basic ${Buffer.from(`user:${password}`).toString('base64')}`
        ? json(res, 200, { token: 'good-token', expires_in: 300 })
        : json(res, 401, {}),
    );
    const c = await clientFor(s, { credentials: { username: 'user', password } });
    await c.getManifest('x/y', 'latest');
    await c.getManifest('x/y', 'latest');
    const tokenRequests = s.requests.filter((r) => r.url.startsWith('/token'));
    assert.equal(tokenRequests.length, 1);
    const q = new URL(tokenRequests[0]!.url, s.url).searchParams;
    assert.equal(q.get('service'), 'fake-registry');
    assert.deepEqual(q.getAll('scope'), ['repository:x/y:pull']);
    assert.equal(q.get('account'), 'user');
  });

  test('an insufficient_scope answer is retried once with the wider scope it names', async () => {
    let self: FakeServer | undefined;
    const s = await fake((req, res) => {
      const host = self?.url ?? '';
      if (req.url?.startsWith('/token')) {
        const scopes = new URL(req.url, host).searchParams.getAll('scope').sort().join('+');
        return json(res, 200, { token: Buffer.from(scopes).toString('base64url') });
      }
      const token = Buffer.from((req.headers.authorization ?? '').replace(/^Bearer /, ''), 'base64url').toString();
      if (
        req.url === '/v2/' ||
        !token.includes('repository:x/y:pull') ||
        !token.includes('repository:other/repo:pull')
      ) {
        const extra =
          req.url === '/v2/'
            ? ''
            : ',error="insufficient_scope",scope="repository:x/y:pull repository:other/repo:pull"';
        return json(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'more scope' }] },
          {
            'www-authenticate': `Bearer realm="${host}/token",service="svc"${extra}`,
          },
        );
      }
      serveManifest(MANIFEST)(req, res, []);
    }, true);
    self = s;
    const c = await clientFor(s);
    assert.ok((await c.getManifest('x/y', 'latest')).bytes.equals(MANIFEST));
    const scopesAsked = s.requests
      .filter((r) => r.url.startsWith('/token'))
      .map((r) => new URL(r.url, s.url).searchParams.getAll('scope').sort());
    assert.deepEqual(scopesAsked, [['repository:x/y:pull'], ['repository:other/repo:pull', 'repository:x/y:pull']]);
  });

  test('a token endpoint refusing the credentials is UNAUTHORIZED without the password in the error', async () => {
    const s = await tokenRegistry((res) =>
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }),
    );
    const c = await clientFor(s, { credentials: { username: 'user', password } });
    const err = await c.getManifest('x/y', 'latest').then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(isFerryError(err, 'UNAUTHORIZED'), String(err));
    assert.ok(!`${String(err)} ${JSON.stringify(err.details)}`.includes(password));
  });

  test('a token endpoint answering garbage is REGISTRY_ERROR', async () => {
    const s = await tokenRegistry((res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>not a token</html>');
    });
    const c = await clientFor(s);
    await assert.rejects(
      c.getManifest('x/y', 'latest'),
      (e: unknown) => isFerryError(e, 'REGISTRY_ERROR') && e.message.includes('not JSON'),
    );
  });
});
