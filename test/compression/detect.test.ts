import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import { type DetectedCompression, detectCompression, detectStreamCompression } from '../../src/compression/detect.js';
import { fixturePath } from '../helpers/paths.js';

const samples: Array<[string, DetectedCompression]> = [
  ['Hello.gz', 'gzip'],
  ['Hello.zst', 'zstd'],
  ['Hello.bz2', 'bzip2'],
  ['Hello.xz', 'xz'],
  ['Hello.uncompressed', 'none'],
];

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

for (const [name, expected] of samples) {
  test(`detects ${expected} in the ${name} sample`, async () => {
    assert.equal(detectCompression(await readFile(fixturePath('compression', name))), expected);
  });
}

test('detects nothing in input shorter than any magic', () => {
  assert.equal(detectCompression(Buffer.from([0x1f, 0x8b])), 'none');
  assert.equal(detectCompression(Buffer.alloc(0)), 'none');
});

test('detects xz only with its full six-byte magic', () => {
  assert.equal(detectCompression(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x01])), 'none');
});

for (const [name, expected] of samples) {
  test(`detectStreamCompression finds ${expected} in ${name} and keeps every byte`, async () => {
    const path = fixturePath('compression', name);
    const { algorithm, stream } = await detectStreamCompression(createReadStream(path));
    assert.equal(algorithm, expected);
    assert.deepEqual(await readAll(stream), await readFile(path));
  });
}

test('detectStreamCompression assembles a magic split over one-byte chunks', async () => {
  const bytes = await readFile(fixturePath('compression', 'Hello.xz'));
  const source = Readable.from(
    [...bytes].map((b) => Buffer.from([b])),
    { objectMode: false },
  );
  const { algorithm, stream } = await detectStreamCompression(source);
  assert.equal(algorithm, 'xz');
  assert.deepEqual(await readAll(stream), bytes);
});

test('detectStreamCompression handles an empty stream', async () => {
  const { algorithm, stream } = await detectStreamCompression(Readable.from([], { objectMode: false }));
  assert.equal(algorithm, 'none');
  assert.equal((await readAll(stream)).length, 0);
});

test('detectStreamCompression passes a later source error to the returned stream', async () => {
  const source = new PassThrough();
  source.write(Buffer.from('plain text, long enough'));
  const { stream } = await detectStreamCompression(source);
  setImmediate(() => source.destroy(new Error('disk on fire')));
  await assert.rejects(readAll(stream), /disk on fire/);
});

test('destroying the returned stream destroys the source', async () => {
  const source = new PassThrough();
  source.write(Buffer.from('0123456789'));
  const { stream } = await detectStreamCompression(source);
  stream.resume();
  stream.destroy();
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(source.destroyed, true);
});

test('detectStreamCompression hands back the source itself, with the peeked bytes put back', async () => {
  const source = new PassThrough();
  source.end(Buffer.from('plain text, long enough to peek at'));
  const { algorithm, stream } = await detectStreamCompression(source);
  assert.equal(algorithm, 'none');
  assert.equal(stream, source);
  assert.equal((await readAll(stream)).toString(), 'plain text, long enough to peek at');
});

test('detectStreamCompression rejects with the error of a source that failed before detection', async () => {
  const source = new PassThrough();
  source.on('error', () => {});
  source.destroy(new Error('failed early'));
  await new Promise((resolve) => setImmediate(resolve));
  await assert.rejects(detectStreamCompression(source), /failed early/);
});
