/** The auth file Ferry writes for login is the one skopeo 1.9.3 writes, and each reads the other's. */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { getCredentials, removeCredentials, setCredentials } from '../../src/config/auth.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSkopeo } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

describe('login file interoperability with skopeo', () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  after(async () => {
    await reg?.stop();
  });

  async function skopeoLogin(authFile: string): Promise<void> {
    const r = await runSkopeo([
      'login',
      '--tls-verify=false',
      '--authfile',
      authFile,
      '-u',
      reg.username!,
      '-p',
      reg.password!,
      reg.host,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }

  test('a fresh login file is byte-for-byte what skopeo login --authfile writes, mode 0600', async () => {
    await withTempDir(async (dir) => {
      const theirs = join(dir, 'skopeo', 'auth.json');
      const ours = join(dir, 'ferry', 'auth.json');
      await skopeoLogin(theirs);
      await setCredentials(reg.host, { username: reg.username!, password: reg.password! }, { authFile: ours, env: {} });
      const [a, b] = [await readFile(theirs, 'utf8'), await readFile(ours, 'utf8')];
      assert.deepEqual(JSON.parse(b), JSON.parse(a));
      assert.equal(b, a);
      assert.equal((await stat(ours)).mode & 0o777, 0o600);
      assert.equal((await stat(theirs)).mode & 0o777, 0o600);
    });
  });

  test('adding a login to an existing file matches skopeo too', async () => {
    await withTempDir(async (dir) => {
      const start = JSON.stringify({ auths: { 'zz.example': { auth: 'eDp5' }, 'aa.example': { auth: 'eTp6' } } });
      const theirs = join(dir, 'theirs.json');
      const ours = join(dir, 'ours.json');
      await writeFile(theirs, start);
      await writeFile(ours, start);
      await skopeoLogin(theirs);
      await setCredentials(reg.host, { username: reg.username!, password: reg.password! }, { authFile: ours, env: {} });
      assert.equal(await readFile(ours, 'utf8'), await readFile(theirs, 'utf8'));
    });
  });

  test('Ferry reads what skopeo wrote, and skopeo uses and logs out of what Ferry wrote', async () => {
    await withTempDir(async (dir) => {
      const theirs = join(dir, 'theirs.json');
      await skopeoLogin(theirs);
      assert.deepEqual(await getCredentials(`${reg.host}/some/repo`, { authFile: theirs, env: {} }), {
        username: reg.username,
        password: reg.password,
      });

      const ours = join(dir, 'ours.json');
      await setCredentials(reg.host, { username: reg.username!, password: reg.password! }, { authFile: ours, env: {} });
      const tags = await runSkopeo([
        'list-tags',
        '--tls-verify=false',
        '--authfile',
        ours,
        `docker://${reg.host}/none/here`,
      ]);
      // Authenticated: the registry answers "repository name not known", not "unauthorized".
      assert.doesNotMatch(tags.stderr, /unauthorized|authentication required/i);
      assert.match(tags.stderr, /404/);
      const empty = join(dir, 'empty.json');
      await writeFile(empty, '{}');
      const anon = await runSkopeo([
        'list-tags',
        '--tls-verify=false',
        '--authfile',
        empty,
        `docker://${reg.host}/none/here`,
      ]);
      assert.match(anon.stderr, /unauthorized|authentication required|401/i);
      const out = await runSkopeo(['logout', '--authfile', ours, reg.host]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(await removeCredentials(reg.host, { authFile: ours, env: {} }), false);
    });
  });
});
