/**
 * containers-storage: against the real containers/storage (Debian podman 4.3 and skopeo 1.9, which
 * read and write the same vfs stores), in private stores under a temp dir, as root (rootless.test.ts
 * covers a user with subordinate IDs).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lstat, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { acquireStoreLocks } from '../../../src/transports/containers-storage/lock.js';
import { run, runFerry, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { type BuiltImage, buildOciImage, richLayerDirs } from './fixtures.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root (stores written as root; rootless.test.ts covers another user)';

type Driver = 'vfs' | 'overlay';

interface TestStore {
  driver: Driver;
  root: string;
  run: string;
  spec: string;
}

function storeIn(dir: string, name: string, driver: Driver = 'vfs'): TestStore {
  const root = path.join(dir, `${name}-${driver}`, 'root');
  const runRoot = path.join(dir, `${name}-${driver}`, 'run');
  return { driver, root, run: runRoot, spec: `[${driver}@${root}+${runRoot}]` };
}

/** Where a store keeps layer ID's files: vfs the whole tree, overlay the diff. */
function layerFiles(store: TestStore, id: string): string {
  return store.driver === 'overlay'
    ? path.join(store.root, 'overlay', id, 'diff')
    : path.join(store.root, 'vfs/dir', id);
}

function podman(store: TestStore, args: string[]) {
  return run('podman', ['--root', store.root, '--runroot', store.run, '--storage-driver', store.driver, ...args]);
}

/** The kernel's overlayfs, which podman mounts overlay stores with (as root, without fuse-overlayfs). */
async function kernelOverlayWorks(dir: string): Promise<boolean> {
  const base = path.join(dir, 'overlay-probe');
  const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((n) => path.join(base, n)) as [
    string,
    string,
    string,
    string,
  ];
  await run('mkdir', ['-p', lower, upper, work, merged]);
  const r = await run('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lower},upperdir=${upper},workdir=${work}`,
    merged,
  ]);
  if (r.code !== 0) return false;
  await run('umount', [merged]);
  return true;
}

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
  return r.stdout;
}

async function jsonFile<T>(p: string): Promise<T> {
  return JSON.parse(await readFile(p, 'utf8')) as T;
}

/** Every entry below `dir` with what a container sees of it (type, mode, owner, size, link target, inode group). */
async function describeTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const inodes = new Map<number, string>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(path.join(dir, rel))).sort()) {
      const r = path.join(rel, name);
      const st = await lstat(path.join(dir, r));
      const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isCharacterDevice() ? `c${st.rdev}` : 'f';
      const target = st.isSymbolicLink() ? ` -> ${await readlink(path.join(dir, r))}` : '';
      const group = st.nlink > 1 && !st.isDirectory() ? ` linked-with ${inodes.get(st.ino) ?? r}` : '';
      if (!inodes.has(st.ino)) inodes.set(st.ino, r);
      // Directories change as entries are added, overlay whiteouts are made at copy time: only files keep the tar's time.
      const mtime = st.isFile() || st.isSymbolicLink() ? ` ${Math.floor(st.mtimeMs / 1000)}` : '';
      out.push(
        `${kind} ${r} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? st.size : ''}${mtime}${target}${group}`,
      );
      if (st.isDirectory()) await walk(r);
    }
  };
  await walk('');
  return out;
}

interface LayerJSON {
  id: string;
  parent?: string;
  created?: string;
  'diff-digest'?: string;
  'compressed-diff-digest'?: string;
  [k: string]: unknown;
}

