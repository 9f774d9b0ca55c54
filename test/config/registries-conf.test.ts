import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  findRegistry,
  isBlocked,
  isInsecure,
  loadRegistriesConf,
  parseRegistriesConf,
  prefixMatchLength,
  pullSources,
  pushDestination,
  type RegistriesConf,
} from '../../src/config/registries-conf.js';
import { isFerryError } from '../../src/errors.js';
import { fixturePath } from '../helpers/paths.js';
import { withTempDir } from '../helpers/tmp.js';

const fixture = (...p: string[]): string => fixturePath('config', 'sysregistriesv2', ...p);
const load = (name: string, dir?: string): Promise<RegistriesConf> =>
  loadRegistriesConf({ path: fixture(name), dir: dir === undefined ? undefined : fixture(dir), env: {} });
const DIGEST = `sha256:${'a'.repeat(64)}`;

function confFrom(text: string): RegistriesConf {
  const f = parseRegistriesConf(text, 'inline.conf');
  return {
    unqualifiedSearchRegistries: f.unqualifiedSearchRegistries ?? [],
    shortNameMode: f.shortNameMode,
    credentialHelpers: f.credentialHelpers ?? ['containers-auth.json'],
    aliases: f.aliases,
    registries: f.registries,
    files: [],
  };
}

describe('registries.conf: valid files', () => {
  test('an empty file gives no registries and the defaults', async () => {
    const conf = await load('empty.conf');
    assert.deepEqual(conf.registries, []);
    assert.deepEqual(conf.unqualifiedSearchRegistries, []);
    assert.deepEqual(conf.credentialHelpers, ['containers-auth.json']);
    assert.equal(conf.shortNameMode, undefined);
    assert.deepEqual(conf.files, [fixture('empty.conf')]);
  });

  test('reads mirrors in order with their own insecure flags', async () => {
    const conf = await load('mirrors.conf');
    assert.equal(conf.registries.length, 2);
    const reg = findRegistry(conf, 'registry.com/image:tag');
    assert.deepEqual(reg?.mirrors, [
      { location: 'mirror-1.registry.com', insecure: false, pullFromMirror: undefined },
      { location: 'mirror-2.registry.com', insecure: true, pullFromMirror: undefined },
    ]);
    assert.equal(isBlocked(conf, 'blocked.registry.com/x:y'), true);
    assert.equal(isBlocked(conf, 'registry.com/x:y'), false);
  });

  test('sorts entries by prefix and reads insecure and blocked (unmarshal.conf)', async () => {
    const conf = await load('unmarshal.conf');
    assert.deepEqual(
      conf.registries.map((r) => [r.prefix, r.insecure, r.blocked]),
      [
        ['blocked.registry.com', false, true],
        ['insecure.registry.com', true, false],
        ['registry.com', false, false],
        ['untrusted.registry.com', true, false],
      ],
    );
    assert.equal(isInsecure(conf, 'insecure.registry.com'), true);
    assert.equal(isInsecure(conf, 'untrusted.registry.com:5000'), true);
    assert.equal(isInsecure(conf, 'registry.com'), false);
  });

  test('reads unqualified-search-registries in order', async () => {
    const conf = await load('unqualified-search.conf');
    assert.equal(conf.registries.length, 4);
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['registry-a.com', 'registry-c.com', 'registry-d.com']);
  });

  test('reads credential-helpers and a prefix that differs from its location', async () => {
    const conf = await load('cred-helper.conf');
    assert.deepEqual(conf.credentialHelpers, ['helper-1', 'helper-2']);
    const reg = findRegistry(conf, 'registry-c.com/app:1');
    assert.equal(reg?.location, 'registry-c.com/foo');
    assert.equal(pullSources(conf, 'registry-c.com/app:1').at(-1)?.reference.toString(), 'registry-c.com/foo/app:1');
  });

  test('reads aliases (normalised, empty ones dropped) and short-name-mode', async () => {
    const conf = await load('aliases.conf');
    assert.equal(conf.shortNameMode, 'enforcing');
    assert.deepEqual(
      { ...conf.aliases },
      {
        docker: 'docker.io/library/foo',
        'quay/foo': 'quay.io/library/foo',
        example: 'example.com/library/foo',
      },
    );
  });

  test('reads the v1 format as upstream: search list, blocked and insecure merged per host', async () => {
    const conf = await load('v1-compatibility.conf');
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['registry-a.com', 'registry-c.com', 'registry-d.com']);
    assert.deepEqual(
      conf.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked]),
      [
        ['registry-a.com', 'registry-a.com', true, false],
        ['registry-b.com', 'registry-b.com', true, true],
        ['registry-d.com', 'registry-d.com', true, false],
        ['registry-e.com', 'registry-e.com', true, false],
      ],
    );
    const reg = findRegistry(conf, 'registry-b.com/bar/foo/barfoo:latest');
    assert.equal(reg?.insecure, true);
    assert.equal(reg?.blocked, true);
  });

  test('empty v1 tables beside v2 keys are not a mix', async () => {
    const conf = await load('mixing-v1-v2-empty.conf');
    assert.deepEqual(conf.registries, []);
    assert.deepEqual(conf.unqualifiedSearchRegistries, []);
  });

  test('a table of the same prefix twice keeps the first entry', () => {
    const conf = confFrom(
      '[[registry]]\nlocation = "r.com"\n[[registry.mirror]]\nlocation = "m1.com"\n\n[[registry]]\nlocation = "r.com"\n',
    );
    assert.equal(conf.registries.length, 1);
    assert.equal(conf.registries[0]!.mirrors.length, 1);
  });
});

