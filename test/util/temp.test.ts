import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTempDirIn, processAlive, removeStaleTemps, tempName, tempNamePid } from '../../src/util/temp.js';
import { withTempDir } from '../helpers/tmp.js';

/** The pid of a process that has exited (the kernel may reuse it, but not within a test's few milliseconds). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const pid = Number(r.stdout);
  assert.ok(pid > 0 && !processAlive(pid));
  return pid;
}

test('temp names carry the pid and random hex, and give the pid back', () => {
  const name = tempName('ferry-oci-archive-');
  assert.match(name, new RegExp(`^ferry-oci-archive-${process.pid}-[0-9a-f]{12}$`));
  assert.equal(tempNamePid(name, 'ferry-oci-archive-'), process.pid);
  assert.equal(tempNamePid(name, 'ferry-archive-'), undefined);
  assert.equal(tempNamePid('ferry-oci-archive-12-zz', 'ferry-oci-archive-'), undefined);
  assert.notEqual(tempName('x-'), tempName('x-'));
});

test('makeTempDirIn makes a private directory with a temp name', async () => {
  await withTempDir(async (dir) => {
    const made = await makeTempDirIn(dir, 'ferry-tarball-');
    assert.equal(tempNamePid(made.slice(dir.length + 1), 'ferry-tarball-'), process.pid);
    const { stat } = await import('node:fs/promises');
    assert.equal((await stat(made)).mode & 0o777, 0o700);
  });
});

test('stale temps of a dead pid or older than a day are removed; live, own and foreign names stay', async () => {
  await withTempDir(async (dir) => {
    const dead = deadPid();
    const names = {
      deadDir: `ferry-oci-archive-${dead}-0123456789ab`,
      deadFile: `.ferry-blob-${dead}-0123456789ab`,
      live: `ferry-oci-archive-${process.ppid}-0123456789ab`,
      own: `ferry-oci-archive-${process.pid}-0123456789ab`,
      oldLive: `ferry-docker-archive-${process.ppid}-ba9876543210`,
      other: `ferry-oci-archive-${dead}-not-hex`,
      unrelated: 'my-ferry-files',
      link: `ferry-tarball-${dead}-0123456789ab`,
    };
    await mkdir(join(dir, names.deadDir));
    await writeFile(join(dir, names.deadDir, 'x'), 'x');
    await writeFile(join(dir, names.deadFile), 'x');
    await mkdir(join(dir, names.live));
    await mkdir(join(dir, names.own));
    await mkdir(join(dir, names.oldLive));
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    await utimes(join(dir, names.oldLive), twoDaysAgo, twoDaysAgo);
    await mkdir(join(dir, names.other));
    await mkdir(join(dir, names.unrelated));
    // A stale-named symlink is removed itself; what it points to is not touched.
    await mkdir(join(dir, 'target'));
    await writeFile(join(dir, 'target', 'keep'), 'k');
    await symlink(join(dir, 'target'), join(dir, names.link));
    const removed = await removeStaleTemps(dir, [
      'ferry-oci-archive-',
      'ferry-docker-archive-',
      'ferry-tarball-',
      '.ferry-blob-',
    ]);
    assert.deepEqual(
      removed.map((p) => p.slice(dir.length + 1)).sort(),
      [names.deadFile, names.deadDir, names.oldLive, names.link].sort(),
    );
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [names.live, names.other, names.own, 'target', names.unrelated].sort(),
    );
    assert.deepEqual(await readdir(join(dir, 'target')), ['keep']);
  });
});

test('stale-temp cleanup of a missing directory does nothing and does not fail', async () => {
  assert.deepEqual(await removeStaleTemps('/nonexistent/ferry-test-dir', ['ferry-']), []);
});
