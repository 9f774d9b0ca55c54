/**
 * Bad-input corpus, configuration files users already have: broken registries.conf (and drop-ins),
 * auth.json / Docker config.json, certs.d directories. Every case loads or fails with INVALID_CONFIG
 * naming the file (and, for syntax errors, the line), never quoting a file of secrets Ferry was
 * pointed at, and never finding Object.prototype's members by a key such as `constructor`.
 * policy.json and registries.d have their own tests (test/signature/policy/, test/config/registries-d.test.ts);
 * containers.conf has its own tests.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  getCredentials,
  loadRegistriesConf,
  parseRegistriesConf,
  removeCredentials,
  setCredentials,
} from '../../src/config/index.js';
import { loadTLSFiles, tlsSecureContext } from '../../src/config/certs.js';
import { FerryError } from '../../src/errors.js';
import { fixturePath } from '../helpers/paths.js';
import { runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { corpusSeed, type Random, seededRandom } from './prng.js';

const MARKER = 'Qz7Mk9';
const SECRET_TEXT = `${MARKER}:x:0:0:root:/root:/bin/bash\nTOKEN=${MARKER}\n-----BEGIN PRIVATE KEY-----\n${MARKER}\n`;
const PROTO_KEYS = [
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
  'isPrototypeOf',
];

let root: string;
before(async () => {
  root = await makeTempDir('ferry-corpus-config-');
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function assertConfigError(e: unknown, file: string, what: string): FerryError {
  if (!(e instanceof FerryError))
    assert.fail(`${what}: ${e instanceof Error ? e.stack : String(e)} is not a FerryError`);
  assert.equal(e.code, 'INVALID_CONFIG', `${what}: ${e.message}`);
  assert.ok(e.message.includes(file), `${what}: the message does not name ${file}: ${e.message}`);
  assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/, `${what}: raw control character`);
  for (let c: unknown = e; c !== undefined; c = c instanceof Error ? c.cause : undefined) {
    const text =
      c instanceof Error ? `${c.message}${c.stack}${JSON.stringify((c as FerryError).details ?? {})}` : String(c);
    assert.ok(!text.includes(MARKER), `${what}: the error repeats the file: ${text.slice(0, 300)}`);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// registries.conf

const TOML_BROKEN = [
  SECRET_TEXT,
  `unqualified-search-registries = ["a"\n[[registry]]\nlocation = "${MARKER}`,
  `[[registry]]\nlocation = "x"\n[[registry]\nprefix = "${MARKER}"`,
  `a = 1\na = 2 # ${MARKER}`,
  `[aliases]\n"${MARKER}" = \n`,
  `x = [${'['.repeat(100_000)}`,
  `key = """${MARKER}`,
  `key = "\u0000${MARKER}"`,
  `"\u001b[2J" = 1\n${MARKER}`,
  `[registry]\nlocation = "a"\n[[registry]]\nlocation = "b" ${MARKER}`,
  `\ufeff${MARKER} = = 1`,
];

const TOML_INVALID = [
  'unqualified-search-registries = "docker.io"',
  'unqualified-search-registries = [1, 2]',
  'unqualified-search-registries = ["a/b"]',
  'short-name-mode = 5',
  'short-name-mode = "sometimes"',
  'credential-helpers = {}',
  '[[registry]]\nprefix = "x.io"',
  '[[registry]]\nlocation = 5',
  '[[registry]]\nlocation = "https://x.io"',
  '[[registry]]\nlocation = "x.io"\ninsecure = "yes"',
  '[[registry]]\nlocation = "x.io"\nblocked = 1',
  '[[registry]]\nlocation = "x.io"\nmirror = "m.io"',
  '[[registry]]\nlocation = "x.io"\n[[registry.mirror]]\nlocation = ""',
  '[[registry]]\nlocation = "x.io"\n[[registry.mirror]]\nlocation = "m.io"\npull-from-mirror = "sometimes"',
  '[[registry]]\nlocation = "x.io"\npull-from-mirror = "all"',
  '[[registry]]\nprefix = "*.x.io/a"\nlocation = "y.io"',
  '[[registry]]\nlocation = "x.io"\ninsecure = true\n[[registry]]\nlocation = "x.io"\ninsecure = false',
  '[aliases]\n"Bad" = "x.io/a"',
  '[aliases]\nok = "noregistry"',
  '[aliases]\nok = "x.io/a:tag"',
  '[aliases]\nok = 5',
  ...PROTO_KEYS.map((k) => `[aliases]\n"${k}" = "${k}"`),
  '[registries.search]\nregistries = ["a"]\nunqualified-search-registries = ["b"]',
  '[registries.search]\nregistries = "a"',
  'registry = 5',
  'aliases = []',
  ...PROTO_KEYS.map((k) => `${k} = 1\n[${k}]\nx = 1`),
];

test('broken registries.conf: INVALID_CONFIG naming the file and the line, never the text', async () => {
  for (const [i, text] of TOML_BROKEN.entries()) {
    const path = join(root, `broken-${i}.conf`);
    await writeFile(path, text);
    await assert.rejects(loadRegistriesConf({ path }), (e: unknown) => {
      const err = assertConfigError(e, path, `broken-${i}`);
      assert.match(err.message, /line \d+, column \d+/, `broken-${i}: ${err.message}`);
      return true;
    });
  }
});

test('invalid registries.conf values: INVALID_CONFIG naming the file (and the line when it can be found) or a valid result', async () => {
  let refused = 0;
  for (const [i, text] of TOML_INVALID.entries()) {
    const path = join(root, `invalid-${i}.conf`);
    await writeFile(path, text);
    try {
      const conf = await loadRegistriesConf({ path });
      for (const k of PROTO_KEYS) assert.ok(!Object.hasOwn(conf.aliases, k) || typeof conf.aliases[k] === 'string');
    } catch (e) {
      const err = assertConfigError(e, path, `invalid-${i}: ${text}`);
      refused++;
      if (err.details.near === undefined && err.details.lines === undefined && !/\[registries/.test(text)) {
        // Errors about one value say where it is.
        assert.ok(/line/.test(err.message) || text.split('\n').length === 1, `invalid-${i}: no line in ${err.message}`);
      }
    }
  }
  assert.ok(refused >= TOML_INVALID.length - 2 * PROTO_KEYS.length, `only ${refused} refused`);
});

test('a registries.conf drop-in that is broken is named, with its line', async () => {
  const dir = join(root, 'd');
  await mkdir(dir, { recursive: true });
  const main = join(root, 'main.conf');
  await writeFile(main, 'unqualified-search-registries = ["docker.io"]\n');
  await writeFile(join(dir, '10-ok.conf'), '[aliases]\nfoo = "x.io/foo"\n');
  await writeFile(join(dir, '20-bad.conf'), `\n\n[aliases\n${MARKER}`);
  await assert.rejects(loadRegistriesConf({ path: main, dir }), (e: unknown) => {
    const err = assertConfigError(e, join(dir, '20-bad.conf'), 'drop-in');
    assert.match(err.message, /line 3/);
    return true;
  });
  await rm(join(dir, '20-bad.conf'));
  await symlink(join(root, 'secrets.txt'), join(dir, '30-secret.conf'));
  await writeFile(join(root, 'secrets.txt'), SECRET_TEXT);
  await assert.rejects(
    loadRegistriesConf({ path: main, dir }),
    (e: unknown) => !!assertConfigError(e, join(dir, '30-secret.conf'), 'symlinked drop-in'),
  );
  await rm(dir, { recursive: true });
  // A drop-in "directory" that is a file counts as missing (ENOTDIR), like a missing one.
  await writeFile(join(dir), 'not a directory');
  assert.deepEqual((await loadRegistriesConf({ path: main, dir })).files, [main]);
  await rm(dir);
});

function mutateText(r: Random, text: string): string {
  const at = r.int(text.length + 1);
  const pieces = [
    '[',
    ']',
    '[[',
    '"',
    "'",
    '=',
    '\n',
    '#',
    '\\',
    '\u0000',
    '.',
    ',',
    '{',
    '}',
    '"""',
    '1',
    'true',
    '\t',
    'é',
    MARKER,
  ];
  switch (r.int(4)) {
    case 0:
      return text.slice(0, at) + r.pick(pieces) + text.slice(at);
    case 1:
      return text.slice(0, at) + text.slice(at + 1 + r.int(6));
    case 2:
      return text.slice(0, at);
    default:
      return text.slice(0, at) + r.pick(pieces) + text.slice(at + 1);
  }
}

test('mutated registries.conf fixtures parse or fail typed, naming the file', async (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const names = [
    'mirrors.conf',
    'aliases.conf',
    'unmarshal.conf',
    'find-registry.conf',
    'v1-compatibility.conf',
    'cred-helper.conf',
  ];
  let counts = { ok: 0, refused: 0 };
  for (const name of names) {
    const base = await readFile(fixturePath('config', 'sysregistriesv2', name), 'utf8');
    for (let i = 0; i < 60; i++) {
      let text = base;
      for (let n = 1 + r.int(3); n > 0; n--) text = mutateText(r, text);
      try {
        parseRegistriesConf(text, `mutated-${name}`);
        counts = { ...counts, ok: counts.ok + 1 };
      } catch (e) {
        if (!(e instanceof FerryError)) assert.fail(`mutated ${name}: ${e instanceof Error ? e.stack : String(e)}`);
        assert.equal(e.code, 'INVALID_CONFIG');
        assert.ok(e.message.includes(`mutated-${name}`));
        assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/);
        counts = { ...counts, refused: counts.refused + 1 };
      }
    }
  }
  t.diagnostic(`registries.conf: ${counts.ok} parsed, ${counts.refused} refused`);
  assert.ok(counts.refused > 100);
});

// ---------------------------------------------------------------------------------------------
// auth.json

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const AUTH_BAD: [string, string][] = [
  ['not JSON', SECRET_TEXT],
  ['JSON with a syntax error on line 3', `{\n "auths": {\n  "x": {"auth": "${MARKER}",}\n}}`],
  ['100k [', '['.repeat(100_000)],
  ['an array', '[]'],
  ['auths is a string', JSON.stringify({ auths: MARKER })],
  ['an entry is a string', JSON.stringify({ auths: { 'r.io': MARKER } })],
  ['auth is a number', JSON.stringify({ auths: { 'r.io': { auth: 5 } } })],
  ['auth is not base64', JSON.stringify({ auths: { 'r.io': { auth: `${MARKER}!!` } } })],
  ['auth is base64 with a bad length', JSON.stringify({ auths: { 'r.io': { auth: `${MARKER}a` } } })],
  [
    'identitytoken is an object',
    JSON.stringify({ auths: { 'r.io': { auth: b64('u:p'), identitytoken: { x: MARKER } } } }),
  ],
  ['credHelpers is an array', JSON.stringify({ credHelpers: [MARKER] })],
  ['a credHelpers value is a number', JSON.stringify({ credHelpers: { 'r.io': 5 } })],
  ['credsStore is an object', JSON.stringify({ credsStore: { a: MARKER } })],
  ['a helper name with a slash', JSON.stringify({ credHelpers: { 'r.io': `../../${MARKER}` } })],
];

test('broken auth.json: INVALID_CONFIG naming the file (and the line for syntax errors), never a secret', async () => {
  for (const [name, text] of AUTH_BAD) {
    const authFile = join(root, `auth-${name.replace(/\W+/g, '-')}.json`);
    await writeFile(authFile, text);
    await assert.rejects(getCredentials('r.io', { authFile, env: { HOME: root } }), (e: unknown) => {
      const err = assertConfigError(e, authFile, name);
      assert.match(err.message, name.includes('line 3') ? /line 3, column \d+/ : /line \d+/, `${name}: ${err.message}`);
      return true;
    });
  }
});

test('auth.json keys named like Object.prototype members are plain keys', async () => {
  const env = { HOME: join(root, 'proto-home'), PATH: '/nonexistent' };
  const authFile = join(root, 'auth-proto.json');
  // No helper for these hosts: the lookups must not find Object.prototype's members and run them.
  await writeFile(authFile, JSON.stringify({ auths: {}, credHelpers: { 'other.io': 'nosuchhelper' } }));
  for (const host of PROTO_KEYS) {
    assert.equal(await getCredentials(host, { authFile, env }), undefined, `credentials for ${host}`);
  }
  // Stored under such keys, they are found again, and only there.
  for (const key of PROTO_KEYS) {
    await setCredentials(key, { username: `u-${key}`, password: 'p' }, { authFile, env });
    assert.deepEqual(
      await getCredentials(key, { authFile, env }),
      { username: `u-${key}`, password: 'p' },
      `stored for ${key}`,
    );
  }
  const doc = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, unknown> };
  for (const key of PROTO_KEYS) assert.ok(Object.hasOwn(doc.auths, key), `${key} written to the file`);
  assert.equal(Object.getPrototypeOf(doc.auths), Object.prototype);
  for (const key of PROTO_KEYS) assert.equal(await removeCredentials(key, { authFile, env }), true, `removed ${key}`);
  assert.deepEqual(JSON.parse(await readFile(authFile, 'utf8')).auths, {});
  // A file that maps such a key to a helper runs that helper, by the file's value only.
  await writeFile(
    authFile,
    JSON.stringify({ auths: { 'r.io': { auth: b64('a:b') } }, credHelpers: { ['__proto__']: 'nosuchhelper' } }),
  );
  assert.deepEqual(await getCredentials('r.io', { authFile, env }), { username: 'a', password: 'b' });
});

// ---------------------------------------------------------------------------------------------
// certs.d

test('odd certs.d directories load or fail typed, naming the file', async () => {
  const cases: [string, Record<string, string | { dir: true } | { link: string }>][] = [
    ['a garbage CA', { 'ca.crt': SECRET_TEXT }],
    ['a PEM-looking garbage CA', { 'ca.crt': `-----BEGIN CERTIFICATE-----\n${MARKER}\n-----END CERTIFICATE-----\n` }],
    ['a garbage client pair', { 'c.cert': SECRET_TEXT, 'c.key': SECRET_TEXT }],
    ['a cert without its key', { 'c.cert': 'x' }],
    ['a key without its cert', { 'c.key': SECRET_TEXT }],
    ['a directory named like a CA', { 'ca.crt': { dir: true } }],
    ['a dangling symlink', { 'ca.crt': { link: '/nonexistent/ca.crt' } }],
    ['a symlink loop', { 'ca.crt': { link: 'ca.crt' } }],
    ['empty files', { 'ca.crt': '', 'c.cert': '', 'c.key': '' }],
  ];
  for (const [name, files] of cases) {
    const dir = join(root, `certs-${name.replace(/\W+/g, '-')}`);
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      if (typeof content === 'string') await writeFile(join(dir, file), content);
      else if ('dir' in content) await mkdir(join(dir, file));
      else await symlink(content.link, join(dir, file));
    }
    try {
      const tls = await loadTLSFiles(dir);
      tlsSecureContext(tls, true);
      tlsSecureContext(tls, false);
    } catch (e) {
      assertConfigError(e, dir, name);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The CLI, pointed at a file of secrets

test('ferry --debug pointed at a file of secrets as auth.json or registries.conf names the file and line, never its text', async () => {
  const secrets = join(root, 'cli-secrets.txt');
  await writeFile(secrets, SECRET_TEXT);
  const home = join(root, 'cli-home');
  await mkdir(home, { recursive: true });
  const env = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_RUNTIME_DIR: join(home, 'run'),
  };
  const runs: { args: string[]; env: NodeJS.ProcessEnv }[] = [
    { args: ['--debug', 'logout', '--authfile', secrets, 'r.example'], env },
    { args: ['--debug', 'inspect', '--authfile', secrets, 'docker://127.0.0.1:9/x:y'], env },
    { args: ['--debug', 'inspect', 'docker://127.0.0.1:9/x:y'], env: { ...env, REGISTRY_AUTH_FILE: secrets } },
    { args: ['--debug', 'inspect', 'docker://127.0.0.1:9/x:y'], env: { ...env, CONTAINERS_REGISTRIES_CONF: secrets } },
    {
      args: ['--debug', 'copy', 'docker://127.0.0.1:9/x:y', `dir:${join(root, 'cli-out')}`],
      env: { ...env, CONTAINERS_REGISTRIES_CONF: secrets },
    },
  ];
  for (const { args, env: runEnv } of runs) {
    const r = await runFerry(args, { env: runEnv, timeoutMs: 60_000 });
    const what = `ferry ${args.join(' ')}`;
    assert.equal(r.code, 1, `${what}: exit ${r.code}\n${r.stderr}`);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(MARKER), `${what} printed the secret file:\n${r.stderr}`);
    assert.ok(r.stderr.includes(secrets), `${what}: the file is not named:\n${r.stderr}`);
    assert.match(r.stderr, /line 1, column \d+/, what);
    assert.doesNotMatch(r.stderr, /TypeError|RangeError|SyntaxError/, what);
  }
});

test('a configuration path naming /dev/zero or a huge file is refused at a size cap, in bounded time and memory', async () => {
  const huge = join(root, 'huge.json');
  await writeFile(huge, `{"auths":{},"pad":"${'x'.repeat(5 * 1024 * 1024)}"}`);
  for (const path of ['/dev/zero', huge]) {
    await assert.rejects(getCredentials('r.io', { authFile: path, env: { HOME: root } }), (e: unknown) => {
      assert.match(assertConfigError(e, path, `auth file ${path}`).message, /larger than the \d+-byte limit/);
      return true;
    });
    await assert.rejects(
      loadRegistriesConf({ path }),
      (e: unknown) => !!assertConfigError(e, path, `registries.conf ${path}`),
    );
  }
  const certs = join(root, 'certs-zero');
  await mkdir(certs, { recursive: true });
  await symlink('/dev/zero', join(certs, 'ca.crt'));
  await assert.rejects(
    loadTLSFiles(certs),
    (e: unknown) => !!assertConfigError(e, join(certs, 'ca.crt'), 'certs.d ca.crt → /dev/zero'),
  );
  assert.ok(process.memoryUsage().rss < 1024 * 1024 * 1024);
});
