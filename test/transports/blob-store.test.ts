/** storeBlob: content-addressed writes into a directory, with or without a digest the caller verifies. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { FerryError, isFerryError } from '../../src/errors.js';
import { storeBlob } from '../../src/transports/shared/blob-store.js';
import { withTempDir } from '../helpers/tmp.js';

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const pathFor = (dir: string) => (d: Digest) => path.join(dir, d.replace(':', '-'));

test('without callerVerifiesDigest, bytes that do not match the expected digest are DIGEST_MISMATCH and leave no file', async () => {
  await withTempDir(async (dir) => {
    const bytes = Buffer.from('actual bytes');
    await assert.rejects(
      storeBlob(Readable.from([bytes]), {
        tempDir: dir,
        pathFor: pathFor(dir),
        expectedDigest: sha(Buffer.from('other')),
        expectedSize: bytes.length,
      }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

test('with callerVerifiesDigest, the bytes are stored under the given digest without being hashed again', async () => {
  await withTempDir(async (dir) => {
    const bytes = Buffer.from('checked by the copy engine');
    // A digest that is not the bytes' own shows that the store relied on the caller's check.
    const vouched = sha(Buffer.from('the caller vouches for this digest'));
    const stored = await storeBlob(Readable.from([bytes]), {
      tempDir: dir,
      pathFor: pathFor(dir),
      expectedDigest: vouched,
      expectedSize: bytes.length,
      callerVerifiesDigest: true,
    });
    assert.deepEqual({ digest: stored.digest, size: stored.size }, { digest: vouched, size: bytes.length });
    assert.deepEqual(await readFile(stored.path), bytes);
  });
});

test('with callerVerifiesDigest, a stream that fails after its last byte leaves no blob and no temp file', async () => {
  await withTempDir(async (dir) => {
    const bytes = Buffer.from('all bytes arrive, then the verdict fails');
    const source = new PassThrough();
    source.write(bytes);
    setTimeout(() => source.destroy(new FerryError('DIGEST_MISMATCH', 'caller check failed')), 50);
    await assert.rejects(
      storeBlob(source, {
        tempDir: dir,
        pathFor: pathFor(dir),
        expectedDigest: sha(bytes),
        expectedSize: bytes.length,
        callerVerifiesDigest: true,
      }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

test('with callerVerifiesDigest, a stream of another length than announced is SIZE_MISMATCH and leaves no file', async () => {
  await withTempDir(async (dir) => {
    const bytes = Buffer.from('twelve bytes');
    await assert.rejects(
      storeBlob(Readable.from([bytes]), {
        tempDir: dir,
        pathFor: pathFor(dir),
        expectedDigest: sha(bytes),
        expectedSize: bytes.length + 3,
        callerVerifiesDigest: true,
      }),
      (e: unknown) => isFerryError(e, 'SIZE_MISMATCH'),
    );
    assert.deepEqual(await readdir(dir), []);
  });
});