describe('registries.conf: invalid files are INVALID_CONFIG naming the file', () => {
  const cases: [string, RegExp][] = [
    [
      'insecure-conflicts.conf',
      /registry 'registry\.com' is defined multiple times with conflicting 'insecure' setting/,
    ],
    ['blocked-conflicts.conf', /registry 'registry\.com' is defined multiple times with conflicting 'blocked' setting/],
    ['missing-mirror-location.conf', /invalid location/],
    ['invalid-prefix.conf', /invalid location 'http:\/\/schema-is-invalid\.com': URI schemes are not supported/],
    ['invalid-search.conf', /unqualified-search-registries entry "registry-a\.com\/namespace-is-forbidden"/],
    ['invalid-short-name-mode.conf', /invalid short-name-mode "invalid"/],
    ['invalid-aliases.conf', /alias "image1" = "quay\.io\/repo\/image:1" must not contain a tag/],
    ['invalid-value-mirror.conf', /unsupported pull-from-mirror value "notvalid"/],
    [
      'invalid-conflict-mirror.conf',
      /mirror-by-digest-only and its mirror "mirror-1\.registry-a\.com" sets pull-from-mirror/,
    ],
    [
      'invalid-config-level-mirror.conf',
      /pull-from-mirror must not be set for a non-mirror registry "registry-a\.com\/foo"/,
    ],
    ['mixing-v1-v2.conf', /mixing sysregistry v1\/v2 is not supported/],
    ['v1-invalid-block.conf', /URI schemes are not supported/],
    ['v1-invalid-insecure.conf', /URI schemes are not supported/],
    ['v1-invalid-search.conf', /URI schemes are not supported/],
    ['try-update-cache-invalid.conf', /invalid TOML at line 1, column \d+/],
  ];
  for (const [name, message] of cases) {
    test(`rejects ${name}`, async () => {
      await assert.rejects(load(name), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_CONFIG'), String(e));
        assert.match(e.message, message);
        assert.ok(e.message.includes(fixture(name)), e.message);
        return true;
      });
    });
  }

  test('a TOML syntax error carries its line and column', () => {
    assert.throws(
      () => parseRegistriesConf('[[registry]]\nlocation = "a.com"\ninsecure = yes\n', 'bad.conf'),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && e.details.line === 3 && typeof e.details.column === 'number',
    );
  });

  test('a value of the wrong type names the key', () => {
    assert.throws(
      () => parseRegistriesConf('[[registry]]\nlocation = "a.com"\ninsecure = "yes"\n', 'bad.conf'),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && /"insecure" must be true or false/.test(e.message),
    );
  });

  test('a registry with a plain prefix and no location is refused; a wildcard prefix may omit it', () => {
    assert.throws(
      () => confFrom('[[registry]]\nprefix = "a.com/ns"\n'),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG'),
    );
    assert.throws(
      () => confFrom('[[registry]]\nprefix = "*.a.com:5000"\n'),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG'),
    );
    assert.equal(confFrom('[[registry]]\nprefix = "*.a.com"\n').registries[0]?.location, '');
  });

  test('an explicit main file that does not exist is an error', async () => {
    await assert.rejects(loadRegistriesConf({ path: fixture('this-does-not-exist.conf'), env: {} }), (e: unknown) =>
      isFerryError(e, 'INVALID_CONFIG'),
    );
  });
});

