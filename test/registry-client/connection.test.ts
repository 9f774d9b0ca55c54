/**
 * Layer 1 on node:http, against in-process servers that force what a real registry will not do:
 * repeated headers, stalls, short bodies, bodies that do not match their Content-Length, and what
 * a keep-alive pool does with a body that is read, dumped or given up.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { Connection } from '../../src/registry-client/connection.js';
import { isDownOrSilent, networkError } from '../../src/registry-client/network-error.js';
import { isRetryableNetworkError } from '../../src/registry-client/retry.js';
import { repoRoot } from '../helpers/paths.js';

interface TestServer {
  url: URL;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const s = {
    url: new URL(`http://127.0.0.1:${port}/`),
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  cleanups.push(s.close);
  return s;
}

function connection(options: { headersTimeoutMs?: number; bodyTimeoutMs?: number } = {}): Connection {
  const c = new Connection({ userAgent: 'ferry-test/1', env: {}, ...options });
  cleanups.push(() => c.close());
  return c;
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('direct connections (node:http)', () => {
  test('a header sent once is a string, a repeated one every value in order', async () => {
    const s = await serve((_req, res) => {
      res.setHeader('www-authenticate', ['Bearer realm="https://a/token"', 'Basic realm="b"']);
      res.setHeader('docker-content-digest', 'sha256:00');
      res.statusCode = 401;
      res.end();
    });
    const res = await connection().send('GET', new URL('/v2/', s.url), {}, undefined, undefined);
    await res.body.dump();
    assert.equal(res.status, 401);
    assert.deepEqual(res.headers['www-authenticate'], ['Bearer realm="https://a/token"', 'Basic realm="b"']);
    assert.equal(res.headers['docker-content-digest'], 'sha256:00');
  });

  test('header names are lower-cased and mean only themselves: __proto__ and constructor are plain headers', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, [
        'Docker-Content-Digest',
        'sha256:01',
        '__proto__',
        'a',
        '__proto__',
        'b',
        'Constructor',
        'c',
      ]);
      res.end();
    });
    const res = await connection().send('HEAD', new URL('/v2/x/manifests/t', s.url), {}, undefined, undefined);
    await res.body.dump();
    assert.equal(Object.getPrototypeOf(res.headers), null);
    assert.equal(res.headers['docker-content-digest'], 'sha256:01');
    assert.deepEqual(Object.getOwnPropertyDescriptor(res.headers, '__proto__')?.value, ['a', 'b']);
    assert.equal(res.headers.constructor, 'c');
  });

  test('bodies read to the end or dumped keep the connection; a dumped body past the limit gives it up', async () => {
    const big = Buffer.alloc(1024 * 1024, 1);
    const s = await serve((req, res) => {
      const body = req.url === '/big' ? big : Buffer.from('small');
      res.setHeader('content-length', body.length);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    const c = connection();
    const get = (path: string) => c.send('GET', new URL(path, s.url), {}, undefined, undefined);
    assert.equal((await readAll((await get('/a')).body)).toString(), 'small');
    await (await get('/b')).body.dump();
    const head = await c.send('HEAD', new URL('/big', s.url), {}, undefined, undefined);
    await head.body.dump();
    assert.equal(s.connections(), 1, 'a read, a dumped small body or a HEAD cost a connection');
    await (await get('/big')).body.dump();
    await (await get('/c')).body.dump();
    assert.equal(s.connections(), 2, 'a 1 MiB body was read to keep its connection');
  });

  test('a Buffer body and a stream with Content-Length are sent with that length, not chunked', async () => {
    const seen: { length: string | undefined; chunked: boolean; bytes: number }[] = [];
    const s = await serve(async (req, res) => {
      const body = await readAll(req);
      seen.push({
        length: req.headers['content-length'],
        chunked: req.headers['transfer-encoding'] !== undefined,
        bytes: body.length,
      });
      res.statusCode = 202;
      res.end();
    });
    const c = connection();
    const url = new URL('/v2/r/blobs/uploads/x', s.url);
    await (await c.send('PATCH', url, {}, Buffer.from('abc'), undefined)).body.dump();
    const stream = Readable.from([Buffer.alloc(300_000, 2), Buffer.alloc(700_000, 3)]);
    await (await c.send('PATCH', url, { 'content-length': '1000000' }, stream, undefined)).body.dump();
    await (await c.send('POST', url, {}, undefined, undefined)).body.dump();
    assert.deepEqual(seen, [
      { length: '3', chunked: false, bytes: 3 },
      { length: '1000000', chunked: false, bytes: 1_000_000 },
      { length: '0', chunked: false, bytes: 0 },
    ]);
  });

  test('a stream longer or shorter than its Content-Length fails the request, as SIZE_MISMATCH', async () => {
    const s = await serve((req, res) => {
      req.resume();
      req.on('end', () => res.end());
    });
    const c = connection();
    const url = new URL('/upload', s.url);
    for (const parts of [[Buffer.alloc(10), Buffer.alloc(10)], [Buffer.alloc(5)]]) {
      const sent = c.send('PATCH', url, { 'content-length': '10' }, Readable.from(parts), undefined);
      const e = await sent.then(
        () => assert.fail('a body of the wrong length was accepted'),
        (err: unknown) => err,
      );
      assert.ok(isFerryError(networkError('PATCH /upload', e), 'SIZE_MISMATCH'), String(e));
      assert.equal(isRetryableNetworkError(e), false);
    }
  });

  test('no answer within the headers timeout fails as a silent, retryable registry', async () => {
    const s = await serve(() => {}); // never answers
    const started = Date.now();
    const e = await connection({ headersTimeoutMs: 200 })
      .send('GET', new URL('/v2/', s.url), {}, undefined, undefined)
      .then(
        () => assert.fail('answered'),
        (err: unknown) => err,
      );
    assert.ok(Date.now() - started < 5000);
    assert.equal((e as { code?: string }).code, 'FERRY_HEADERS_TIMEOUT');
    assert.ok(isDownOrSilent(e));
    assert.ok(isRetryableNetworkError(e));
    assert.match(networkError('GET /v2/', e).message, /no response headers for 200 ms/);
  });

  test('a body that stalls past the body timeout fails its stream, retryably', async () => {
    const s = await serve((_req, res) => {
      res.setHeader('content-length', '100');
      res.write(Buffer.alloc(10)); // and then nothing
    });
    const res = await connection({ headersTimeoutMs: 5000, bodyTimeoutMs: 200 }).send(
      'GET',
      new URL('/blob', s.url),
      {},
      undefined,
      undefined,
    );
    const e = await readAll(res.body).then(
      () => assert.fail('the body ended'),
      (err: unknown) => err,
    );
    assert.equal((e as { code?: string }).code, 'FERRY_BODY_TIMEOUT');
    assert.ok(isRetryableNetworkError(e));
  });

  test('a body cut short by the server fails its stream with a retryable reset', async () => {
    const s = await serve((_req, res) => {
      res.setHeader('content-length', '100');
      res.write(Buffer.alloc(10), () => res.socket?.destroy());
    });
    const res = await connection().send('GET', new URL('/blob', s.url), {}, undefined, undefined);
    const e = await readAll(res.body).then(
      () => assert.fail('the body ended'),
      (err: unknown) => err,
    );
    assert.ok(isRetryableNetworkError(e), String(e));
  });

  test('an abort fails the request before its answer, and the body after it', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/silent') return;
      res.setHeader('content-length', '100');
      res.write(Buffer.alloc(10));
    });
    const c = connection();
    const before = new AbortController();
    const pending = c.send('GET', new URL('/silent', s.url), {}, undefined, before.signal);
    setTimeout(() => before.abort(), 50);
    await assert.rejects(pending, (e: unknown) => isFerryError(e, 'ABORTED'));
    const during = new AbortController();
    const res = await c.send('GET', new URL('/blob', s.url), {}, undefined, during.signal);
    const reading = readAll(res.body);
    setTimeout(() => during.abort(), 50);
    await assert.rejects(reading, (e: unknown) => isFerryError(e, 'ABORTED'));
  });

  test('thirty requests on one signal: one abort fails them all, and node warns of no listener leak', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/silent') return;
      res.end('ok');
    });
    const c = connection();
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      // Answered requests stop watching the signal; pending ones all fail on its abort.
      for (let i = 0; i < 30; i++) {
        const res = await c.send('GET', new URL('/done', s.url), {}, undefined, shared.signal);
        await res.body.dump();
      }
      const pending = Array.from({ length: 30 }, () =>
        c.send('GET', new URL('/silent', s.url), {}, undefined, shared.signal),
      );
      await new Promise((r) => setTimeout(r, 50));
      shared.abort();
      const outcomes = await Promise.allSettled(pending);
      assert.equal(outcomes.filter((o) => o.status === 'rejected' && isFerryError(o.reason, 'ABORTED')).length, 30);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('close() fails a body still being read', async () => {
    const s = await serve((_req, res) => {
      res.setHeader('content-length', '100');
      res.write(Buffer.alloc(10));
    });
    const c = connection();
    const res = await c.send('GET', new URL('/blob', s.url), {}, undefined, undefined);
    const reading = readAll(res.body);
    await c.close();
    await assert.rejects(reading);
  });

  test('free keep-alive connections do not keep the process alive', async () => {
    const s = await serve((_req, res) => res.end('ok'));
    const module = pathToFileURL(join(repoRoot, 'dist', 'src', 'registry-client', 'connection.js')).href;
    const script = [
      `const { Connection } = await import(${JSON.stringify(module)});`,
      "const c = new Connection({ userAgent: 't', env: {}, headersTimeoutMs: 60000, bodyTimeoutMs: 60000 });",
      `const res = await c.send('GET', new URL(${JSON.stringify(s.url.href)}), {}, undefined, undefined);`,
      'for await (const _ of res.body);',
      // never closed: the free socket must not hold the process (the server keeps it 60 s)
    ].join('\n');
    const started = Date.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'inherit' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    assert.ok(Date.now() - started < 5000, `the process stayed ${Date.now() - started} ms`);
    assert.equal(s.connections(), 1);
  });
});
