/**
 * The registry client's lower layers on their own, over a scripted connection: redirects never
 * carry credentials to another origin, the auth round answers only the registry's own challenges,
 * and retries follow the policy and Retry-After.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { Authenticator } from '../../src/registry-client/auth.js';
import { authorizedAttempt } from '../../src/registry-client/auth-round.js';
import { getWithoutCredentials, MAX_REDIRECTS, sendFollowingRedirects } from '../../src/registry-client/redirects.js';
import { retryPolicy } from '../../src/registry-client/retry.js';
import { sendRetrying } from '../../src/registry-client/retrying.js';
import { HTTPTransport } from '../../src/registry-client/transport.js';
import { fakeSend } from './fake-send.js';

const REGISTRY = 'https://registry.test';
const STORAGE = 'https://storage.test';
const AUTH = 'Basic c2VjcmV0';

describe('redirects layer', () => {
  test('the Authorization goes to the registry origin and never to the host a redirect leads to', async () => {
    const { send, sent } = fakeSend((req) =>
      req.url.startsWith(REGISTRY)
        ? { status: 307, headers: { location: `${STORAGE}/blob?sig=x` } }
        : { status: 200, body: 'data' },
    );
    const res = await sendFollowingRedirects(
      send,
      { method: 'GET' },
      new URL(`${REGISTRY}/v2/a/blobs/sha256:1`),
      REGISTRY,
      AUTH,
    );
    assert.equal(res.status, 200);
    assert.equal(res.url.origin, STORAGE);
    assert.deepEqual(
      sent.map((r) => [r.url, r.headers.authorization]),
      [
        [`${REGISTRY}/v2/a/blobs/sha256:1`, AUTH],
        [`${STORAGE}/blob?sig=x`, undefined],
      ],
    );
  });

  test('a redirect to the same host on another port or scheme is another origin and gets no credentials', async () => {
    const { send, sent } = fakeSend((req) =>
      req.url.startsWith(`${REGISTRY}/`)
        ? { status: 302, headers: { location: 'http://registry.test:8080/x' } }
        : { status: 200 },
    );
    await sendFollowingRedirects(send, { method: 'HEAD' }, new URL(`${REGISTRY}/v2/`), REGISTRY, AUTH);
    assert.equal(sent[1]?.url, 'http://registry.test:8080/x');
    assert.equal(sent[1]?.headers.authorization, undefined);
  });

  test('a 303 turns a PUT that follows redirects into a GET without the body', async () => {
    const { send, sent } = fakeSend((req) =>
      req.method === 'PUT' ? { status: 303, headers: { location: '/done' } } : { status: 200 },
    );
    await sendFollowingRedirects(
      send,
      { method: 'PUT', followRedirects: true, body: Buffer.from('x') },
      new URL(`${REGISTRY}/v2/up`),
      REGISTRY,
      AUTH,
    );
    assert.deepEqual(
      sent.map((r) => [r.method, r.url]),
      [
        ['PUT', `${REGISTRY}/v2/up`],
        ['GET', `${REGISTRY}/done`],
      ],
    );
  });

  test('an upload answer with a Location is returned, not followed', async () => {
    const { send, sent } = fakeSend(() => ({ status: 307, headers: { location: `${STORAGE}/elsewhere` } }));
    const res = await sendFollowingRedirects(
      send,
      { method: 'PATCH', body: Buffer.from('x') },
      new URL(`${REGISTRY}/v2/up`),
      REGISTRY,
      AUTH,
    );
    assert.equal(res.status, 307);
    assert.equal(sent.length, 1);
  });

  test('redirect loops and non-http(s) targets are REGISTRY_ERROR', async () => {
    const loop = fakeSend(() => ({ status: 302, headers: { location: '/again' } }));
    await assert.rejects(
      sendFollowingRedirects(loop.send, { method: 'GET' }, new URL(`${REGISTRY}/v2/`), REGISTRY, AUTH),
      (e) => isFerryError(e, 'REGISTRY_ERROR'),
    );
    assert.equal(loop.sent.length, MAX_REDIRECTS + 1);
    const file = fakeSend(() => ({ status: 302, headers: { location: 'file:///etc/passwd' } }));
    await assert.rejects(
      sendFollowingRedirects(file.send, { method: 'GET' }, new URL(`${REGISTRY}/v2/`), REGISTRY, AUTH),
      /non-http/,
    );
  });

  test('a GET without credentials sends no Authorization on any hop', async () => {
    const { send, sent } = fakeSend((req) =>
      req.url.startsWith(REGISTRY) ? { status: 301, headers: { location: `${STORAGE}/f` } } : { status: 200 },
    );
    const res = await getWithoutCredentials(send, new URL(`${REGISTRY}/layer.tar`));
    assert.equal(res.status, 200);
    assert.ok(sent.every((r) => r.headers.authorization === undefined));
    assert.equal(sent.length, 2);
  });
});

describe('auth round', () => {
  const basicAuth = (tokenRequests: URL[]): Authenticator =>
    new Authenticator({ credentials: { username: 'user', password: 'pw' } }, async (url) => {
      tokenRequests.push(url);
      return { status: 200, body: Buffer.from(JSON.stringify({ token: 'tok' })) };
    });

  test('a 401 from a host the registry redirected to is refused without a token request or a second try', async () => {
    const tokenRequests: URL[] = [];
    const auth = basicAuth(tokenRequests);
    const url = new URL(`${REGISTRY}/v2/a/blobs/sha256:1`);
    const { send, sent } = fakeSend((req) =>
      req.url.startsWith(REGISTRY)
        ? { status: 307, headers: { location: `${STORAGE}/b` } }
        : { status: 401, headers: { 'www-authenticate': 'Bearer realm="https://evil.test/token",service="x"' } },
    );
    const attempt = authorizedAttempt(
      auth,
      { method: 'GET', url, scopes: ['repository:a:pull'], replayable: true },
      REGISTRY,
      (authorization) => sendFollowingRedirects(send, { method: 'GET' }, url, REGISTRY, authorization),
    );
    await assert.rejects(
      attempt(),
      (e) => isFerryError(e, 'REGISTRY_ERROR') && /storage host storage\.test/.test(e.message),
    );
    assert.equal(tokenRequests.length, 0);
    assert.equal(auth.scheme, undefined, 'the foreign challenge is not adopted');
    assert.equal(sent.length, 2);
  });

  test("the registry's own 401 challenge is adopted once, with the scopes it asks for", async () => {
    const tokenRequests: URL[] = [];
    const auth = basicAuth(tokenRequests);
    const url = new URL(`${REGISTRY}/v2/a/manifests/latest`);
    const challenge = 'Bearer realm="https://registry.test/token",service="reg",scope="repository:b:pull"';
    const { send, sent } = fakeSend(() => ({ status: 401, headers: { 'www-authenticate': challenge } }));
    const attempt = authorizedAttempt(
      auth,
      { method: 'GET', url, scopes: ['repository:a:pull'], replayable: true },
      REGISTRY,
      (authorization) => sendFollowingRedirects(send, { method: 'GET' }, url, REGISTRY, authorization),
    );
    const res = await attempt();
    assert.equal(res.status, 401, 'a second 401 is the answer, not another round');
    assert.equal(sent.length, 2);
    assert.equal(sent[0]?.headers.authorization, undefined);
    assert.equal(sent[1]?.headers.authorization, 'Bearer tok');
    assert.deepEqual(tokenRequests[0]?.searchParams.getAll('scope'), ['repository:a:pull', 'repository:b:pull']);
  });

  test('a request whose body is a stream gets no auth round (it cannot be sent again)', async () => {
    const auth = basicAuth([]);
    const url = new URL(`${REGISTRY}/v2/a/blobs/uploads/1`);
    const { send, sent } = fakeSend(() => ({ status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } }));
    const attempt = authorizedAttempt(
      auth,
      { method: 'PATCH', url, scopes: [], replayable: false },
      REGISTRY,
      (authorization) => sendFollowingRedirects(send, { method: 'PATCH' }, url, REGISTRY, authorization),
    );
    assert.equal((await attempt()).status, 401);
    assert.equal(sent.length, 1);
  });
});

describe('retries layer', () => {
  const policy = retryPolicy({ maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 50 });

  test('a 503 is tried again up to the policy, and the last answer returned', async () => {
    let calls = 0;
    const { send } = fakeSend(() => ({ status: 503 }));
    const res = await sendRetrying({ policy, replayable: true, what: 'GET x' }, () => {
      calls++;
      return send('GET', new URL(`${REGISTRY}/v2/`), {}, undefined, undefined);
    });
    assert.equal(res.status, 503);
    assert.equal(calls, 3);
  });

  test('Retry-After decides the delay, bounded by maxDelayMs', async () => {
    let calls = 0;
    const { send } = fakeSend(() =>
      calls === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 },
    );
    const started = Date.now();
    const res = await sendRetrying({ policy, replayable: true, what: 'GET x' }, () => {
      calls++;
      return send('GET', new URL(`${REGISTRY}/v2/`), {}, undefined, undefined);
    });
    const waited = Date.now() - started;
    assert.equal(res.status, 200);
    assert.ok(waited >= 40 && waited < 2000, `waited ${waited} ms`);
  });

  test('a request with a streamed body is sent once, and a reset becomes REGISTRY_UNREACHABLE', async () => {
    let calls = 0;
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await assert.rejects(
      sendRetrying({ policy, replayable: false, what: 'PATCH x' }, async () => {
        calls++;
        throw reset;
      }),
      (e) => isFerryError(e, 'REGISTRY_UNREACHABLE') && e.message.startsWith('PATCH x: '),
    );
    assert.equal(calls, 1);
  });

  test('a reset of a replayable request is retried', async () => {
    let calls = 0;
    const res = await sendRetrying({ policy, replayable: true, what: 'GET x' }, async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
      return fakeSend(() => ({ status: 200 })).send('GET', new URL(REGISTRY), {}, undefined, undefined);
    });
    assert.equal(res.status, 200);
    assert.equal(calls, 2);
  });
});

describe('transport (layers composed)', () => {
  test('a blob GET redirected to storage carries the token to the registry only, after the ping adopted its challenge', async () => {
    const { send, sent } = fakeSend((req) => {
      if (req.url === `${REGISTRY}/v2/`)
        return {
          status: 401,
          headers: { 'www-authenticate': 'Bearer realm="https://registry.test/token",service="reg"' },
        };
      if (req.url.startsWith(`${REGISTRY}/token`)) return { status: 200, body: JSON.stringify({ token: 'tok' }) };
      if (req.url.startsWith(`${REGISTRY}/v2/a/blobs/`)) return { status: 307, headers: { location: `${STORAGE}/b` } };
      return { status: 200, body: 'blob' };
    });
    const t = new HTTPTransport(
      'registry.test',
      { retry: retryPolicy({ maxAttempts: 1 }), userAgent: 'test', credentials: { username: 'user', password: 'pw' } },
      send,
    );
    const res = await t.send({ method: 'GET', url: '/v2/a/blobs/sha256:1', scopes: ['repository:a:pull'] });
    assert.equal(res.status, 200);
    const blobHops = sent.filter((r) => r.url.includes('/blobs/') || r.url.startsWith(STORAGE));
    assert.deepEqual(
      blobHops.map((r) => [new URL(r.url).origin, r.headers.authorization]),
      [
        [REGISTRY, 'Bearer tok'],
        [STORAGE, undefined],
      ],
    );
    const token = sent.find((r) => r.url.startsWith(`${REGISTRY}/token`));
    assert.equal(token?.headers.authorization, `Basic ${Buffer.from('user:pw').toString('base64')}`);
  });
});
