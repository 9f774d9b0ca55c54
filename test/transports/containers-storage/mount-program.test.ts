/**
 * containers-storage overlay with `mount_program = "/usr/bin/fuse-overlayfs"` in storage.conf: Ferry
 * records it as containers/storage's overlay driver does (`overlay/.has-mount-program`, "true", 0600),
 * and podman (Debian 4.3, same storage.conf) lists the image and mounts it through fuse-overlayfs.
 * As root: a non-root user cannot open /dev/fuse here (mode 0600), which the rootless path needs.
 */
import assert from 'node:assert/strict';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadStorageConf } from '../../../src/config/storage-conf.js';
import { run, runFerry } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { buildOciImage, richLayerDirs } from './fixtures.js';

const isRoot = process.getuid?.() === 0;
const FUSE_OVERLAYFS = '/usr/bin/fuse-overlayfs';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

test('storage.conf: a driver table ([storage.options.overlay]) gives DRIVER.key=value driver options', async () => {
  const dir = await makeTempDir('ferry-mount-program-conf-');
  try {
    const conf = path.join(dir, 'storage.conf');
    await writeFile(
      conf,
      `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/g"\nrunroot = "${dir}/r"\n[storage.options]\nsize = "10G"\n[storage.options.overlay]\nmount_program = "${FUSE_OVERLAYFS}"\nmountopt = "nodev"\n`,
    );
    const loaded = await loadStorageConf({ env: { CONTAINERS_STORAGE_CONF: conf, HOME: dir }, uid: 0 });
    assert.deepEqual(loaded.driverOptions, [
      'size=10G',
      `overlay.mount_program=${FUSE_OVERLAYFS}`,
      'overlay.mountopt=nodev',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('containers-storage overlay through fuse-overlayfs (mount_program)', {
  skip: !isRoot ? 'needs root (podman mounts; /dev/fuse is root-only here)' : false,
}, () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let graphRoot: string;
  let runRoot: string;
  let layout: string;

  before(async () => {
    dir = await makeTempDir('ferry-mount-program-');
    graphRoot = path.join(dir, 'root');
    runRoot = path.join(dir, 'run');
    const conf = path.join(dir, 'storage.conf');
    await writeFile(
      conf,
      `[storage]\ndriver = "overlay"\ngraphroot = "${graphRoot}"\nrunroot = "${runRoot}"\n[storage.options.overlay]\nmount_program = "${FUSE_OVERLAYFS}"\n`,
    );
    env = { ...process.env, CONTAINERS_STORAGE_CONF: conf };
    layout = path.join(dir, 'oci');
    await buildOciImage(layout, 'rich', await richLayerDirs(path.join(dir, 'src')), { compression: 'gzip' });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('ferry writes .has-mount-program; podman lists the image and mounts it with fuse-overlayfs', async (t) => {
    if (!(await exists(FUSE_OVERLAYFS))) return t.skip('fuse-overlayfs is not installed');
    const copied = await runFerry(['copy', `oci:${layout}:rich`, 'containers-storage:localhost/fuse:1'], { env });
    assert.equal(copied.code, 0, copied.stderr);

    const flag = path.join(graphRoot, 'overlay', '.has-mount-program');
    assert.equal(await readFile(flag, 'utf8'), 'true');
    assert.equal((await stat(flag)).mode & 0o777, 0o600);

    const images = await run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}'], { env });
    assert.equal(images.code, 0, images.stderr);
    assert.match(images.stdout, /localhost\/fuse:1/);

    const mounted = await run('podman', ['image', 'mount', 'localhost/fuse:1'], { env });
    if (mounted.code !== 0 && /fuse/i.test(mounted.stderr))
      return t.skip(`fuse-overlayfs cannot mount here: ${mounted.stderr.trim()}`);
    assert.equal(mounted.code, 0, mounted.stderr);
    const merged = mounted.stdout.trim();
    try {
      const mounts = await readFile('/proc/self/mounts', 'utf8');
      assert.ok(
        mounts.split('\n').some((l) => l.split(' ')[1] === merged && l.split(' ')[2] === 'fuse.fuse-overlayfs'),
        `${merged} is not a fuse-overlayfs mount`,
      );
      // Through fuse-overlayfs: the upper layer's file wins, its whiteout hides `gone`, the opaque dir hides old files.
      assert.equal(await readFile(path.join(merged, 'etc/motd'), 'utf8'), 'second\n');
      assert.equal(await readFile(path.join(merged, 'etc/link'), 'utf8'), 'hello\n');
      assert.equal(await exists(path.join(merged, 'gone')), false);
      assert.equal(await exists(path.join(merged, 'opq/old1')), false);
      assert.equal(await readFile(path.join(merged, 'opq/new'), 'utf8'), 'new\n');
      const owned = await stat(path.join(merged, 'home/u/f'));
      assert.deepEqual([owned.uid, owned.gid], [1000, 1000]);
    } finally {
      const un = await run('podman', ['image', 'unmount', 'localhost/fuse:1'], { env });
      assert.equal(un.code, 0, un.stderr);
    }
  });
});
