/** Header and body parsing of the registry client: challenges, Link, Retry-After, error bodies. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseChallenges, parseRegistryErrors } from '../../src/registry-client/index.js';
import { registryError } from '../../src/registry-client/errors.js';
import { nextLink } from '../../src/registry-client/link.js';
import { parseRetryAfter, retryDelay, retryPolicy } from '../../src/registry-client/retry.js';

describe('WWW-Authenticate', () => {
  test('parses a Bearer challenge with quoted parameters', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/ubuntu:pull',
          },
        },
      ],
    );
  });

  test('splits several challenges in one header and across headers', () => {
    const got = parseChallenges([
      'Basic realm="r1", Bearer realm="https://t/x",error="insufficient_scope"',
      'Negotiate',
    ]);
    assert.deepEqual(
      got.map((c) => [c.scheme, c.params]),
      [
        ['basic', { realm: 'r1' }],
        ['bearer', { realm: 'https://t/x', error: 'insufficient_scope' }],
        ['negotiate', {}],
      ],
    );
  });

  test('keeps escaped quotes and commas inside quoted values', () => {
    assert.deepEqual(parseChallenges('Bearer realm="a\\"b,c", service=plain')[0]?.params, {
      realm: 'a"b,c',
      service: 'plain',
    });
  });
});

describe('Link', () => {
  test('finds the rel="next" target among several links', () => {
    assert.equal(nextLink('</v2/x/tags/list?n=2&last=b>; rel="next"'), '/v2/x/tags/list?n=2&last=b');
    assert.equal(nextLink('<http://a/prev>; rel="prev", <http://a/next>; rel=next'), 'http://a/next');
    assert.equal(nextLink('<http://a/prev>; rel="prev"'), undefined);
    assert.equal(nextLink(undefined), undefined);
  });
});

describe('Retry-After and backoff', () => {
  test('reads delta-seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('soon'), undefined);
  });

  test('doubles the delay and caps it, Retry-After included', () => {
    const p = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryDelay(p, a)),
      [100, 200, 400, 800, 1000],
    );
    assert.equal(retryDelay(p, 1, 120_000), 1000);
  });
});

describe('registry error bodies', () => {
  test('reads the Distribution errors array and ignores other shapes', () => {
    assert.deepEqual(parseRegistryErrors(Buffer.from('{"errors":[{"code":"DENIED","message":"no","detail":{}}]}')), [
      { code: 'DENIED', message: 'no' },
    ]);
    assert.deepEqual(parseRegistryErrors(Buffer.from('<html>')), []);
    assert.deepEqual(parseRegistryErrors(Buffer.from('{"errors":"x"}')), []);
  });

  test('an answer without a body (a HEAD) is named by its status, not "status 401"', () => {
    const e = registryError({
      what: 'checking blob sha256:x in r/p',
      status: 401,
      body: Buffer.alloc(0),
      operation: 'blob',
    });
    assert.equal(
      e.message,
      'checking blob sha256:x in r/p: HTTP 401: unauthorized (the registry wants other credentials, or some), without a message from the registry',
    );
    assert.equal(e.code, 'UNAUTHORIZED');
    const odd = registryError({ what: 'w', status: 418, body: Buffer.alloc(0), operation: 'other' });
    assert.equal(odd.message, 'w: HTTP 418: no details, without a message from the registry');
  });
});
