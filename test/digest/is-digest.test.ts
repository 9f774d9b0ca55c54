import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDigest, parseDigest } from '../../src/digest/digest.js';

const hex = (n: number, c = 'a'): string => c.repeat(n);

test('isDigest answers exactly what parseDigest accepts, without throwing', () => {
  const cases = [
    `sha256:${hex(64)}`,
    `sha384:${hex(96, '0')}`,
    `sha512:${hex(128, 'f')}`,
    `sha256:${hex(63)}`,
    `sha256:${hex(65)}`,
    `sha256:${hex(64, 'A')}`,
    `sha256:${hex(64, 'g')}`,
    `md5:${hex(32)}`,
    `SHA256:${hex(64)}`,
    `:${hex(64)}`,
    'sha256:',
    'sha256',
    '',
    'latest',
    `sha256:${hex(32)}:${hex(31)}`,
    `sha256:${hex(64)}\n`,
  ];
  for (const s of cases) {
    let parses = true;
    try {
      parseDigest(s);
    } catch {
      parses = false;
    }
    assert.equal(isDigest(s), parses, JSON.stringify(s));
  }
  assert.equal(isDigest(`sha256:${hex(64)}`), true);
  assert.equal(isDigest('v1.2.3'), false);
});
