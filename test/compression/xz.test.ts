/**
 * xz decompression (lzma-native, liblzma) against the xz CLI: every integrity check type,
 * concatenated streams and stream padding as the .xz format allows them, corrupt and truncated
 * input as CORRUPT_COMPRESSED_DATA, and output held back while the reader is full.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { decompressStream } from '../../src/compression/codecs.js';
import { isFerryError } from '../../src/errors.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** `bytes` through the decompressor, fed in `chunk`-byte pieces. */
function decompress(bytes: Buffer, chunk = 64 * 1024): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  return readAll(Readable.from(pieces, { objectMode: false }).pipe(decompressStream('xz')));
}

/** The xz CLI's output for `input` with these arguments (it fails the test when xz fails). */
function xzCLI(input: Buffer, args: string[]): Buffer {
  return execFileSync('xz', ['-c', ...args], { input, maxBuffer: 1024 * 1024 * 1024 });
}

function sampleData(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 300; i++) parts.push(Buffer.from(`line ${i} of an xz layer\n`.repeat(40)), randomBytes(700));
  return Buffer.concat(parts);
}

test('decompresses what the xz CLI writes, with every integrity check type', async () => {
  const data = sampleData();
  for (const check of ['none', 'crc32', 'crc64', 'sha256']) {
    const compressed = xzCLI(data, [`--check=${check}`]);
    assert.deepEqual(await decompress(compressed), data, check);
    assert.deepEqual(await decompress(compressed, 7), data, `${check} in 7-byte chunks`);
  }
});

test('decompresses concatenated streams and stream padding, as xz -d does', async () => {
  const a = sampleData();
  const b = sampleData();
  const joined = Buffer.concat([xzCLI(a, []), Buffer.alloc(8), xzCLI(b, ['-1'])]);
  assert.deepEqual(await decompress(joined), Buffer.concat([a, b]));
  assert.deepEqual(await decompress(joined), xzCLI(joined, ['-d']));
});

test('truncated, corrupt and trailing-garbage xz fail with CORRUPT_COMPRESSED_DATA', async () => {
  const compressed = xzCLI(sampleData(), []);
  const corrupt = Buffer.from(compressed);
  // The last bytes of the block's CRC64, just before the index: the data decodes, the check fails.
  corrupt[compressed.length - 12 - 12 - 1] ^= 0xff;
  const cases: [string, Buffer][] = [
    ['truncated', compressed.subarray(0, compressed.length - 40)],
    ['bad check', corrupt],
    ['trailing garbage', Buffer.concat([compressed, Buffer.from('garbage')])],
    ['not xz', Buffer.from('this is not xz at all')],
  ];
  for (const [name, bytes] of cases) {
    await assert.rejects(
      decompress(bytes),
      (e) => {
        assert.ok(isFerryError(e, 'CORRUPT_COMPRESSED_DATA'), `${name}: ${String(e)}`);
        assert.match(e.message, /^xz-compressed data is corrupt or truncated: LZMA_/);
        assert.ok(e.cause instanceof Error);
        return true;
      },
      name,
    );
  }
});

test('an xz stream whose dictionary needs more than the memory limit is refused as TOO_LARGE', async () => {
  // A 512 MiB dictionary: liblzma would allocate it up front; 64 MiB (xz -9) is fine.
  assert.deepEqual(await decompress(xzCLI(Buffer.from('small'), ['-9'])), Buffer.from('small'));
  const compressed = xzCLI(Buffer.from('small'), ['--lzma2=dict=512MiB']);
  await assert.rejects(decompress(compressed), (e) => {
    assert.ok(isFerryError(e, 'TOO_LARGE'));
    assert.equal(
      e.message,
      'xz-compressed data needs more than 256 MiB of memory to decode (its dictionary is too large)',
    );
    return true;
  });
});

test('xz output waits for the reader: 256 MiB of zeros in ~40 KB of xz is not decoded at once', async () => {
  const size = 256 * 1024 * 1024;
  const compressed = execFileSync('sh', ['-c', `head -c ${size} /dev/zero | xz -c -1`]);
  assert.ok(compressed.length < 100_000, `${compressed.length} bytes of xz`);
  const decompressor = decompressStream('xz');
  Readable.from([compressed], { objectMode: false }).pipe(decompressor);
  await new Promise((resolve) => setTimeout(resolve, 300));
  // One step's output at most (1 KiB of input at ~7000:1), far from the whole.
  assert.ok(decompressor.readableLength < 16 * 1024 * 1024, `${decompressor.readableLength} bytes buffered`);
  let total = 0;
  for await (const chunk of decompressor) total += (chunk as Buffer).length;
  assert.equal(total, size);
});
