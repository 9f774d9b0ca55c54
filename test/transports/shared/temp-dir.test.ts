import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { bigFilesTempDir, makePrivateTempDir } from '../../../src/transports/shared/temp-dir.js';
import { withTempDir } from '../../helpers/tmp.js';

test("big temp files go to the caller's dir, else TMPDIR, else image_copy_tmp_dir, else /var/tmp", async () => {
  await withTempDir(async (dir) => {
    const conf = join(dir, 'containers.conf');
    await writeFile(conf, '[engine]\nimage_copy_tmp_dir = "/from/conf"\n');
    const env = { CONTAINERS_CONF: conf };
    assert.equal(await bigFilesTempDir('/flag', { ...env, TMPDIR: '/env' }), '/flag');
    assert.equal(await bigFilesTempDir(undefined, { ...env, TMPDIR: '/env' }), '/env');
    assert.equal(await bigFilesTempDir(undefined, env), '/from/conf');
    await writeFile(conf, '# empty\n');
    assert.equal(await bigFilesTempDir(undefined, env), '/var/tmp');
  });
});

test('a private temp dir is named ferry-<purpose>-<pid>-<random> and replaces stale ones', async () => {
  await withTempDir(async (dir) => {
    const made = await makePrivateTempDir(dir, 'oci-archive');
    assert.match(made, new RegExp(`/ferry-oci-archive-${process.pid}-[0-9a-f]{12}$`));
    await rm(made, { recursive: true });
    await writeFile(join(dir, 'ferry-docker-archive-999999999-0123456789ab'), '');
    const again = await makePrivateTempDir(dir, 'tarball');
    assert.deepEqual(await readdir(dir), [again.slice(dir.length + 1)]);
  });
});
