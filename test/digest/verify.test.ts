import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { digestOf } from '../../src/digest/digest.js';
import { Digester, DigestVerifier, digestStream } from '../../src/digest/verify.js';
import { FerryError, isFerryError } from '../../src/errors.js';
import { run } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

function chunked(bytes: Buffer, size = 1000): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts, { objectMode: false });
}

function collector(): { sink: Writable; bytes: () => Buffer } {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      parts.push(chunk);
      cb();
    },
  });
  return { sink, bytes: () => Buffer.concat(parts) };
}

test('Digester passes bytes through unchanged and reports the sha256sum digest and size', async () => {
  await withTempDir(async (dir) => {
    const data = randomBytes(300_000);
    const file = join(dir, 'blob');
    await writeFile(file, data);
    const digester = new Digester();
    const { sink, bytes } = collector();
    await pipeline(createReadStream(file), digester, sink);
    assert.deepEqual(bytes(), data);
    const sum = await run('sha256sum', [file]);
    assert.equal(digester.digest(), `sha256:${sum.stdout.split(' ')[0]}`);
    assert.equal(digester.size(), data.length);
  });
});

test('Digester computes sha512 when asked', async () => {
  const data = Buffer.from('hello digests');
  const digester = new Digester('sha512');
  await pipeline(chunked(data, 3), digester, collector().sink);
  assert.equal(digester.digest(), digestOf(data, 'sha512'));
});

test('Digester refuses to give a digest before the stream ended', () => {
  const digester = new Digester();
  digester.write(Buffer.from('partial'));
  assert.throws(
    () => digester.digest(),
    (e: unknown) => e instanceof FerryError,
  );
});

test('DigestVerifier passes matching content through', async () => {
  const data = randomBytes(50_000);
  const { sink, bytes } = collector();
  await pipeline(chunked(data), new DigestVerifier(digestOf(data), data.length), sink);
  assert.deepEqual(bytes(), data);
});

test('DigestVerifier passes matching content of unknown size through unchanged', async () => {
  const data = randomBytes(5000);
  const { sink, bytes } = collector();
  await pipeline(chunked(data, 700), new DigestVerifier(digestOf(data)), sink);
  assert.deepEqual(bytes(), data);
});

test('DigestVerifier fails content of unknown size with the wrong digest with DIGEST_MISMATCH', async () => {
  const data = randomBytes(5000);
  const expected = digestOf('other content');
  await assert.rejects(pipeline(chunked(data, 700), new DigestVerifier(expected), collector().sink), (e) => {
    assert.ok(isFerryError(e, 'DIGEST_MISMATCH'));
    assert.deepEqual(e.details, { expected, actual: digestOf(data) });
    return true;
  });
});

test('DigestVerifier fails with DIGEST_MISMATCH naming both digests', async () => {
  const data = Buffer.from('the real content');
  const expected = digestOf('other content');
  const actual = digestOf(data);
  await assert.rejects(pipeline(chunked(data, 4), new DigestVerifier(expected, data.length), collector().sink), (e) => {
    assert.ok(isFerryError(e, 'DIGEST_MISMATCH'));
    assert.equal(e.message, `digest mismatch: expected ${expected}, got ${actual}`);
    assert.deepEqual(e.details, { expected, actual });
    return true;
  });
});

test('DigestVerifier fails with SIZE_MISMATCH as soon as more bytes than expected arrive', async () => {
  const data = randomBytes(10_000);
  const { sink, bytes } = collector();
  await assert.rejects(pipeline(chunked(data, 1000), new DigestVerifier(digestOf(data), 2500), sink), (e) => {
    assert.ok(isFerryError(e, 'SIZE_MISMATCH'));
    assert.equal(e.details.expected, 2500);
    assert.equal(e.details.actual, 3000);
    return true;
  });
  // Only the chunks within the expected size went downstream.
  assert.ok(bytes().length <= 2500);
});

test('DigestVerifier fails with SIZE_MISMATCH at the end when fewer bytes arrived', async () => {
  const data = randomBytes(1000);
  await assert.rejects(pipeline(chunked(data), new DigestVerifier(digestOf(data), 1001), collector().sink), (e) => {
    assert.ok(isFerryError(e, 'SIZE_MISMATCH'));
    assert.deepEqual(e.details, { expected: 1001, actual: 1000 });
    return true;
  });
});

test('DigestVerifier rejects an invalid expected digest at construction', () => {
  assert.throws(
    () => new DigestVerifier('sha256:abc' as `${string}:${string}`),
    (e: unknown) => isFerryError(e, 'INVALID_DIGEST'),
  );
});

test('digestStream hashes a whole stream', async () => {
  const data = randomBytes(123_457);
  assert.deepEqual(await digestStream(chunked(data, 4096)), { digest: digestOf(data), size: data.length });
});

test('digestStream of an empty stream is the digest of no bytes', async () => {
  assert.deepEqual(await digestStream(Readable.from([], { objectMode: false })), { digest: digestOf(''), size: 0 });
});

test('digestStream rejects with ABORTED when its signal fires', async () => {
  const controller = new AbortController();
  const source = new PassThrough();
  source.write(Buffer.alloc(10));
  const pending = digestStream(source, 'sha256', controller.signal);
  controller.abort();
  await assert.rejects(pending, (e) => isFerryError(e, 'ABORTED'));
});
