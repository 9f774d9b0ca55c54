/**
 * readFileLimited, the one size-capped whole-file read of the on-disk transports: by default it
 * reads the path as given (oci:, dir:); `regularFileOnly` (containers-storage) refuses a symbolic
 * link, a FIFO or a directory, and a file already past the cap, before reading it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { readFileLimited } from '../../../src/transports/shared/files.js';
import { makeTempDir } from '../../helpers/tmp.js';

describe('readFileLimited', () => {
  let dir = '';
  let file = '';
  let link = '';
  before(async () => {
    dir = await makeTempDir('ferry-read-limited-');
    file = path.join(dir, 'file');
    link = path.join(dir, 'link');
    await writeFile(file, 'contents');
    await symlink(file, link);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('by default reads a file, and one through a symbolic link; undefined when absent; TOO_LARGE past the cap', async () => {
    assert.equal((await readFileLimited(file, 100, 'f'))?.toString(), 'contents');
    assert.equal((await readFileLimited(link, 100, 'f'))?.toString(), 'contents');
    assert.equal(await readFileLimited(path.join(dir, 'absent'), 100, 'f'), undefined);
    await assert.rejects(
      readFileLimited(file, 4, 'the file'),
      (e) => isFerryError(e, 'TOO_LARGE') && e.message === 'the file is larger than the 4-byte limit',
    );
  });

  test('regularFileOnly reads a regular file, and undefined when absent', async () => {
    assert.equal((await readFileLimited(file, 100, 'f', { regularFileOnly: true }))?.toString(), 'contents');
    assert.equal(await readFileLimited(path.join(dir, 'absent'), 100, 'f', { regularFileOnly: true }), undefined);
  });

  test('regularFileOnly refuses a symbolic link, a directory and a FIFO (without blocking)', {
    timeout: 10_000,
  }, async () => {
    await assert.rejects(
      readFileLimited(link, 100, `store file ${link}`, { regularFileOnly: true }),
      (e) =>
        isFerryError(e, 'INVALID_LAYOUT') &&
        e.message === `store file ${link} is a symbolic link, which is not followed`,
    );
    const sub = path.join(dir, 'sub');
    await mkdir(sub);
    await assert.rejects(
      readFileLimited(sub, 100, 'a dir', { regularFileOnly: true }),
      (e) => isFerryError(e, 'INVALID_LAYOUT') && e.message === 'a dir is not a regular file',
    );
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(
      readFileLimited(fifo, 100, 'a fifo', { regularFileOnly: true }),
      (e) => isFerryError(e, 'INVALID_LAYOUT') && /not a regular file/.test(e.message),
    );
  });

  test('regularFileOnly refuses a file past the cap by its size, naming the size', async () => {
    const big = path.join(dir, 'big');
    await writeFile(big, '');
    await truncate(big, 1 << 30);
    await assert.rejects(
      readFileLimited(big, 1024, 'big', { regularFileOnly: true }),
      (e) => isFerryError(e, 'TOO_LARGE') && e.details?.['size'] === 1 << 30,
    );
  });
});
