import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  expandStoragePath,
  loadStorageConf,
  loadStorageConfSync,
  parseStorageConf,
} from '../../src/config/storage-conf.js';
import { effectiveUserID } from '../../src/config/paths.js';
import { isFerryError } from '../../src/errors.js';
import { withTempDir } from '../helpers/tmp.js';

async function put(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
}

describe('storage.conf (containers/storage 1.43 resolution)', () => {
  test('root with no file anywhere: /var/lib/containers/storage and /run/containers/storage, driver unset', async () => {
    await withTempDir(async (dir) => {
      const conf = await loadStorageConf({ env: {}, uid: 0, root: dir });
      assert.equal(conf.graphRoot, '/var/lib/containers/storage');
      assert.equal(conf.runRoot, '/run/containers/storage');
      assert.equal(conf.driver, '');
      assert.deepEqual(conf.files, []);
    });
  });

  test('root: /etc/containers/storage.conf wins over /usr/share/containers/storage.conf', async () => {
    await withTempDir(async (dir) => {
      await put(
        path.join(dir, 'usr/share/containers/storage.conf'),
        '[storage]\ndriver = "overlay"\ngraphroot = "/usr-share"\n',
      );
      await put(
        path.join(dir, 'etc/containers/storage.conf'),
        '[storage]\ndriver = "vfs"\ngraphroot = "/etc-root"\nrunroot = "/etc-run"\n',
      );
      const conf = await loadStorageConf({ env: {}, uid: 0, root: dir });
      assert.deepEqual(
        { driver: conf.driver, graphRoot: conf.graphRoot, runRoot: conf.runRoot },
        { driver: 'vfs', graphRoot: '/etc-root', runRoot: '/etc-run' },
      );
      assert.deepEqual(conf.files, [path.join(dir, 'etc/containers/storage.conf')]);
    });
  });

  test('CONTAINERS_STORAGE_CONF is the only file read, and must exist', async () => {
    await withTempDir(async (dir) => {
      await put(path.join(dir, 'etc/containers/storage.conf'), '[storage]\ngraphroot = "/etc-root"\n');
      const own = path.join(dir, 'mine.conf');
      await put(own, '[storage]\ndriver = "vfs"\ngraphroot = "/mine"\nrunroot = "/mine-run"\n');
      const conf = await loadStorageConf({ env: { CONTAINERS_STORAGE_CONF: own }, uid: 0, root: dir });
      assert.equal(conf.graphRoot, '/mine');
      await assert.rejects(
        loadStorageConf({ env: { CONTAINERS_STORAGE_CONF: path.join(dir, 'absent.conf') }, uid: 0, root: dir }),
        (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /absent\.conf/.test(e.message),
      );
    });
  });

  test('rootless defaults: ~/.local/share/containers/storage, $XDG_RUNTIME_DIR/containers, vfs; rootless_storage_path; the user file', async () => {
    await withTempDir(async (dir) => {
      const home = path.join(dir, 'home');
      const env = { HOME: home, XDG_RUNTIME_DIR: '/run/user/1000' };
      const plain = await loadStorageConf({ env, uid: 1000, root: dir });
      assert.equal(plain.graphRoot, path.join(home, '.local/share/containers/storage'));
      assert.equal(plain.runRoot, '/run/user/1000/containers');
      assert.equal(plain.driver, 'vfs');

      await put(
        path.join(dir, 'etc/containers/storage.conf'),
        '[storage]\ndriver = "overlay"\nrootless_storage_path = "$HOME/store-$UID"\n',
      );
      const system = await loadStorageConf({ env, uid: 1000, root: dir });
      assert.equal(system.graphRoot, path.join(home, 'store-1000'));
      assert.equal(system.driver, 'overlay');

      await put(
        path.join(home, '.config/containers/storage.conf'),
        '[storage]\ndriver = "vfs"\nrunroot = "/tmp/my-run"\n',
      );
      const user = await loadStorageConf({ env, uid: 1000, root: dir });
      assert.equal(user.driver, 'vfs');
      assert.equal(user.runRoot, '/tmp/my-run');
      assert.equal(user.graphRoot, path.join(home, 'store-1000'), 'an empty graphroot keeps the rootless default');
    });
  });

  test('inside the user namespace of a rootless command (uid 0 there), _CONTAINERS_ROOTLESS_UID names the user whose store it is', async () => {
    await withTempDir(async (dir) => {
      const home = path.join(dir, 'home');
      const env = { HOME: home, XDG_RUNTIME_DIR: '/run/user/1000', _CONTAINERS_ROOTLESS_UID: '1000' };
      // Without _CONTAINERS_USERNS_CONFIGURED the variable is not trusted: the process's own uid (given here) decides.
      assert.equal(effectiveUserID(env), process.getuid?.());
      const inside = loadStorageConfSync({ env: { ...env, _CONTAINERS_USERNS_CONFIGURED: 'done' }, root: dir });
      assert.equal(inside.graphRoot, path.join(home, '.local/share/containers/storage'));
      assert.equal(inside.runRoot, '/run/user/1000/containers');
    });
  });

  test('STORAGE_DRIVER overrides the file; overlay2 means overlay', async () => {
    await withTempDir(async (dir) => {
      await put(path.join(dir, 'etc/containers/storage.conf'), '[storage]\ndriver = "vfs"\n');
      assert.equal(
        (await loadStorageConf({ env: { STORAGE_DRIVER: 'overlay2' }, uid: 0, root: dir })).driver,
        'overlay',
      );
    });
  });

  test('bad files are INVALID_CONFIG naming the file and the rule', async () => {
    assert.throws(
      () => parseStorageConf('[storage\n', '/x.conf'),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /\/x\.conf.*TOML/.test(e.message),
    );
    assert.throws(() => parseStorageConf('[storage]\ngraphroot = 3\n', '/x.conf'), /graphroot is not a string/);
    await withTempDir(async (dir) => {
      await put(path.join(dir, 'etc/containers/storage.conf'), '[storage]\ngraphroot = "relative/path"\n');
      await assert.rejects(
        loadStorageConf({ env: {}, uid: 0, root: dir }),
        /graphroot "relative\/path" is not an absolute path/,
      );
    });
  });

  test('$VAR and {VAR} in braces expand, $UID is the user id', () => {
    const braced = ['/a/$HOME/$', '{USER}/$UID'].join('');
    assert.equal(expandStoragePath(braced, { HOME: 'h', USER: 'u' }, 42), '/a/h/u/42');
  });
});
