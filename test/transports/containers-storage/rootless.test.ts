/**
 * Rootless containers-storage: a user with subordinate IDs (made for the test with useradd, removed
 * after) runs bin/ferry; the command re-runs itself in a user namespace mapped as podman maps it
 * (0 → the user, 1.. → the /etc/subuid ranges, through newuidmap/newgidmap), so a file owned by
 * 1000 in the image is owned on disk by the mapped host ID, and podman as that user lists the image
 * and sees 1000 inside `podman unshare`. skopeo, as the same user, is the oracle for the store.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ferryBin } from '../../helpers/paths.js';
import { run } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { type BuiltImage, buildOciImage, richLayerDirs } from './fixtures.js';

function has(program: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const missing = ['useradd', 'userdel', 'runuser', 'unshare', 'newuidmap', 'newgidmap', 'podman', 'skopeo'].filter(
  (p) => !has(p),
);

/**
 * The first directory above bin/ferry that other users cannot search, if any: the test user must
 * run this checkout's bin/ferry (a checkout in root's home, mode 0700, is out of its reach).
 */
function unreachableDirectory(file: string): string | undefined {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}
const closedDirectory = unreachableDirectory(ferryBin);

const skip =
  process.getuid?.() !== 0
    ? 'needs root (to create a test user with subordinate IDs)'
    : missing.length > 0
      ? `needs ${missing.join(', ')}`
      : closedDirectory !== undefined
        ? `needs a checkout other users can reach (${closedDirectory} is not searchable by them)`
        : false;

interface LayerJSON {
  id: string;
  created?: string;
  [k: string]: unknown;
}

/** Every entry below `dir`: type, mode, owner (host IDs), size, link target. */
async function describeTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const r = path.join(rel, name);
      const st = await lstat(path.join(dir, r));
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? 'c' : 'f';
      const target = st.isSymbolicLink() ? ` -> ${await readlink(path.join(dir, r))}` : '';
      out.push(
        `${kind} ${r} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? st.size : ''}${target}`,
      );
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

