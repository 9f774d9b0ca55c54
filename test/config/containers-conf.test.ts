import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { containersConfFiles, loadContainersConf } from '../../src/config/containers-conf.js';
import { isFerryError } from '../../src/errors.js';
import { withTempDir } from '../helpers/tmp.js';

/** A fake `/` with /usr/share, /etc (+ drop-ins) and a user's ~/.config containers.conf. */
async function tree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
  }
}

const engine = (dir: string) => `[engine]\nimage_copy_tmp_dir = "${dir}"\n`;

test('later containers.conf files override earlier ones: /usr/share, /etc, its drop-ins in order, then the user (rootless)', async () => {
  await withTempDir(async (root) => {
    const home = join(root, 'home');
    await tree(root, {
      'usr/share/containers/containers.conf': engine('/share'),
      'etc/containers/containers.conf': `${engine('/etc')}[containers]\nlog_size_max = -1\n`,
      'etc/containers/containers.conf.d/10-a.conf': engine('/dropin-a'),
      'etc/containers/containers.conf.d/20-b.conf': '[engine]\nevents_logger = "file"\n',
      'etc/containers/containers.conf.d/ignored.txt': 'not toml [',
      'home/.config/containers/containers.conf': engine('/user'),
    });
    const env = { HOME: home };
    const asRoot = await loadContainersConf({ root, env, uid: 0 });
    assert.equal(asRoot.imageCopyTmpDir, '/dropin-a');
    assert.equal(asRoot.imageCopyTmpDirFile, join(root, 'etc/containers/containers.conf.d/10-a.conf'));
    assert.equal(asRoot.files.length, 4);
    const rootless = await loadContainersConf({ root, env, uid: 1000 });
    assert.equal(rootless.imageCopyTmpDir, '/user');
    const xdg = await loadContainersConf({
      root,
      env: { HOME: home, XDG_CONFIG_HOME: join(root, 'nowhere') },
      uid: 1000,
    });
    assert.equal(xdg.imageCopyTmpDir, '/dropin-a');
  });
});

test("inside the CLI's rootless user namespace (uid 0 there) the real user's files are read, as storage.conf", async () => {
  await withTempDir(async (root) => {
    const home = join(root, 'home');
    await tree(root, {
      'etc/containers/containers.conf': engine('/etc'),
      'home/.config/containers/containers.conf': engine('/user'),
    });
    // What src/cli/userns.ts sets for the re-executed command; no uid option: the default decides.
    const env = { HOME: home, _CONTAINERS_USERNS_CONFIGURED: 'done', _CONTAINERS_ROOTLESS_UID: '1000' };
    const inNamespace = await loadContainersConf({ root, env });
    assert.equal(inNamespace.imageCopyTmpDir, '/user');
    const files = (await containersConfFiles({ root, env })).map((f) => f.path);
    assert.ok(files.includes(join(home, '.config/containers/containers.conf')), files.join(' '));
    // Without the namespace marker the uid variable alone is not trusted.
    const unmarked = { ...env, _CONTAINERS_USERNS_CONFIGURED: undefined };
    if (process.getuid?.() === 0)
      assert.equal((await loadContainersConf({ root, env: unmarked })).imageCopyTmpDir, '/etc');
  });
});

test('CONTAINERS_CONF alone is read, then CONTAINERS_CONF_OVERRIDE; a missing named file is INVALID_CONFIG', async () => {
  await withTempDir(async (root) => {
    await tree(root, {
      'etc/containers/containers.conf': engine('/etc'),
      'mine.conf': '# nothing about temp dirs\n',
      'override.conf': engine('/override'),
    });
    const only = await loadContainersConf({ root, env: { CONTAINERS_CONF: join(root, 'mine.conf') }, uid: 0 });
    assert.equal(only.imageCopyTmpDir, undefined);
    assert.deepEqual(only.files, [join(root, 'mine.conf')]);
    const over = await loadContainersConf({
      root,
      env: { CONTAINERS_CONF: join(root, 'mine.conf'), CONTAINERS_CONF_OVERRIDE: join(root, 'override.conf') },
      uid: 0,
    });
    assert.equal(over.imageCopyTmpDir, '/override');
    await assert.rejects(
      loadContainersConf({ root, env: { CONTAINERS_CONF: join(root, 'missing.conf') }, uid: 0 }),
      (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /missing\.conf/);
        return true;
      },
    );
    assert.deepEqual(
      (await containersConfFiles({ root, env: {}, uid: 0 })).map((f) => f.path),
      [join(root, 'usr/share/containers/containers.conf'), join(root, 'etc/containers/containers.conf')],
    );
  });
});

test('a broken containers.conf is INVALID_CONFIG naming the file and the line', async () => {
  await withTempDir(async (root) => {
    await tree(root, {
      'etc/containers/containers.conf': '[engine]\nimage_copy_tmp_dir = "/x"\n\nthis is = = not toml\n',
    });
    await assert.rejects(loadContainersConf({ root, env: {}, uid: 0 }), (e: unknown) => {
      assert.ok(isFerryError(e, 'INVALID_CONFIG'));
      assert.match(e.message, new RegExp(`${join(root, 'etc/containers/containers.conf')}: invalid TOML at line 4`));
      assert.equal(e.details.line, 4);
      return true;
    });
  });
});

test('image_copy_tmp_dir must be an absolute path; "storage" and "" fall back to the default', async () => {
  await withTempDir(async (root) => {
    const conf = join(root, 'c.conf');
    const load = () => loadContainersConf({ root, env: { CONTAINERS_CONF: conf }, uid: 0 });
    await writeFile(conf, '[engine]\nimage_copy_tmp_dir = "relative/dir"\n');
    await assert.rejects(load(), (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /absolute path/.test(e.message));
    await writeFile(conf, '[engine]\nimage_copy_tmp_dir = 7\n');
    await assert.rejects(load(), (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /not a string/.test(e.message));
    await writeFile(conf, 'engine = "x"\n');
    await assert.rejects(load(), (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /not a table/.test(e.message));
    await writeFile(conf, '[engine]\nimage_copy_tmp_dir = "storage"\n');
    assert.equal((await load()).imageCopyTmpDir, undefined);
  });
});