describe('containers-storage with podman and skopeo', { skip }, () => {
  let dir: string;
  let rich: BuiltImage;
  let richPlain: BuiltImage;
  let richLayout: string;
  let plainLayout: string;
  let layerDirs: string[];
  let overlayWorks = false;

  before(async () => {
    dir = await makeTempDir('ferry-cstorage-');
    overlayWorks = await kernelOverlayWorks(dir);
    layerDirs = await richLayerDirs(path.join(dir, 'src'));
    const layers = layerDirs;
    richLayout = path.join(dir, 'rich-oci');
    plainLayout = path.join(dir, 'plain-oci');
    rich = await buildOciImage(richLayout, 'rich', layers, { compression: 'gzip' });
    richPlain = await buildOciImage(plainLayout, 'rich', layers, { compression: 'none' });
  });
  after(async () => {
    // containers/storage's overlay driver bind-mounts GRAPHROOT/overlay on itself (private propagation).
    const mounts = (await readFile('/proc/self/mounts', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[1] ?? '')
      .filter((m) => m.startsWith(`${dir}/`))
      .reverse();
    for (const m of mounts) await run('umount', [m]);
    await rm(dir, { recursive: true, force: true });
  });

  for (const driver of ['vfs', 'overlay'] as const) {
    test(`ferry copy into a ${driver} store: podman lists the image with the same ID, digest and layers, and skopeo writes the same store`, async (t) => {
      if (driver === 'overlay' && !overlayWorks) return t.skip('the kernel overlay filesystem cannot be mounted here');
      const ferryStore = storeIn(dir, 'ferry-write', driver);
      const skopeoStore = storeIn(dir, 'skopeo-write', driver);
      await ok(
        runFerry(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${ferryStore.spec}rich:1`]),
        'ferry copy',
      );
      await ok(
        runSkopeo(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${skopeoStore.spec}rich:1`]),
        'skopeo copy',
      );

      const images = JSON.parse(await ok(podman(ferryStore, ['images', '--format', 'json']), 'podman images'));
      assert.equal(images.length, 1);
      assert.equal(images[0].Id, rich.configDigest.slice(7));
      assert.deepEqual(images[0].Names, ['docker.io/library/rich:1']);
      const inspect = JSON.parse(
        await ok(podman(ferryStore, ['image', 'inspect', 'rich:1']), 'podman image inspect'),
      )[0];
      assert.equal(inspect.Id, rich.configDigest.slice(7));
      assert.equal(inspect.Digest, rich.manifestDigest);
      assert.deepEqual(
        inspect.RootFS.Layers,
        rich.layers.map((l) => l.diffID),
      );

      // What containers/storage itself writes for the same image: records (but their times), tar-split, file trees.
      const strip = (ls: LayerJSON[]) => ls.map(({ created: _c, ...rest }) => rest);
      const ferryLayers = await jsonFile<LayerJSON[]>(path.join(ferryStore.root, `${driver}-layers/layers.json`));
      const skopeoLayers = await jsonFile<LayerJSON[]>(path.join(skopeoStore.root, `${driver}-layers/layers.json`));
      assert.deepEqual(strip(ferryLayers), strip(skopeoLayers));
      assert.deepEqual(
        await jsonFile(path.join(ferryStore.root, `${driver}-images/images.json`)),
        await jsonFile(path.join(skopeoStore.root, `${driver}-images/images.json`)),
      );
      for (const layer of ferryLayers) {
        const ts = (s: TestStore) =>
          gunzipSync(readFileSync(path.join(s.root, `${driver}-layers`, `${layer.id}.tar-split.gz`)));
        assert.ok(
          ts(ferryStore).equals(ts(skopeoStore)),
          `tar-split of layer ${layer.id} differs from containers/storage's`,
        );
        assert.deepEqual(
          await describeTree(layerFiles(ferryStore, layer.id)),
          await describeTree(layerFiles(skopeoStore, layer.id)),
          `layer ${layer.id} files differ from containers/storage's`,
        );
      }
    });

    test(`${driver}: podman sees the right files in a container made from the image: owners, links, setuid, whiteout and opaque directory applied`, async (t) => {
      if (driver === 'overlay' && !overlayWorks) return t.skip('the kernel overlay filesystem cannot be mounted here');
      const store = storeIn(dir, 'ferry-mount', driver);
      await ok(
        runFerry(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${store.spec}rich:1`]),
        'ferry copy',
      );
      await ok(podman(store, ['create', '--name', 'c1', 'rich:1', '/none']), 'podman create');
      const root = (await ok(podman(store, ['mount', 'c1']), 'podman mount')).trim();
      try {
        const st = await stat(path.join(root, 'home/u/f'));
        assert.equal(`${st.uid}:${st.gid}`, '1000:1000');
        assert.equal(st.mode & 0o7777, 0o600);
        assert.equal(await readlink(path.join(root, 'etc/link')), 'hello');
        assert.equal((await stat(path.join(root, 'etc/hard'))).ino, (await stat(path.join(root, 'etc/hello'))).ino);
        assert.equal((await stat(path.join(root, 'usr/bin/suid'))).mode & 0o7777, 0o4755);
        assert.equal(await readFile(path.join(root, 'etc/motd'), 'utf8'), 'second\n');
        await assert.rejects(lstat(path.join(root, 'gone')), { code: 'ENOENT' });
        assert.deepEqual((await readdir(path.join(root, 'opq'))).sort(), ['new']);
      } finally {
        await podman(store, ['umount', 'c1']);
        await podman(store, ['rm', 'c1']);
      }
    });

    test(`${driver}: an image skopeo stored is read back by ferry byte for byte: same manifest, config and layer blobs as the original and as skopeo exports`, async (t) => {
      if (driver === 'overlay' && !overlayWorks) return t.skip('the kernel overlay filesystem cannot be mounted here');
      const store = storeIn(dir, 'skopeo-read', driver);
      await ok(
        runSkopeo(['copy', '-q', `oci:${plainLayout}:rich`, `containers-storage:${store.spec}plain:1`]),
        'skopeo copy in',
      );
      const ferryOut = path.join(dir, `ferry-dir-${driver}`);
      const skopeoOut = path.join(dir, `skopeo-dir-${driver}`);
      await ok(
        runFerry(['copy', '-q', `containers-storage:${store.spec}plain:1`, `dir:${ferryOut}`]),
        'ferry copy out',
      );
      await ok(
        runSkopeo(['copy', '-q', `containers-storage:${store.spec}plain:1`, `dir:${skopeoOut}`]),
        'skopeo copy out',
      );
      for (const layer of richPlain.layers) {
        const hex = layer.digest.slice(7);
        const original = await readFile(path.join(plainLayout, 'blobs/sha256', hex));
        assert.ok(
          (await readFile(path.join(ferryOut, hex))).equals(original),
          `layer ${layer.digest} differs from the original`,
        );
        assert.ok(
          (await readFile(path.join(skopeoOut, hex))).equals(original),
          `skopeo's layer ${layer.digest} differs`,
        );
      }
      const manifest = await readFile(path.join(plainLayout, 'blobs/sha256', richPlain.manifestDigest.slice(7)));
      assert.ok((await readFile(path.join(ferryOut, 'manifest.json'))).equals(manifest));
      assert.deepEqual((await readdir(ferryOut)).sort(), (await readdir(skopeoOut)).sort());

      // By ID and by short ID prefix, as skopeo takes them.
      const id = richPlain.configDigest.slice(7);
      for (const ref of [`@${id}`, id.slice(0, 12)]) {
        const out = JSON.parse(
          await ok(runFerry(['inspect', `containers-storage:${store.spec}${ref}`]), `ferry inspect ${ref}`),
        );
        assert.equal(out.Digest, richPlain.manifestDigest);
        assert.deepEqual(
          out.Layers,
          richPlain.layers.map((l) => l.digest),
        );
      }
    });
  }

  test('vfs: a second image on the same base writes no layer twice, and ferry delete removes an image and only its unshared layers', async () => {
    const store = storeIn(dir, 'reuse');
    const other = path.join(dir, 'other-oci');
    const base = layerDirs[0];
    const extra = path.join(dir, 'src-extra');
    await run('mkdir', ['-p', path.join(extra, 'srv')]);
    await run('sh', ['-c', `echo extra > ${path.join(extra, 'srv/x')}`]);
    const first = await buildOciImage(other, 'first', [base as string, extra], { compression: 'gzip' });
    assert.equal(first.layers[0]?.diffID, rich.layers[0]?.diffID, 'test setup: the base layers differ');

    await ok(runFerry(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${store.spec}rich:1`]), 'copy rich');
    const before = await jsonFile<LayerJSON[]>(path.join(store.root, 'vfs-layers/layers.json'));
    await ok(runFerry(['copy', '-q', `oci:${other}:first`, `containers-storage:${store.spec}first:1`]), 'copy first');
    const after = await jsonFile<LayerJSON[]>(path.join(store.root, 'vfs-layers/layers.json'));
    assert.equal(after.length, 3);
    assert.deepEqual(after[0], before[0], 'the shared base layer was rewritten');

    // An image a podman container uses is refused, and stays.
    await ok(podman(store, ['create', '--name', 'user', 'rich:1', '/none']), 'podman create');
    const refused = await runFerry(['delete', `containers-storage:${store.spec}rich:1`]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /is in use by container/);
    await ok(podman(store, ['rm', 'user']), 'podman rm');

    await ok(runFerry(['delete', `containers-storage:${store.spec}rich:1`]), 'ferry delete');
    const listed = JSON.parse(await ok(podman(store, ['images', '--format', 'json']), 'podman images'));
    assert.deepEqual(
      listed.map((i: { Names: string[] }) => i.Names),
      [['docker.io/library/first:1']],
    );
    const left = await jsonFile<LayerJSON[]>(path.join(store.root, 'vfs-layers/layers.json'));
    assert.deepEqual(left.map((l) => l.id).sort(), [after[0]?.id, after[2]?.id].sort());
    await assert.rejects(stat(path.join(store.root, 'vfs/dir', after[1]?.id ?? '')), { code: 'ENOENT' });
    await assert.rejects(stat(path.join(store.root, 'vfs-images', rich.configDigest.slice(7))), { code: 'ENOENT' });

    await ok(runFerry(['delete', `containers-storage:${store.spec}first:1`]), 'ferry delete first');
    assert.deepEqual(await jsonFile(path.join(store.root, 'vfs-layers/layers.json')), []);
    const r = await runFerry(['delete', `containers-storage:${store.spec}first:1`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no such image/);
  });
  test("store locks are containers/storage's: podman waits while Ferry holds the images lock; two Ferry copies at once leave both images", async () => {
    const store = storeIn(dir, 'locks');
    await ok(
      runFerry(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${store.spec}rich:1`]),
      'ferry copy',
    );
    const held = await acquireStoreLocks([{ path: path.join(store.root, 'vfs-images/images.lock'), mode: 'write' }]);
    let finished = false;
    const listing = podman(store, ['images', '--format', 'json']).finally(() => {
      finished = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(finished, false, 'podman read images.json while Ferry held its lock');
    await held.release([path.join(store.root, 'vfs-images/images.lock')]);
    const listed = JSON.parse(await ok(listing, 'podman images'));
    assert.equal(listed.length, 1);
    assert.equal((await readFile(path.join(store.root, 'vfs-images/images.lock'))).length, 64, 'the last-writer ID');

    const other = path.join(dir, 'concurrent-oci');
    const extra = path.join(dir, 'src-concurrent');
    await run('mkdir', ['-p', path.join(extra, 'srv')]);
    await run('sh', ['-c', `echo concurrent > ${path.join(extra, 'srv/y')}`]);
    await buildOciImage(other, 'c', [layerDirs[0] as string, extra], { compression: 'none' });
    await Promise.all([
      ok(runFerry(['copy', '-q', `oci:${richLayout}:rich`, `containers-storage:${store.spec}a:1`]), 'copy a'),
      ok(runFerry(['copy', '-q', `oci:${other}:c`, `containers-storage:${store.spec}b:1`]), 'copy b'),
    ]);
    const images = await jsonFile<{ id: string; names: string[] }[]>(path.join(store.root, 'vfs-images/images.json'));
    assert.deepEqual(images.map((i) => [...i.names].sort()).sort(), [
      ['docker.io/library/a:1', 'docker.io/library/rich:1'],
      ['docker.io/library/b:1'],
    ]);
    const inspected = JSON.parse(await ok(podman(store, ['image', 'inspect', 'a:1', 'b:1']), 'podman image inspect'));
    assert.deepEqual(inspected.map((i: { Id: string }) => i.Id).sort(), images.map((i) => i.id).sort());
    const layers = await jsonFile<LayerJSON[]>(path.join(store.root, 'vfs-layers/layers.json'));
    assert.equal(layers.length, 3);
    assert.ok(layers.every((l) => l.flags === undefined));
  });
});