describe('registries.conf: prefix matching', () => {
  test('a prefix matches only where it ends at ":", "/", "@" or the end', () => {
    const cases: [string, string, boolean][] = [
      ['docker.io', 'docker.io', true],
      ['docker.io', 'example.com', false],
      ['example.com:5000', 'example.com:5000', true],
      ['example.com:50000', 'example.com:5000', false],
      ['example.com/foo', 'example.com', true],
      ['example.com/foo/bar:baz', 'example.com', true],
      [`example.com/foo/bar@${DIGEST}`, 'example.com', true],
      ['docker.io', 'docker.io/library', false],
      ['docker.io/library', 'docker.io/library', true],
      ['docker.io/libraryy', 'docker.io/library', false],
      ['docker.io/library/busybox', 'docker.io/library', true],
      ['docker.io/library/busybox2', 'docker.io/library/busybox', false],
      ['example.com/foo', 'example.com/foo:bar', false],
      ['example.com/foo:bar', 'example.com/foo:bar', true],
      ['example.com/foo:bar2', 'example.com/foo:bar', false],
      ['a.example.com', '*.example.com', true],
      ['a.b.example.com:5000/x:y', '*.example.com', true],
      [`a.example.com@${DIGEST}`, '*.example.com', true],
      ['example.com', '*.example.com', false],
      ['aexample.com', '*.example.com', false],
      ['a.example.com.evil.org/x', '*.example.com', false],
      ['evil.org/a.example.com', '*.example.com', false],
    ];
    for (const [name, prefix, want] of cases) {
      assert.equal(prefixMatchLength(name, prefix) !== -1, want, `${name} vs ${prefix}`);
    }
  });

  test('findRegistry picks the longest matching prefix, wildcards included (find-registry.conf)', async () => {
    const conf = await load('find-registry.conf');
    assert.equal(conf.registries.length, 15);
    const cases: [string, string | undefined, string | undefined][] = [
      ['simple-prefix.com/foo/bar:latest', 'simple-prefix.com', 'registry.com:5000'],
      ['simple-prefix.com/', 'simple-prefix.com', 'registry.com:5000'],
      ['simple-prefix.com', 'simple-prefix.com', 'registry.com:5000'],
      ['simple-prefix.comx', undefined, undefined],
      [
        'complex-prefix.com:4000/with/path/and/beyond:tag',
        'complex-prefix.com:4000/with/path',
        'another-registry.com:5000',
      ],
      ['complex-prefix.com:4000/with/pathx', '*.com', ''],
      ['no-prefix.com/foo:tag', 'no-prefix.com', 'no-prefix.com'],
      ['empty-prefix.com/foo:tag', 'empty-prefix.com', 'empty-prefix.com'],
      ['a.so.simple-prefix.com/x', '*.so.simple-prefix.com', 'subdomain-prefix.com'],
      ['so.simple-prefix.com/x', '*.simple-prefix.com', 'subdomain-prefix-2.com'],
      ['a.not.quite.simple-prefix.com/x', '*.not.quite.simple-prefix.com', 'subdomain-prefix-1.com'],
      ['foo.bar.example.com:5000/x', 'foo.bar.example.com:5000', 'subdomain-prefix-5.com'],
      ['foo.bar.example.com/x', '*.bar.example.com', 'subdomain-prefix-3.com'],
      ['x.bar.docker.io/x', '*.bar.docker.io', 'subdomain-prefix-4.com'],
      ['x.docker.io/x', '*.docker.io', 'subdomain-prefix-2.com'],
      ['docker.io/library/busybox', undefined, undefined],
      ['a.internal.registry.com/x', '*.internal.registry.com', ''],
      ['unlisted.com/x', '*.com', ''],
      ['x.foobar.io/y', '*.foobar.io', ''],
    ];
    for (const [name, prefix, location] of cases) {
      const reg = findRegistry(conf, name);
      assert.equal(reg?.prefix, prefix, name);
      assert.equal(reg?.location, location, name);
    }
  });

  test('drop-ins replace entries per prefix and add new ones', async () => {
    const conf = await load('find-registry.conf', 'registries.conf.d');
    assert.equal(
      findRegistry(conf, 'a.not.quite.simple-prefix.com/x')?.location,
      'subdomain-prefix-1-overridden-by-dropin-location.com',
    );
    assert.equal(
      findRegistry(conf, 'foo.bar.example.com/x')?.location,
      'subdomain-prefix-3-overridden-by-dropin-location.com',
    );
    assert.equal(findRegistry(conf, 'x.docker.io/x')?.location, 'subdomain-prefix-2.com');
    assert.equal(
      findRegistry(conf, 'x.docker.com/x')?.location,
      'subdomain-prefix-2-overridden-by-dropin-location.com',
    );
    assert.ok(conf.registries.some((r) => r.prefix === '2.com' && r.location === '2.com'));
    // Equal lengths: the first in prefix order wins, so "*.com" still covers 2.com, as upstream.
    assert.equal(findRegistry(conf, '2.com/x')?.prefix, '*.com');
  });
});

