import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { autoDecompressStream, compressStream, decompressStream } from '../../src/compression/codecs.js';
import { isFerryError } from '../../src/errors.js';
import { fixturePath } from '../helpers/paths.js';
import { run } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

function through(bytes: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const source = Readable.from([bytes], { objectMode: false });
  return readAll(source.pipe(transform) as unknown as Readable);
}

/** Compressible test data: repeated text mixed with random bytes. */
function sampleData(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 200; i++)
    parts.push(Buffer.from(`line ${i} of a layer that compresses well\n`.repeat(50)), randomBytes(500));
  return Buffer.concat(parts);
}

const hello = () => readFile(fixturePath('compression', 'Hello.uncompressed'));

test('decompresses the gzip and zstd samples to the uncompressed sample', async () => {
  for (const [file, algorithm] of [
    ['Hello.gz', 'gzip'],
    ['Hello.zst', 'zstd'],
  ] as const) {
    const out = await readAll(createReadStream(fixturePath('compression', file)).pipe(decompressStream(algorithm)));
    assert.deepEqual(out, await hello(), file);
  }
});

test('gzip round trip returns the original bytes and gunzip reads the output', async () => {
  const data = sampleData();
  const compressed = await through(data, compressStream('gzip'));
  assert.ok(compressed.length < data.length);
  assert.deepEqual(gunzipSync(compressed), data);
  assert.deepEqual(await through(compressed, decompressStream('gzip')), data);
});

test('gzip compression honours the level', async () => {
  const data = sampleData();
  const fast = await through(data, compressStream('gzip', 1));
  const best = await through(data, compressStream('gzip', 9));
  assert.ok(best.length < fast.length);
  assert.deepEqual(gunzipSync(fast), data);
});

test('zstd output decompresses with the zstd CLI to the original bytes', async () => {
  await withTempDir(async (dir) => {
    const data = sampleData();
    const input = join(dir, 'data');
    await writeFile(input, data);
    await pipeline(createReadStream(input), compressStream('zstd', 5), createWriteStream(join(dir, 'data.zst')));
    const result = await run('zstd', ['-d', '-q', '-f', join(dir, 'data.zst'), '-o', join(dir, 'cli-out')]);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(await readFile(join(dir, 'cli-out')), data);
  });
});

test('zstd decompression equals the zstd CLI output', async () => {
  await withTempDir(async (dir) => {
    const data = sampleData();
    const input = join(dir, 'data');
    await writeFile(input, data);
    const result = await run('zstd', ['-q', '-19', input, '-o', join(dir, 'data.zst')]);
    assert.equal(result.code, 0, result.stderr);
    const ours = await readAll(createReadStream(join(dir, 'data.zst')).pipe(decompressStream('zstd')));
    await run('zstd', ['-d', '-q', '-f', join(dir, 'data.zst'), '-o', join(dir, 'cli-out')]);
    assert.deepEqual(ours, await readFile(join(dir, 'cli-out')));
    assert.deepEqual(ours, data);
  });
});

test('refuses to decompress bzip2, naming the algorithm', () => {
  for (const algorithm of ['bzip2'] as const) {
    assert.throws(
      () => decompressStream(algorithm),
      (e: unknown) =>
        isFerryError(e, 'UNSUPPORTED_COMPRESSION') && e.message === `${algorithm}-compressed layers are not supported`,
    );
  }
});

test('rejects an out-of-range gzip level', () => {
  assert.throws(
    () => compressStream('gzip', 12),
    (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT'),
  );
});

test('truncated gzip input fails with CORRUPT_COMPRESSED_DATA keeping the cause', async () => {
  const compressed = gzipSync(sampleData());
  await assert.rejects(through(compressed.subarray(0, compressed.length - 100), decompressStream('gzip')), (e) => {
    assert.ok(isFerryError(e, 'CORRUPT_COMPRESSED_DATA'));
    assert.match(e.message, /^gzip-compressed data is corrupt or truncated/);
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

test('corrupt gzip input fails with CORRUPT_COMPRESSED_DATA', async () => {
  const compressed = Buffer.from(gzipSync(sampleData()));
  compressed.fill(0xff, 20, 60);
  await assert.rejects(through(compressed, decompressStream('gzip')), (e) =>
    isFerryError(e, 'CORRUPT_COMPRESSED_DATA'),
  );
});

test('truncated zstd input fails with CORRUPT_COMPRESSED_DATA keeping the cause', async () => {
  const compressed = await through(sampleData(), compressStream('zstd'));
  await assert.rejects(through(compressed.subarray(0, compressed.length - 50), decompressStream('zstd')), (e) => {
    assert.ok(isFerryError(e, 'CORRUPT_COMPRESSED_DATA'));
    assert.match(e.message, /^zstd-compressed data is corrupt or truncated/);
    assert.ok(e.cause instanceof Error);
    return true;
  });
});

test('corrupt zstd input fails with CORRUPT_COMPRESSED_DATA', async () => {
  const compressed = Buffer.from(await through(sampleData(), compressStream('zstd')));
  compressed.fill(0xff, 4, 40);
  await assert.rejects(through(compressed, decompressStream('zstd')), (e) =>
    isFerryError(e, 'CORRUPT_COMPRESSED_DATA'),
  );
});

test('autoDecompressStream decompresses gzip, zstd, xz and passes plain data through', async () => {
  for (const [file, algorithm] of [
    ['Hello.gz', 'gzip'],
    ['Hello.zst', 'zstd'],
    ['Hello.xz', 'xz'],
    ['Hello.uncompressed', 'none'],
  ] as const) {
    const result = await autoDecompressStream(createReadStream(fixturePath('compression', file)));
    assert.equal(result.algorithm, algorithm);
    assert.deepEqual(await readAll(result.stream), await hello(), file);
  }
});

test('autoDecompressStream refuses bzip2 and closes the source', async () => {
  const source = createReadStream(fixturePath('compression', 'Hello.bz2'));
  await assert.rejects(autoDecompressStream(source), (e) => isFerryError(e, 'UNSUPPORTED_COMPRESSION'));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(source.destroyed, true);
});

test('autoDecompressStream reports a source error unchanged, not as corrupt data', async () => {
  const source = new PassThrough();
  source.write(gzipSync(sampleData()).subarray(0, 200));
  const { stream } = await autoDecompressStream(source);
  setImmediate(() => source.destroy(new Error('read failed')));
  await assert.rejects(readAll(stream), (e) => e instanceof Error && e.message === 'read failed');
});

test('autoDecompressStream reports truncated gzip as corrupt', async () => {
  const compressed = gzipSync(sampleData());
  const { stream } = await autoDecompressStream(Readable.from([compressed.subarray(0, 300)], { objectMode: false }));
  await assert.rejects(readAll(stream), (e) => isFerryError(e, 'CORRUPT_COMPRESSED_DATA'));
});
