import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  authFileForWrite,
  authFilePaths,
  type Credentials,
  getCredentials,
  normalizeAuthKey,
  removeAllCredentials,
  removeCredentials,
  setCredentials,
} from '../../src/config/auth.js';
import { isFerryError } from '../../src/errors.js';
import { fixturePath } from '../helpers/paths.js';
import { withTempDir } from '../helpers/tmp.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const up = (username: string, password: string): Credentials => ({ username, password });
const fixture = (name: string): string => fixturePath('config', 'docker', name);

/** An isolated environment: HOME, XDG dirs and a bin dir first on PATH, all under `dir`. */
function envIn(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: join(dir, 'home'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    PATH: `${join(dir, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    ...extra,
  };
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, JSON.stringify(value));
}

/**
 * docker-credential-ferrytest: a credential helper of the test's own. Its store is the JSON file
 * $FERRYTEST_STORE ({serverURL: {Username, Secret}}); FERRYTEST_MODE=garbage prints the secret as
 * non-JSON, =fail exits 1 echoing its stdin.
 */
async function installHelper(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const script = join(bin, 'docker-credential-ferrytest');
  await writeFile(
    script,
    `#!/usr/bin/env node
const fs = require('node:fs');
const file = process.env.FERRYTEST_STORE;
const load = () => { try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return {}; } };
const input = fs.readFileSync(0, 'utf8');
const mode = process.env.FERRYTEST_MODE || '';
const action = process.argv[2];
fs.appendFileSync(file + '.log', action + ' ' + (action === 'store' ? JSON.parse(input).ServerURL : input) + '\\n');
if (mode === 'fail') { process.stdout.write('helper broke while handling ' + input); process.exit(1); }
const store = load();
if (action === 'get') {
  const e = store[input];
  if (!e) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  if (mode === 'garbage') { process.stdout.write('oops ' + e.Secret); process.exit(0); }
  process.stdout.write(JSON.stringify({ ServerURL: input, Username: e.Username, Secret: e.Secret }));
} else if (action === 'store') {
  const r = JSON.parse(input);
  store[r.ServerURL] = { Username: r.Username, Secret: r.Secret };
  fs.writeFileSync(file, JSON.stringify(store));
} else if (action === 'erase') {
  if (!store[input]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
  delete store[input];
  fs.writeFileSync(file, JSON.stringify(store));
} else { process.stdout.write('unknown action'); process.exit(1); }
`,
  );
  await chmod(script, 0o755);
  return join(dir, 'helper-store.json');
}

async function helperLog(storeFile: string): Promise<string[]> {
  try {
    return (await readFile(`${storeFile}.log`, 'utf8')).trim().split('\n');
  } catch {
    return [];
  }
}

describe('auth file paths', () => {
  test('reads the runtime, user config, Docker and legacy files in that order', () => {
    const env = { HOME: '/h', XDG_RUNTIME_DIR: '/r', XDG_CONFIG_HOME: '/c' };
    assert.deepEqual(authFilePaths(env), [
      { path: '/r/containers/auth.json', legacyFormat: false },
      { path: '/c/containers/auth.json', legacyFormat: false },
      { path: '/h/.docker/config.json', legacyFormat: false },
      { path: '/h/.dockercfg', legacyFormat: true },
    ]);
  });

  test('falls back to /run/containers/$UID, ~/.config and $DOCKER_CONFIG', () => {
    const paths = authFilePaths({ HOME: '/h', DOCKER_CONFIG: '/d' }).map((p) => p.path);
    assert.deepEqual(paths, [
      `/run/containers/${process.getuid?.() ?? 0}/auth.json`,
      '/h/.config/containers/auth.json',
      '/d/config.json',
      '/h/.dockercfg',
    ]);
  });

  test('an explicit --authfile or REGISTRY_AUTH_FILE is the only file read', () => {
    const env = { HOME: '/h', REGISTRY_AUTH_FILE: '/env.json' };
    assert.deepEqual(authFilePaths(env), [{ path: '/env.json', legacyFormat: false }]);
    assert.deepEqual(authFilePaths(env, { authFile: '/flag.json' }), [{ path: '/flag.json', legacyFormat: false }]);
  });

  test('login writes the explicit file, else the runtime file, else the user config file', () => {
    assert.equal(authFileForWrite({ HOME: '/h', XDG_RUNTIME_DIR: '/r' }, { authFile: '/a.json' }), '/a.json');
    assert.equal(authFileForWrite({ HOME: '/h', REGISTRY_AUTH_FILE: '/e.json' }), '/e.json');
    assert.equal(authFileForWrite({ HOME: '/h', XDG_RUNTIME_DIR: '/r' }), '/r/containers/auth.json');
    assert.equal(authFileForWrite({ HOME: '/h' }), '/h/.config/containers/auth.json');
  });
});

describe('credential lookup', () => {
  test('finds each registry of full.json under its exact key', async () => {
    const opts = { authFile: fixture('full.json'), env: {} };
    const cases: [string, Credentials | undefined][] = [
      ['example.org', up('example', 'org')],
      ['index.docker.io', up('index', 'docker.io')],
      ['docker.io', up('docker', 'io')],
      ['localhost', up('local', 'host')],
      ['localhost:5000', up('local', 'host-5000')],
      ['10.10.30.45', up('10.10', '30.45')],
      ['10.10.30.45:5000', up('10.10', '30.45-5000')],
      ['normalize.example.org', up('normalize', 'example')],
      ['unknown.example.org', undefined],
      ['localhost:5001', undefined],
    ];
    for (const [registry, want] of cases) assert.deepEqual(await getCredentials(registry, opts), want, registry);
  });

  test('normalises URL keys and Docker Hub aliases (abnormal.json)', async () => {
    const opts = { authFile: fixture('abnormal.json'), env: {} };
    const cases: [string, Credentials | undefined][] = [
      ['example.org', up('example', 'org')],
      ['docker.io', up('index', 'docker.io')],
      ['registry-1.docker.io', up('index', 'docker.io')],
      ['index.docker.io', up('index', 'docker.io')],
      ['127.0.0.1:5000', up('127.0', '0.1-5000')],
      ['localhost', up('local', 'host')],
      ['localhost:5001', up('local', 'host-5001')],
      ['localhost:5000', up('local', 'host-5000')],
      ['127.0.0.1', undefined],
    ];
    for (const [registry, want] of cases) assert.deepEqual(await getCredentials(registry, opts), want, registry);
  });

  test('the most specific key wins: repository, then namespace, then host (refpath.json)', async () => {
    const opts = { authFile: fixture('refpath.json'), env: {} };
    const cases: [string, Credentials][] = [
      ['example.org/repo', up('example', 'org')],
      ['example.org/repo:tag', up('example', 'org')],
      ['example.org/other', up('local', 'host')],
      ['example.org', up('local', 'host')],
      ['docker.io/library/busybox', up('library', 'busybox')],
      ['docker.io/library/busybox@sha256:' + 'a'.repeat(64), up('library', 'busybox')],
      ['docker.io/library/alpine', up('library', 'other')],
      ['docker.io/vendor/app', up('first', 'level')],
      ['docker.io/other/app', up('top', 'level')],
      ['docker.io', up('top', 'level')],
    ];
    for (const [registry, want] of cases) assert.deepEqual(await getCredentials(registry, opts), want, registry);
  });

  test('reads the legacy ~/.dockercfg format, keys reduced to their host', async () => {
    await withTempDir(async (dir) => {
      const env = envIn(dir);
      await mkdir(env.HOME!, { recursive: true });
      await writeFile(join(env.HOME!, '.dockercfg'), await readFile(fixture('legacy.json')));
      assert.deepEqual(await getCredentials('docker.io', { env }), up('docker', 'io-legacy'));
      assert.deepEqual(await getCredentials('localhost', { env }), up('local', 'host-legacy'));
      assert.equal(await getCredentials('example.org', { env }), undefined);
    });
  });

  test('returns an identity token with the user name of its entry', async () => {
    const creds = await getCredentials('example.org', { authFile: fixture('example_identitytoken.json'), env: {} });
    assert.deepEqual(creds, {
      identityToken: 'some very long identity token',
      username: '00000000-0000-0000-0000-000000000000',
    });
  });

  test('keeps every ":" after the first in the password', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'auth.json');
      await writeJson(file, { auths: { 'r.example': { auth: b64('user:pa:ss:') } } });
      assert.deepEqual(await getCredentials('r.example', { authFile: file, env: {} }), up('user', 'pa:ss:'));
    });
  });

  test('searches the files in order and the first hit wins', async () => {
    await withTempDir(async (dir) => {
      const env = envIn(dir);
      const [runtime, config, docker, legacy] = authFilePaths(env).map((p) => p.path);
      await writeJson(runtime!, { auths: { 'a.example': { auth: b64('runtime:1') } } });
      await writeJson(config!, {
        auths: { 'a.example': { auth: b64('config:2') }, 'b.example': { auth: b64('config:2') } },
      });
      await writeJson(docker!, {
        auths: { 'b.example': { auth: b64('docker:3') }, 'c.example': { auth: b64('docker:3') } },
        psFormat: 'table',
      });
      await writeJson(legacy!, { 'c.example': { auth: b64('legacy:4') }, 'd.example': { auth: b64('legacy:4') } });
      assert.deepEqual(await getCredentials('a.example', { env }), up('runtime', '1'));
      assert.deepEqual(await getCredentials('b.example', { env }), up('config', '2'));
      assert.deepEqual(await getCredentials('c.example', { env }), up('docker', '3'));
      assert.deepEqual(await getCredentials('d.example', { env }), up('legacy', '4'));
      // With an explicit file nothing else is read.
      assert.equal(await getCredentials('a.example', { env, authFile: docker! }), undefined);
    });
  });

  test('a host-level entry in an earlier file beats a repository entry in a later one', async () => {
    await withTempDir(async (dir) => {
      const env = envIn(dir);
      const [runtime, config] = authFilePaths(env).map((p) => p.path);
      await writeJson(runtime!, { auths: { 'a.example': { auth: b64('host:early') } } });
      await writeJson(config!, { auths: { 'a.example/ns/repo': { auth: b64('repo:late') } } });
      assert.deepEqual(await getCredentials('a.example/ns/repo', { env }), up('host', 'early'));
    });
  });

  test('skips an empty entry (as Docker writes beside a helper) and goes on to the next file', async () => {
    await withTempDir(async (dir) => {
      const env = envIn(dir);
      const [runtime, config] = authFilePaths(env).map((p) => p.path);
      await writeJson(runtime!, { auths: { 'a.example': {} } });
      await writeJson(config!, { auths: { 'a.example': { auth: b64('u:p') } } });
      assert.deepEqual(await getCredentials('a.example', { env }), up('u', 'p'));
    });
  });

  test('normalizeAuthKey strips schemes and API paths and folds Docker Hub names', () => {
    assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
    assert.equal(normalizeAuthKey('registry-1.docker.io'), 'docker.io');
    assert.equal(normalizeAuthKey('http://localhost:5000'), 'localhost:5000');
    assert.equal(normalizeAuthKey('quay.io/ns/repo'), 'quay.io/ns/repo');
    assert.equal(normalizeAuthKey('localhost/v1', true), 'localhost');
  });
});

describe('credential file errors keep secrets out', () => {
  const SECRET = 'hunter2-very-secret';

  test('invalid JSON is INVALID_CONFIG naming the file and the position, not the contents', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'auth.json');
      await writeFile(file, `{"auths": {"r.example": {"auth": "${b64(`u:${SECRET}`)}", "password": "${SECRET}" }} x`);
      await assert.rejects(getCredentials('r.example', { authFile: file, env: {} }), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /auth\.json/);
        assert.match(e.message, /line 1, column \d+/);
        assert.ok(!e.message.includes(SECRET) && !e.message.includes(b64(`u:${SECRET}`)));
        assert.ok(!String(e.cause ?? '').includes(SECRET));
        return true;
      });
    });
  });

  test('an invalid base64 "auth" names the key, never the value', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'auth.json');
      await writeJson(file, { auths: { 'r.example': { auth: `!${SECRET}!` } } });
      await assert.rejects(getCredentials('r.example', { authFile: file, env: {} }), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'));
        assert.match(e.message, /"r\.example"/);
        assert.ok(!e.message.includes(SECRET));
        assert.ok(!JSON.stringify(e.details).includes(SECRET));
        return true;
      });
    });
  });

  test('a missing file is not an error', async () => {
    assert.equal(await getCredentials('r.example', { authFile: '/nonexistent/ferry/auth.json', env: {} }), undefined);
  });
});

describe('credential helpers', () => {
  test('credHelpers run docker-credential-<name> get with the host on stdin', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      await writeJson(store, {
        'a.example': { Username: 'alice', Secret: 's3cret' },
        'b.example': { Username: '<token>', Secret: 'refresh-token' },
      });
      const file = join(dir, 'auth.json');
      await writeJson(file, {
        auths: { 'a.example': { auth: b64('file:ignored') } },
        credHelpers: { 'a.example': 'ferrytest', 'b.example': 'ferrytest', 'c.example': 'ferrytest' },
      });
      assert.deepEqual(await getCredentials('a.example/ns/repo', { env, authFile: file }), up('alice', 's3cret'));
      assert.deepEqual(await getCredentials('b.example', { env, authFile: file }), { identityToken: 'refresh-token' });
      assert.equal(await getCredentials('c.example', { env, authFile: file }), undefined);
      assert.deepEqual(await helperLog(store), ['get a.example', 'get b.example', 'get c.example']);
    });
  });

  test('a helper without the entry lets the search go on to the next file', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      const [runtime, config] = authFilePaths(env).map((p) => p.path);
      await writeJson(runtime!, { credHelpers: { 'a.example': 'ferrytest' } });
      await writeJson(config!, { auths: { 'a.example': { auth: b64('from:config') } } });
      assert.deepEqual(await getCredentials('a.example', { env }), up('from', 'config'));
    });
  });

  test('credsStore is the default helper when no entry is in the file', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      await writeJson(store, {
        'a.example': { Username: 'alice', Secret: 'pw' },
        'https://index.docker.io/v1/': { Username: 'hub', Secret: 'pw2' },
      });
      const file = join(dir, 'config.json');
      await writeJson(file, { auths: { 'a.example': {}, 'z.example': { auth: b64('z:z') } }, credsStore: 'ferrytest' });
      assert.deepEqual(await getCredentials('a.example', { env, authFile: file }), up('alice', 'pw'));
      assert.deepEqual(await getCredentials('z.example', { env, authFile: file }), up('z', 'z'));
      assert.deepEqual(await getCredentials('docker.io', { env, authFile: file }), up('hub', 'pw2'));
    });
  });

  test('registries.conf credential-helpers can name a helper instead of the files', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      await writeJson(store, { 'a.example': { Username: 'alice', Secret: 'pw' } });
      const file = join(dir, 'auth.json');
      await writeJson(file, { auths: { 'a.example': { auth: b64('file:pw') }, 'b.example': { auth: b64('file:b') } } });
      const helpersFirst = { env, authFile: file, credentialHelpers: ['ferrytest', 'containers-auth.json'] };
      assert.deepEqual(await getCredentials('a.example', helpersFirst), up('alice', 'pw'));
      assert.deepEqual(await getCredentials('b.example', helpersFirst), up('file', 'b'));
      assert.equal(await getCredentials('b.example', { ...helpersFirst, credentialHelpers: ['ferrytest'] }), undefined);
    });
  });

  test('a failing store names the helper and cuts the password out of its echoed output', async () => {
    await withTempDir(async (dir) => {
      const SECRET = 'store-secret-value';
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store, FERRYTEST_MODE: 'fail' });
      const file = join(dir, 'auth.json');
      await writeJson(file, { credHelpers: { 'a.example': 'ferrytest' } });
      await assert.rejects(
        setCredentials('a.example', { username: 'alice', password: SECRET }, { env, authFile: file }),
        (e: unknown) => {
          assert.ok(isFerryError(e, 'CREDENTIAL_HELPER_ERROR'), String(e));
          assert.match(
            e.message,
            /docker-credential-ferrytest store for a\.example exited with status 1: helper broke/,
          );
          assert.ok(!e.message.includes(SECRET), e.message);
          return true;
        },
      );
    });
  });

  test('a helper failure is CREDENTIAL_HELPER_ERROR without the secret', async () => {
    await withTempDir(async (dir) => {
      const SECRET = 'helper-secret-value';
      const store = await installHelper(dir);
      await writeJson(store, { 'a.example': { Username: 'alice', Secret: SECRET } });
      const file = join(dir, 'auth.json');
      await writeJson(file, { credHelpers: { 'a.example': 'ferrytest', 'x.example': 'missinghelper' } });
      for (const mode of ['garbage', 'fail']) {
        const env = envIn(dir, { FERRYTEST_STORE: store, FERRYTEST_MODE: mode });
        await assert.rejects(getCredentials('a.example', { env, authFile: file }), (e: unknown) => {
          assert.ok(isFerryError(e, 'CREDENTIAL_HELPER_ERROR'), String(e));
          assert.match(e.message, /docker-credential-ferrytest/);
          assert.ok(!e.message.includes(SECRET), e.message);
          return true;
        });
      }
      await assert.rejects(getCredentials('x.example', { env: envIn(dir), authFile: file }), (e: unknown) => {
        assert.ok(isFerryError(e, 'CREDENTIAL_HELPER_ERROR'));
        assert.match(e.message, /docker-credential-missinghelper.*not found/);
        return true;
      });
    });
  });
});

describe('login and logout files', () => {
  test('login writes a tab-indented file with sorted auths, mode 0600, in a 0700 directory', async () => {
    await withTempDir(async (dir) => {
      const env = envIn(dir);
      await setCredentials('z.example:5000', { username: 'zed', password: 'p:w' }, { env });
      const stored = await setCredentials('a.example', { username: 'amy', password: 'pw' }, { env });
      const path = join(dir, 'run', 'containers', 'auth.json');
      assert.deepEqual(stored, { path });
      assert.equal(
        await readFile(path, 'utf8'),
        `{\n\t"auths": {\n\t\t"a.example": {\n\t\t\t"auth": "${b64('amy:pw')}"\n\t\t},\n\t\t"z.example:5000": {\n\t\t\t"auth": "${b64('zed:p:w')}"\n\t\t}\n\t}\n}`,
      );
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'run', 'containers'))).mode & 0o777, 0o700);
      assert.deepEqual(await getCredentials('z.example:5000', { env }), up('zed', 'p:w'));
    });
  });

  test('login keeps unknown fields and other entries, and replaces the entry it writes', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'auth.json');
      await writeJson(file, {
        psFormat: 'table',
        auths: {
          'r.example': { auth: b64('old:old'), identitytoken: 'tok' },
          'o.example': { auth: b64('o:o'), email: 'x@y' },
        },
        credHelpers: { 'h.example': 'ferrytest' },
      });
      await setCredentials('r.example', { username: 'new', password: 'new' }, { authFile: file, env: {} });
      const doc = JSON.parse(await readFile(file, 'utf8'));
      assert.deepEqual(doc, {
        auths: { 'o.example': { auth: b64('o:o'), email: 'x@y' }, 'r.example': { auth: b64('new:new') } },
        credHelpers: { 'h.example': 'ferrytest' },
        psFormat: 'table',
      });
    });
  });

  test('login and logout use the helper configured for the host and leave the file alone', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      const file = join(dir, 'auth.json');
      await writeJson(file, { credHelpers: { 'h.example': 'ferrytest' } });
      const before = await readFile(file, 'utf8');
      assert.deepEqual(await setCredentials('h.example', { username: 'u', password: 'pw' }, { env, authFile: file }), {
        helper: 'ferrytest',
      });
      assert.equal(await readFile(file, 'utf8'), before);
      assert.deepEqual(JSON.parse(await readFile(store, 'utf8')), { 'h.example': { Username: 'u', Secret: 'pw' } });
      assert.deepEqual(await getCredentials('h.example', { env, authFile: file }), up('u', 'pw'));
      assert.equal(await removeCredentials('h.example', { env, authFile: file }), true);
      assert.deepEqual(JSON.parse(await readFile(store, 'utf8')), {});
      await assert.rejects(
        setCredentials(
          'h.example/ns',
          { username: 'u', password: 'pw' },
          { env, authFile: file, credentialHelpers: ['ferrytest'] },
        ),
        (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT'),
      );
    });
  });

  test('logout removes one key and reports whether it was there', async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, 'auth.json');
      await writeJson(file, { auths: { 'a.example': { auth: b64('a:a') }, 'b.example': { auth: b64('b:b') } } });
      assert.equal(await removeCredentials('a.example', { authFile: file, env: {} }), true);
      assert.equal(await removeCredentials('a.example', { authFile: file, env: {} }), false);
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { auths: { 'b.example': { auth: b64('b:b') } } });
      assert.equal(await removeCredentials('a.example', { authFile: join(dir, 'none.json'), env: {} }), false);
    });
  });

  test('logout --all erases helper entries, empties auths, drops credHelpers and keeps other fields', async () => {
    await withTempDir(async (dir) => {
      const store = await installHelper(dir);
      const env = envIn(dir, { FERRYTEST_STORE: store });
      await writeJson(store, {
        'h.example': { Username: 'u', Secret: 'pw' },
        'keep.example': { Username: 'k', Secret: 'k' },
      });
      const file = join(dir, 'auth.json');
      await writeJson(file, {
        auths: { 'a.example': { auth: b64('a:a') } },
        credHelpers: { 'h.example': 'ferrytest' },
        other: 1,
      });
      await removeAllCredentials({ env, authFile: file });
      assert.equal(await readFile(file, 'utf8'), '{\n\t"auths": {},\n\t"other": 1\n}');
      assert.deepEqual(JSON.parse(await readFile(store, 'utf8')), { 'keep.example': { Username: 'k', Secret: 'k' } });
    });
  });

  test('login refuses keys with a scheme, a tag or a digest', async () => {
    for (const key of [
      'https://r.example',
      'r.example/repo:tag',
      `r.example/repo@sha256:${'a'.repeat(64)}`,
      'r.example/Repo',
    ]) {
      await assert.rejects(
        setCredentials(key, { username: 'u', password: 'p' }, { authFile: '/nonexistent/ferry/a.json', env: {} }),
        (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT'),
        key,
      );
    }
  });
});