describe('registries.conf: drop-in directories', () => {
  test('later files win per prefix, for lists that are set, and per alias; .conf files only', async () => {
    const conf = await load('base-for-registries.d.conf', 'registries.conf.d');
    assert.deepEqual(
      conf.files.map((f) => f.slice(fixture().length + 1)),
      [
        'base-for-registries.d.conf',
        'registries.conf.d/config-1.conf',
        'registries.conf.d/config-2.conf',
        'registries.conf.d/config-3.conf',
        'registries.conf.d/subdomain-override-1.conf',
        'registries.conf.d/subdomain-override-2.conf',
        'registries.conf.d/subdomain-override-3.conf',
      ],
    );
    assert.deepEqual(conf.unqualifiedSearchRegistries, ['example-overwrite.com']);
    assert.deepEqual(conf.credentialHelpers, ['dropin-1', 'dropin-2']);
    assert.equal(conf.shortNameMode, 'permissive');
    const base = findRegistry(conf, 'base.com/x');
    assert.equal(base?.blocked, true);
    assert.equal(base?.insecure, false, 'the drop-in entry replaces the whole base entry');
    assert.deepEqual(
      { ...conf.aliases },
      {
        docker: 'docker.io/library/config1',
        config1: 'config1.com/image',
        barz: 'barz.com/config2',
        config2: 'config2.com/image',
        added3: 'xxx.com/image',
      },
    );
    assert.equal(findRegistry(conf, 'ignore-me-because-i-have-a-wrong-suffix.com'), undefined);
  });

  test('an absent list keeps the earlier value; an empty list clears it', async () => {
    assert.deepEqual((await load('base-for-registries.d.conf', 'registries.conf.d-usr1')).unqualifiedSearchRegistries, [
      'example.com',
    ]);
    assert.deepEqual(
      (await load('base-for-registries.d.conf', 'registries.conf.d-usr2')).unqualifiedSearchRegistries,
      [],
    );
  });

  test('an empty credential-helpers list means the default auth files', async () => {
    const conf = await load('cred-helper.conf', 'registries.conf.d-empty-helpers');
    assert.deepEqual(conf.credentialHelpers, ['containers-auth.json']);
  });

  test('an alias set to "" in a later file removes it', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'main.conf'), '[aliases]\nfoo = "quay.io/org/foo"\nbar = "quay.io/org/bar"\n');
      await mkdir(join(dir, 'd'));
      await writeFile(join(dir, 'd', '10.conf'), '[aliases]\nfoo = ""\n');
      const conf = await loadRegistriesConf({ path: join(dir, 'main.conf'), dir: join(dir, 'd'), env: {} });
      assert.deepEqual({ ...conf.aliases }, { bar: 'quay.io/org/bar' });
    });
  });

  test('drop-ins must use the v2 format', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'main.conf'), '');
      await mkdir(join(dir, 'd'));
      await writeFile(join(dir, 'd', 'v1.conf'), '[registries.search]\nregistries = ["a.com"]\n');
      await assert.rejects(
        loadRegistriesConf({ path: join(dir, 'main.conf'), dir: join(dir, 'd'), env: {} }),
        (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && e.message.includes('v1.conf'),
      );
    });
  });

  test('without an explicit path: CONTAINERS_REGISTRIES_CONF, else the user file and its drop-ins', async () => {
    await withTempDir(async (dir) => {
      const user = join(dir, 'config', 'containers');
      await mkdir(join(user, 'registries.conf.d'), { recursive: true });
      await writeFile(join(user, 'registries.conf'), 'unqualified-search-registries = ["user.example"]\n');
      await writeFile(
        join(user, 'registries.conf.d', 'a.conf'),
        '[[registry]]\nlocation = "dropin.example"\nblocked = true\n',
      );
      const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config') };
      const conf = await loadRegistriesConf({ env });
      assert.deepEqual(conf.unqualifiedSearchRegistries, ['user.example']);
      assert.equal(isBlocked(conf, 'dropin.example/x'), true);

      const other = join(dir, 'other.conf');
      await writeFile(other, 'unqualified-search-registries = ["env.example"]\n');
      const extra = join(dir, 'extra.d');
      await mkdir(extra);
      await writeFile(join(extra, 'x.conf'), 'short-name-mode = "disabled"\n');
      const fromEnv = await loadRegistriesConf({
        env: { ...env, CONTAINERS_REGISTRIES_CONF: other, CONTAINERS_REGISTRIES_CONF_DIR: extra },
      });
      assert.deepEqual(fromEnv.unqualifiedSearchRegistries, ['env.example']);
      assert.equal(fromEnv.shortNameMode, 'disabled');
      assert.equal(isBlocked(fromEnv, 'dropin.example/x'), false);
    });
  });
});