describe('containers-storage as a user with subordinate IDs (rootless)', { skip }, () => {
  const user = `ferryrl${process.pid}`;
  let dir = '';
  let home = '';
  let runtime = '';
  let image: BuiltImage;
  let layout = '';
  let firstSubUID = 0;
  let firstSubGID = 0;
  let userCreated = false;

  /** Runs a command as the test user, with its HOME and XDG_RUNTIME_DIR. */
  const asUser = (command: string, args: readonly string[]) =>
    run('runuser', ['-u', user, '--', 'env', `HOME=${home}`, `XDG_RUNTIME_DIR=${runtime}`, command, ...args], {
      cwd: dir,
    });
  const ok = async (p: ReturnType<typeof asUser>, what: string) => {
    const r = await p;
    assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = await makeTempDir('ferry-rootless-');
    await chmod(dir, 0o755);
    home = path.join(dir, 'home');
    runtime = path.join(dir, 'run');
    const r = await run('useradd', ['-m', '-d', home, '-s', '/bin/sh', user]);
    assert.equal(r.code, 0, r.stderr);
    userCreated = true;
    // useradd gives new users subordinate IDs when login.defs asks it to; otherwise add a range.
    const range = async (file: string) =>
      (await readFile(file, 'utf8')).split('\n').find((l) => l.startsWith(`${user}:`));
    if ((await range('/etc/subuid')) === undefined || (await range('/etc/subgid')) === undefined) {
      const add = await run('usermod', ['--add-subuids', '600000-665535', '--add-subgids', '600000-665535', user]);
      assert.equal(add.code, 0, add.stderr);
    }
    firstSubUID = Number((await range('/etc/subuid'))?.split(':')[1]);
    firstSubGID = Number((await range('/etc/subgid'))?.split(':')[1]);
    await mkdir(runtime, { mode: 0o700 });
    await run('chown', [`${user}:`, runtime]);
    await mkdir(path.join(home, '.config/containers'), { recursive: true });
    await writeFile(path.join(home, '.config/containers/storage.conf'), '[storage]\ndriver = "vfs"\n');
    await run('chown', ['-R', `${user}:`, path.join(home, '.config')]);
    layout = path.join(dir, 'oci');
    image = await buildOciImage(layout, 'rich', await richLayerDirs(path.join(dir, 'src')), { compression: 'gzip' });
    await run('chmod', ['-R', 'a+rX', layout]);
  });
  after(async () => {
    if (userCreated) {
      // Rootless podman leaves its pause process; it is this test's, by the pid it recorded.
      const pidFile = path.join(runtime, 'libpod/tmp/pause.pid');
      const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
      if (Number.isSafeInteger(pid) && pid > 1) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
        await new Promise((r) => setTimeout(r, 200));
      }
      await run('userdel', ['-r', user]);
      for (const f of ['/etc/subuid', '/etc/subgid']) {
        const text = await readFile(f, 'utf8');
        const kept = text.split('\n').filter((l) => !l.startsWith(`${user}:`));
        if (kept.length !== text.split('\n').length) await writeFile(f, kept.join('\n'));
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  test("ferry copy into the user's default store: IDs mapped as podman maps them; podman lists the image and sees uid 1000", async (t) => {
    const probe = await asUser('unshare', ['--user', '--map-root-user', 'true']);
    if (probe.code !== 0) return t.skip(`user namespaces cannot be created here: ${probe.stderr.trim()}`);
    await ok(
      asUser(ferryBin, ['copy', '-q', '--insecure-policy', `oci:${layout}:rich`, 'containers-storage:rich:1']),
      'ferry copy',
    );

    const graphRoot = path.join(home, '.local/share/containers/storage');
    const layers = JSON.parse(await readFile(path.join(graphRoot, 'vfs-layers/layers.json'), 'utf8')) as LayerJSON[];
    assert.equal(layers.length, 2);
    const base = path.join(graphRoot, 'vfs/dir', layers[0]?.id ?? '');
    const owned = await stat(path.join(base, 'home/u/f'));
    assert.equal(`${owned.uid}:${owned.gid}`, `${firstSubUID + 999}:${firstSubGID + 999}`);
    const rootOwned = await stat(path.join(base, 'etc/hello'));
    assert.equal(rootOwned.uid, Number((await ok(run('id', ['-u', user]), 'id')).trim()), 'uid 0 is the user');

    const listed = JSON.parse(await ok(asUser('podman', ['images', '--format', 'json']), 'podman images'));
    assert.equal(listed.length, 1);
    assert.equal(listed[0].Id, image.configDigest.slice(7));
    assert.deepEqual(listed[0].Names, ['docker.io/library/rich:1']);
    const inside = await ok(
      asUser('podman', ['unshare', 'stat', '-c', '%u:%g', path.join(base, 'home/u/f')]),
      'podman unshare',
    );
    assert.equal(inside.trim(), '1000:1000');

    // skopeo as the same user writes the same store: records (but times) and file trees.
    const other = `[vfs@${path.join(home, 'other')}+${path.join(runtime, 'other')}]`;
    await ok(
      asUser('skopeo', ['copy', '-q', `oci:${layout}:rich`, `containers-storage:${other}rich:1`]),
      'skopeo copy',
    );
    const theirs = JSON.parse(await readFile(path.join(home, 'other/vfs-layers/layers.json'), 'utf8')) as LayerJSON[];
    const strip = (ls: LayerJSON[]) => ls.map(({ created: _c, ...rest }) => rest);
    assert.deepEqual(strip(layers), strip(theirs));
    for (const layer of layers) {
      assert.deepEqual(
        await describeTree(path.join(graphRoot, 'vfs/dir', layer.id)),
        await describeTree(path.join(home, 'other/vfs/dir', layer.id)),
        `layer ${layer.id} differs from containers/storage's`,
      );
    }

    // And back out, as the user: the layers read as stored (files owned by subordinate IDs included).
    const out = path.join(home, 'out');
    await ok(
      asUser(ferryBin, ['copy', '-q', '--insecure-policy', 'containers-storage:rich:1', `oci:${out}:rich`]),
      'ferry copy out',
    );
    const index = JSON.parse(await readFile(path.join(out, 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      await readFile(path.join(out, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    const config = JSON.parse(await readFile(path.join(out, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
    assert.deepEqual(
      config.rootfs.diff_ids,
      image.layers.map((l) => l.diffID),
    );
  });

  test('overlay store as the user: whiteouts as devices 0/0, opaque directories user.overlay.opaque; podman mounts the image right and skopeo writes the same', async (t) => {
    const probe = await asUser('unshare', ['--user', '--map-root-user', 'true']);
    if (probe.code !== 0) return t.skip(`user namespaces cannot be created here: ${probe.stderr.trim()}`);
    const store = (name: string) => ({
      root: path.join(home, name),
      spec: `[overlay@${path.join(home, name)}+${path.join(runtime, name)}]`,
      podman: ['--root', path.join(home, name), '--runroot', path.join(runtime, name), '--storage-driver', 'overlay'],
    });
    const ours = store('ov-ferry');
    const theirs = store('ov-skopeo');
    await ok(
      asUser(ferryBin, [
        'copy',
        '-q',
        '--insecure-policy',
        `oci:${layout}:rich`,
        `containers-storage:${ours.spec}rich:1`,
      ]),
      'ferry copy overlay',
    );
    await ok(
      asUser('skopeo', ['copy', '-q', `oci:${layout}:rich`, `containers-storage:${theirs.spec}rich:1`]),
      'skopeo',
    );
    const layers = JSON.parse(
      await readFile(path.join(ours.root, 'overlay-layers/layers.json'), 'utf8'),
    ) as LayerJSON[];
    const skopeoLayers = JSON.parse(
      await readFile(path.join(theirs.root, 'overlay-layers/layers.json'), 'utf8'),
    ) as LayerJSON[];
    const strip = (ls: LayerJSON[]) => ls.map(({ created: _c, ...rest }) => rest);
    assert.deepEqual(strip(layers), strip(skopeoLayers));
    for (const layer of layers) {
      assert.deepEqual(
        await describeTree(path.join(ours.root, 'overlay', layer.id, 'diff')),
        await describeTree(path.join(theirs.root, 'overlay', layer.id, 'diff')),
        `layer ${layer.id} differs from containers/storage's`,
      );
    }
    // What a container sees: podman mounts the layers with the kernel overlay (whiteout and opaque directory applied).
    const seen = await ok(
      asUser('podman', [
        ...ours.podman,
        'unshare',
        'sh',
        '-c',
        `c=$(podman ${ours.podman.join(' ')} create rich:1 /none) && m=$(podman ${ours.podman.join(' ')} mount "$c") && ls -A "$m/opq" && cat "$m/etc/motd" && (ls "$m/gone" 2>/dev/null || echo gone-absent) && stat -c %u:%g "$m/home/u/f"; podman ${ours.podman.join(' ')} umount -a >/dev/null; podman ${ours.podman.join(' ')} rm -a >/dev/null`,
      ]),
      'podman mount',
    );
    assert.deepEqual(seen.trim().split('\n'), ['new', 'second', 'gone-absent', '1000:1000']);
  });
});
