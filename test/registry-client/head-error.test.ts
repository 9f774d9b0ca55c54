/**
 * A failed HEAD is explained in the registry's own words: the request is sent once more as a GET
 * and its error body reported, as skopeo reports `unauthorized: authentication required`. The
 * real Distribution registry (htpasswd) shows the 401s; an in-process server the answers a real
 * registry will not give (a GET that succeeds where the HEAD failed, a GET of another status).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { RegistryClient, type RegistryClientOptions } from '../../src/registry-client/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type FakeHandler, type FakeServer, json, startFakeServer } from './fake-server.js';

const sha = (b: string): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const BLOB = sha('a blob');

describe('a failed HEAD on a real htpasswd registry carries the registry text', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(async () => {
    await reg?.stop();
  });

  for (const [name, options] of [
    ['no credentials', {}],
    ['a wrong password', { credentials: { username: 'testuser', password: 'wrong-Secret-7431' } }],
  ] as const) {
    test(`blob and manifest HEAD with ${name}: UNAUTHORIZED, "unauthorized: authentication required"`, async () => {
      const c = await RegistryClient.create(reg.host, { tlsVerify: false, ...options });
      try {
        const check = (e: unknown, what: string): boolean => {
          assert.ok(isFerryError(e, 'UNAUTHORIZED'), String(e));
          assert.equal(e.message, `${what}: HTTP 401: unauthorized: authentication required`);
          assert.equal(e.details.registryCode, 'UNAUTHORIZED');
          assert.doesNotMatch(e.message, /wrong-Secret/);
          return true;
        };
        await assert.rejects(c.blobExists('app', BLOB), (e) => check(e, `checking blob ${BLOB} in ${reg.host}/app`));
        await assert.rejects(c.headManifest('app', 'latest'), (e) =>
          check(e, `checking manifest ${reg.host}/app:latest`),
        );
      } finally {
        await c.close();
      }
    });
  }
});

describe('a failed HEAD against answers a real registry will not give', () => {
  const servers: FakeServer[] = [];
  const clients: RegistryClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.close();
  });

  async function clientFor(
    handler: FakeHandler,
    options: RegistryClientOptions = {},
  ): Promise<[RegistryClient, FakeServer]> {
    const s = await startFakeServer(handler);
    servers.push(s);
    const c = await RegistryClient.create(s.host, { tlsVerify: false, retry: { maxAttempts: 1 }, ...options });
    clients.push(c);
    return [c, s];
  }

  const methods = (s: FakeServer): string[] => s.requests.filter((r) => r.url !== '/v2/').map((r) => r.method);

  test('a 403 HEAD reports the GET error body: its code in words and its message, once', async () => {
    const [c, s] = await clientFor((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(403).end();
        return;
      }
      json(res, 403, { errors: [{ code: 'DENIED', message: 'pulls from app are \u001b[31mdenied', detail: {} }] });
    });
    await assert.rejects(
      c.blobExists('app', BLOB),
      (e: unknown) =>
        isFerryError(e, 'DENIED') &&
        e.message === `checking blob ${BLOB} in ${s.host}/app: HTTP 403: denied: pulls from app are  [31mdenied`,
    );
    assert.deepEqual(methods(s), ['HEAD', 'GET']);
  });

  test('a GET that succeeds where the HEAD failed is closed unread, and the HEAD status reported', async () => {
    let sent = 0;
    const [c, s] = await clientFor((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(500).end();
        return;
      }
      // A layer-sized answer: the client must not read it to explain an error.
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      const chunk = Buffer.alloc(64 * 1024);
      const write = (): void => {
        while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 64 * 1024 * 1024) res.once('drain', write);
      };
      res.on('error', () => {});
      write();
    });
    await assert.rejects(
      c.blobExists('app', BLOB),
      (e: unknown) =>
        isFerryError(e, 'REGISTRY_ERROR') &&
        e.message ===
          `checking blob ${BLOB} in ${s.host}/app: HTTP 500: internal server error, without a message from the registry`,
    );
    assert.deepEqual(methods(s), ['HEAD', 'GET']);
    assert.ok(sent < 16 * 1024 * 1024, `the client read ${sent} bytes of the GET`);
  });

  test('a GET of another status than the HEAD is not taken as its explanation', async () => {
    const [c, s] = await clientFor((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(401).end();
        return;
      }
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] });
    });
    await assert.rejects(
      c.headManifest('app', 'latest'),
      (e: unknown) =>
        isFerryError(e, 'UNAUTHORIZED') &&
        e.message ===
          `checking manifest ${s.host}/app:latest: HTTP 401: unauthorized (the registry wants other credentials, or some), without a message from the registry`,
    );
  });

  test('an error code without a message prints as the code in words', async () => {
    const [c, s] = await clientFor((_req, res) => {
      json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    });
    await assert.rejects(
      c.getManifest('app', 'latest'),
      (e: unknown) =>
        isFerryError(e, 'NAME_UNKNOWN') && e.message.endsWith(`${s.host}/app:latest: HTTP 404: name unknown`),
    );
  });
});
