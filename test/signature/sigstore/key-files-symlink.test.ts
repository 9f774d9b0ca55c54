/** generate-sigstore-key's files are never written through a symbolic link at the output path (security review). */
import assert from 'node:assert/strict';
import { lstat, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { writeSigstoreKeyFiles } from '../../../src/signature/sigstore/key-files.js';
import { makeTempDir } from '../../helpers/tmp.js';

test('a symbolic link at PREFIX.private or PREFIX.pub, dangling or not, is refused and nothing is written through it', async () => {
  const dir = await makeTempDir('ferry-key-symlink-');
  try {
    const outside = join(dir, 'outside');
    for (const suffix of ['.private', '.pub']) {
      const prefix = join(dir, `k${suffix.slice(1)}`);
      await symlink(outside, `${prefix}${suffix}`);
      await assert.rejects(writeSigstoreKeyFiles(prefix, 'pw'), (e: unknown) =>
        isFerryError(e, 'DESTINATION_NOT_EMPTY'),
      );
      await assert.rejects(lstat(outside), { code: 'ENOENT' }, 'written through the link');
    }
    assert.deepEqual((await readdir(dir)).sort(), ['kprivate.private', 'kpub.pub'], 'no temp file or key left');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