describe('registries.conf: pull sources', () => {
  const show = (conf: RegistriesConf, ref: string): [string, boolean][] =>
    pullSources(conf, ref).map((s) => [s.reference.toString(), s.insecure]);

  test('mirrors come first in order, then the primary, each with the rewritten reference', async () => {
    const conf = await load('pull-sources-from-reference.conf');
    for (const suffix of [':latest', `@${DIGEST}`]) {
      assert.deepEqual(show(conf, `registry-a.com/foo/image${suffix}`), [
        [`mirror-1.registry-a.com/image${suffix}`, false],
        [`mirror-2.registry-a.com/image${suffix}`, true],
        [`registry-a.com/bar/image${suffix}`, false],
      ]);
    }
    const sources = pullSources(conf, 'registry-a.com/foo/image:latest');
    assert.deepEqual(
      sources.map((s) => [s.location, s.mirror]),
      [
        ['mirror-1.registry-a.com', true],
        ['mirror-2.registry-a.com', true],
        ['registry-a.com/bar', false],
      ],
    );
  });

  test('mirror-by-digest-only and pull-from-mirror choose mirrors by whether the reference has a digest', async () => {
    const conf = await load('pull-sources-from-reference.conf');
    const mirrorsOf = (ref: string): string[] => pullSources(conf, ref).map((s) => s.location);
    const cases: [string, string[], string[]][] = [
      // [repository, locations for a digest, locations for a tag]
      [
        'registry-b.com/foo/image',
        ['mirror-1.registry-b.com', 'mirror-2.registry-b.com', 'registry-b.com/bar'],
        ['registry-b.com/bar'],
      ],
      [
        'registry-b.com/baz/image',
        ['mirror-1.registry-b.com', 'mirror-2.registry-b.com', 'registry-b.com/bar'],
        ['registry-b.com/bar'],
      ],
      [
        'registry-c.com/baz/image',
        ['mirror-1.registry-c.com', 'mirror-2.registry-c.com', 'registry-c.com/bar'],
        ['mirror-1.registry-c.com', 'registry-c.com/bar'],
      ],
      [
        'registry-d.com/baz/image',
        ['mirror-1.registry-d.com', 'mirror-2.registry-d.com', 'registry-d.com/bar'],
        ['registry-d.com/bar'],
      ],
      [
        'registry-e.com/baz/image',
        ['registry-e.com/bar'],
        ['mirror-1.registry-e.com', 'mirror-2.registry-e.com', 'registry-e.com/bar'],
      ],
      [
        'registry-f.com/baz/image',
        ['mirror-1.registry-f.com', 'registry-f.com/bar'],
        ['mirror-1.registry-f.com', 'mirror-2.registry-f.com', 'registry-f.com/bar'],
      ],
      [
        'registry-g.com/baz/image',
        ['mirror-1.registry-g.com', 'mirror-3.registry-g.com', 'mirror-4.registry-g.com', 'registry-g.com/bar'],
        ['mirror-2.registry-g.com', 'mirror-3.registry-g.com', 'mirror-4.registry-g.com', 'registry-g.com/bar'],
      ],
    ];
    for (const [repo, byDigest, byTag] of cases) {
      assert.deepEqual(mirrorsOf(`${repo}@${DIGEST}`), byDigest, `${repo}@digest`);
      assert.deepEqual(mirrorsOf(`${repo}:latest`), byTag, `${repo}:latest`);
    }
    assert.equal(
      pullSources(conf, `registry-d.com/baz/image@${DIGEST}`)[0]!.reference.toString(),
      `mirror-1.registry-d.com/image@${DIGEST}`,
    );
  });

  test('rewrites replace the matched prefix with the location', () => {
    const cases: [string, string, string, string][] = [
      ['example.com/image:latest', 'example.com', 'example.com', 'example.com/image:latest'],
      ['example.com:5000/image', 'example.com:5000', 'example.com:5000', 'example.com:5000/image'],
      [`example.com/foo@${DIGEST}`, 'example.com', 'example.com', `example.com/foo@${DIGEST}`],
      ['example.com/foo/image:latest', 'example.com/foo', 'example.com', 'example.com/image:latest'],
      ['example.com/foo/image:latest', 'example.com/foo', 'example.com/path', 'example.com/path/image:latest'],
      ['docker.io/library/image', 'docker.io/library', 'example.com', 'example.com/image'],
      ['docker.io/library/image', 'docker.io', 'example.com', 'example.com/library/image'],
      ['busybox:1', 'docker.io/library', 'mirror.local:5000/hub', 'mirror.local:5000/hub/busybox:1'],
      ['a.example.com/app:1', '*.example.com', 'central.example.org', 'central.example.org/app:1'],
    ];
    for (const [ref, prefix, location, want] of cases) {
      const conf = confFrom(`[[registry]]\nprefix = "${prefix}"\nlocation = "${location}"\n`);
      assert.equal(pullSources(conf, ref).at(-1)!.reference.toString(), want, `${ref} via ${prefix} → ${location}`);
    }
  });

  test('a wildcard entry without a location keeps the reference; an unmatched reference is its own source', async () => {
    const conf = await load('find-registry.conf');
    assert.deepEqual(show(conf, 'a.internal.registry.com/x:1'), [['a.internal.registry.com/x:1', false]]);
    assert.equal(pullSources(conf, 'a.internal.registry.com/x:1')[0]!.location, 'a.internal.registry.com');
    assert.deepEqual(show(conf, 'quay.io/org/app:1'), [['quay.io/org/app:1', false]]);
  });

  test('a blocked registry refuses pulls and pushes with REGISTRY_BLOCKED', async () => {
    const conf = await load('mirrors.conf');
    for (const op of [
      () => pullSources(conf, 'blocked.registry.com/x:1'),
      () => pushDestination(conf, 'blocked.registry.com/x:1'),
    ]) {
      assert.throws(op, (e: unknown) => isFerryError(e, 'REGISTRY_BLOCKED') && e.message.includes('mirrors.conf'));
    }
  });

  test('pushes go to the reference as written, with the entry insecure flag', () => {
    const conf = confFrom(
      '[[registry]]\nprefix = "a.com/ns"\nlocation = "b.com/other"\ninsecure = true\n[[registry.mirror]]\nlocation = "m.com"\n',
    );
    const dest = pushDestination(conf, 'a.com/ns/app:1');
    assert.equal(dest.reference.toString(), 'a.com/ns/app:1');
    assert.equal(dest.insecure, true);
  });
});

