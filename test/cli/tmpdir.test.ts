/**
 * Where `ferry copy` puts big temp files (`--tmpdir`, TMPDIR, containers.conf's image_copy_tmp_dir),
 * and that it removes the temp files a killed run left there (dead pid) but not a running one's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeImage } from '../helpers/make-image.js';
import { runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { TMPDIR: _t, CONTAINERS_CONF: _c, ...rest } = process.env;
  return { ...rest, FERRY_BLOB_CACHE: 'memory', ...extra };
}

/** Makes `parent/name` (a directory with a file in it). */
async function leftover(parent: string, name: string): Promise<void> {
  await mkdir(join(parent, name), { recursive: true });
  await writeFile(join(parent, name, 'partial'), 'x');
}

test("a copy removes the temp dirs and blob temp files of killed runs and keeps a running one's", async () => {
  await withTempDir(async (dir) => {
    await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 4096 });
    const tmp = join(dir, 'tmp');
    const dead = deadPid();
    const stale = `ferry-oci-archive-${dead}-0123456789ab`;
    const running = `ferry-oci-archive-${process.pid}-0123456789ab`;
    await leftover(tmp, stale);
    await leftover(tmp, running);
    const out = join(dir, 'out');
    await mkdir(join(out, 'blobs'), { recursive: true });
    await writeFile(join(out, 'blobs', `.ferry-blob-${dead}-0123456789ab`), 'partial');
    await writeFile(join(out, 'blobs', `.ferry-blob-${process.pid}-0123456789ab`), 'in flight');
    const staleArchive = `.a.tar.ferry-tmp-${dead}-0123456789ab`;
    await writeFile(join(dir, staleArchive), 'half an archive');
    const toArchive = await runFerry(['copy', '-q', `oci:${join(dir, 'src')}:t`, `oci-archive:${join(dir, 'a.tar')}`], {
      env: env({ TMPDIR: tmp }),
    });
    assert.equal(toArchive.code, 0, toArchive.stderr);
    assert.deepEqual(await readdir(tmp), [running]);
    assert.equal((await readdir(dir)).includes(staleArchive), false);
    const toLayout = await runFerry(['copy', '-q', `oci:${join(dir, 'src')}:t`, `oci:${out}:t`], {
      env: env({ TMPDIR: tmp }),
    });
    assert.equal(toLayout.code, 0, toLayout.stderr);
    assert.deepEqual((await readdir(join(out, 'blobs'))).sort(), [`.ferry-blob-${process.pid}-0123456789ab`, 'sha256']);
  });
});

test('temp dirs go to --tmpdir over TMPDIR, and to image_copy_tmp_dir of containers.conf without either', async () => {
  await withTempDir(async (dir) => {
    await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 4096 });
    const stale = `ferry-docker-archive-${deadPid()}-0123456789ab`;
    const [flag, envDir, confDir] = ['flag', 'env', 'conf'].map((n) => join(dir, n)) as [string, string, string];
    for (const d of [flag, envDir, confDir]) await leftover(d, stale);
    const conf = join(dir, 'containers.conf');
    await writeFile(conf, `[engine]\nimage_copy_tmp_dir = "${confDir}"\n`);
    const copy = (extra: string[], e: Record<string, string>) =>
      runFerry([...extra, 'copy', '-q', `oci:${join(dir, 'src')}:t`, `docker-archive:${join(dir, 'a.tar')}:t:1`], {
        env: env(e),
      });
    // Each run cleans only the directory it uses.
    const withFlag = await copy(['--tmpdir', flag], { TMPDIR: envDir, CONTAINERS_CONF: conf });
    assert.equal(withFlag.code, 0, withFlag.stderr);
    assert.deepEqual([await readdir(flag), await readdir(envDir), await readdir(confDir)], [[], [stale], [stale]]);
    const withEnv = await copy([], { TMPDIR: envDir, CONTAINERS_CONF: conf });
    assert.equal(withEnv.code, 0, withEnv.stderr);
    assert.deepEqual([await readdir(envDir), await readdir(confDir)], [[], [stale]]);
    const withConf = await copy([], { CONTAINERS_CONF: conf });
    assert.equal(withConf.code, 0, withConf.stderr);
    assert.deepEqual(await readdir(confDir), []);
  });
});

test('a broken containers.conf fails the copy with one line naming the file and line', async () => {
  await withTempDir(async (dir) => {
    await makeImage(join(dir, 'src'), { tag: 't', layers: 1, layerSize: 4096 });
    const conf = join(dir, 'containers.conf');
    await writeFile(conf, '[engine]\nimage_copy_tmp_dir = \n');
    const r = await runFerry(['copy', '-q', `oci:${join(dir, 'src')}:t`, `oci-archive:${join(dir, 'a.tar')}`], {
      env: env({ CONTAINERS_CONF: conf }),
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^ferry: containers.conf ${conf}: invalid TOML at line 2, column \\d+: .*\\n$`));
  });
});
