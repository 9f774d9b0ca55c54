import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE, readAllLimited } from '../../src/manifest/index.js';

function chunks(total: number, chunk = 64 * 1024): Readable {
  let left = total;
  return new Readable({
    read() {
      if (left === 0) return this.push(null);
      const n = Math.min(chunk, left);
      left -= n;
      this.push(Buffer.alloc(n, 0x61));
    },
  });
}

test('the manifest and config limits are 4 MiB', () => {
  assert.equal(MAX_MANIFEST_SIZE, 4 * 1024 * 1024);
  assert.equal(MAX_CONFIG_SIZE, 4 * 1024 * 1024);
});

test('reads a stream of exactly the limit', async () => {
  const b = await readAllLimited(chunks(MAX_MANIFEST_SIZE), MAX_MANIFEST_SIZE, 'manifest');
  assert.equal(b.length, MAX_MANIFEST_SIZE);
});

test('fails with TOO_LARGE naming what and the limit one byte past it', async () => {
  await assert.rejects(
    readAllLimited(chunks(MAX_MANIFEST_SIZE + 1), MAX_MANIFEST_SIZE, 'manifest of docker://x/y:z'),
    (e) =>
      isFerryError(e, 'TOO_LARGE') &&
      e.message.includes('manifest of docker://x/y:z') &&
      e.message.includes(String(MAX_MANIFEST_SIZE)),
  );
});