describe('loadRegistriesConf parses each file once per process', () => {
  test('the same text gives an equal, independent result; an edited file is parsed again', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'registries.conf');
      await writeFile(
        path,
        '[aliases]\n"app" = "example.com/team/app"\n[[registry]]\nprefix = "example.com"\nlocation = "mirror.example.com"\n[[registry.mirror]]\nlocation = "m1.example.com"\n',
      );
      const first = await loadRegistriesConf({ path });
      const second = await loadRegistriesConf({ path });
      assert.deepEqual(second, first);
      // A caller changing what it got changes nothing for the next caller.
      first.registries[0]!.mirrors[0]!.location = 'changed.example';
      first.aliases.app = 'changed.example/x';
      const third = await loadRegistriesConf({ path });
      assert.equal(third.registries[0]!.mirrors[0]!.location, 'm1.example.com');
      assert.equal(third.aliases.app, 'example.com/team/app');
      assert.equal(Object.getPrototypeOf(third.aliases), null, 'aliases keep their null prototype');
      assert.equal(third.aliases.constructor, undefined);
      await writeFile(path, '[aliases]\n"app" = "example.com/other/app"\n');
      const edited = await loadRegistriesConf({ path });
      assert.equal(edited.aliases.app, 'example.com/other/app');
      assert.equal(edited.registries.length, 0);
    });
  });
});
