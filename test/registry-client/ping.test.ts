/**
 * Which scheme a ping asks, over a scripted connection: with verification off and an explicit port,
 * a plain-http registry answer settles it without any TLS attempt; anything else still prefers https.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FerryError, isFerryError } from '../../src/errors.js';
import { HTTPS_HEAD_START_MS, pingBase } from '../../src/registry-client/ping.js';
import { retryPolicy } from '../../src/registry-client/retry.js';
import { fakeSend, type ScriptedAnswer, type SentRequest } from './fake-send.js';

function context(
  host: string,
  tlsVerify: boolean,
  answer: (req: SentRequest) => ScriptedAnswer | Promise<ScriptedAnswer>,
) {
  const { send, sent } = fakeSend(answer);
  return {
    sent,
    ctx: {
      host,
      tlsVerify,
      send,
      policy: retryPolicy({ maxAttempts: 1 }),
      failure: async (res: { status: number }, what: string) =>
        new FerryError('REGISTRY_ERROR', `${what}: status ${res.status}`),
    },
  };
}

const refused = (): ScriptedAnswer => {
  throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
};

describe('ping scheme', () => {
  test('an insecure registry on an explicit port that answers plain http is never asked over TLS', async () => {
    const { ctx, sent } = context('127.0.0.1:5000', false, (req) =>
      req.url.startsWith('http:') ? { status: 200, body: '{}' } : refused(),
    );
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'http://127.0.0.1:5000/');
    assert.deepEqual(
      sent.map((r) => r.url),
      ['http://127.0.0.1:5000/v2/'],
    );
  });

  test('a 401 over plain http (credentials would follow) still has https asked, and preferred when it answers', async () => {
    const { ctx, sent } = context('[::1]:5000', false, () => ({
      status: 401,
      headers: { 'www-authenticate': 'Basic realm="r"' },
    }));
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'https://[::1]:5000/');
    assert.equal(got.challenges[0]?.scheme, 'basic');
    assert.deepEqual(
      sent.map((r) => r.url),
      ['http://[::1]:5000/v2/', 'https://[::1]:5000/v2/'],
    );
  });

  test('a 401 over plain http is used when https fails', async () => {
    const { ctx } = context('127.0.0.1:5000', false, (req) =>
      req.url.startsWith('http:') ? { status: 401, headers: { 'www-authenticate': 'Basic realm="r"' } } : refused(),
    );
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'http://127.0.0.1:5000/');
    assert.equal(got.challenges[0]?.scheme, 'basic');
  });

  test('a TLS port (400 to plain http) is then asked over https, and https is used', async () => {
    const { ctx, sent } = context('registry.test:5000', false, (req) =>
      req.url.startsWith('http:')
        ? { status: 400, body: 'Client sent an HTTP request to an HTTPS server.' }
        : { status: 200 },
    );
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'https://registry.test:5000/');
    assert.deepEqual(
      sent.map((r) => r.url),
      ['http://registry.test:5000/v2/', 'https://registry.test:5000/v2/'],
    );
  });

  test('a plain-http answer slower than the head start still loses to a working https', async () => {
    const { ctx, sent } = context('registry.test:5000', false, async (req) => {
      if (req.url.startsWith('https:')) return { status: 200 };
      await new Promise((r) => setTimeout(r, HTTPS_HEAD_START_MS * 3));
      return { status: 200 };
    });
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'https://registry.test:5000/');
    assert.equal(sent.length, 2);
  });

  test('without a port (443 and 80 are two servers) both are asked and https is preferred', async () => {
    const { ctx, sent } = context('registry.test', false, () => ({ status: 200 }));
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'https://registry.test/');
    assert.deepEqual(sent.map((r) => r.url).sort(), ['http://registry.test/v2/', 'https://registry.test/v2/']);
  });

  test('https reset again and again is not retried once plain http has answered as a registry', async () => {
    const reset = (): ScriptedAnswer => {
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    };
    const { ctx, sent } = context('registry.test', false, (req) =>
      req.url.startsWith('https:') ? reset() : { status: 200 },
    );
    ctx.policy = retryPolicy({ maxAttempts: 5, initialDelayMs: 200 });
    const started = Date.now();
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'http://registry.test/');
    assert.equal(sent.filter((r) => r.url.startsWith('https:')).length, 1);
    assert.ok(Date.now() - started < 150, `took ${Date.now() - started} ms`);
  });

  test('https reset with no plain-http answer is still retried by the policy', async () => {
    const { ctx, sent } = context('registry.test', true, (req) => {
      if (sent.length < 3) throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      return req.url.startsWith('https:') ? { status: 200 } : refused();
    });
    ctx.policy = retryPolicy({ maxAttempts: 5, initialDelayMs: 5 });
    const got = await pingBase(ctx);
    assert.equal(got.base.href, 'https://registry.test/');
    assert.equal(sent.length, 3);
  });

  test('with verification on, only https is asked, even on an explicit port', async () => {
    const { ctx, sent } = context('127.0.0.1:5000', true, (req) =>
      req.url.startsWith('https:') ? refused() : { status: 200 },
    );
    await assert.rejects(pingBase(ctx), (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE'));
    assert.deepEqual(
      sent.map((r) => r.url),
      ['https://127.0.0.1:5000/v2/'],
    );
  });

  test('neither scheme answering names both failures', async () => {
    const { ctx } = context('127.0.0.1:5000', false, refused);
    await assert.rejects(
      pingBase(ctx),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && /https: .*http: /.test(e.message),
    );
  });
});
