/**
 * The docker:// transport reading the configuration files users already have, against the real
 * registry: registries.conf (insecure, blocked, mirrors, prefix rewrites), auth.json, credential
 * helpers and certs.d.
 */
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { copyImage, getRepositoryTags, type ImageOptions, parseImageReference } from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Runs `fn` with some environment variables set (undefined: removed), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

async function manifestDigest(ref: string, options: ImageOptions): Promise<string> {
  const img = await parseImageReference(ref).newImage(options);
  try {
    return await img.digest();
  } finally {
    await img.close();
  }
}

async function push(layout: string, tag: string, dest: string, extra: string[] = []): Promise<void> {
  const r = await runSkopeo(['copy', '--dest-tls-verify=false', ...extra, `oci:${layout}:${tag}`, `docker://${dest}`]);
  assert.equal(r.code, 0, r.stderr);
}

/** Manifest requests for `repo` in a registry's access log (its error lines name the URI too: not counted). */
async function manifestHits(reg: TestRegistry, repo: string): Promise<number> {
  const log = await readFile(reg.logPath, 'utf8');
  return log
    .split('\n')
    .filter((l) => l.includes(`"GET /v2/${repo}/manifests/`) || l.includes(`"HEAD /v2/${repo}/manifests/`)).length;
}

describe('registries.conf', () => {
  let primary: TestRegistry;
  let mirror: TestRegistry;
  let dir: string;
  let image: MadeImage;
  let layout: string;

  before(async () => {
    [primary, mirror] = await Promise.all([startRegistry({ accessLog: true }), startRegistry({ accessLog: true })]);
    dir = await makeTempDir('ferry-regconf-');
    layout = join(dir, 'oci');
    image = await makeImage(layout, { tag: 'v1', layers: 1, layerSize: 20_000, seed: 21 });
    await push(layout, 'v1', `${primary.host}/team/app:v1`);
    await push(layout, 'v1', `${mirror.host}/mirrored/team/app:v1`);
  });
  after(async () => {
    await Promise.all([primary?.stop(), mirror?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function conf(name: string, text: string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  }

  test('insecure = true lets a pull over plain http work without tlsVerify: false', async () => {
    const ref = `docker://${primary.host}/team/app:v1`;
    const empty = await conf('empty.conf', '');
    await assert.rejects(manifestDigest(ref, { registriesConfPath: empty }), (e: unknown) =>
      isFerryError(e, 'REGISTRY_UNREACHABLE'),
    );
    const insecure = await conf('insecure.conf', `[[registry]]\nlocation = "${primary.host}"\ninsecure = true\n`);
    assert.equal(await manifestDigest(ref, { registriesConfPath: insecure }), image.digest);
  });

  test('CONTAINERS_REGISTRIES_CONF is read when no path is given', async () => {
    const insecure = await conf('env.conf', `[[registry]]\nlocation = "${primary.host}"\ninsecure = true\n`);
    const digest = await withEnv(
      { CONTAINERS_REGISTRIES_CONF: insecure, CONTAINERS_REGISTRIES_CONF_DIR: join(dir, 'no-drop-ins') },
      () => manifestDigest(`docker://${primary.host}/team/app:v1`, {}),
    );
    assert.equal(digest, image.digest);
  });

  test('blocked = true refuses pull, push, delete and tag listing with REGISTRY_BLOCKED', async () => {
    const blocked = await conf('blocked.conf', `[[registry]]\nlocation = "${primary.host}"\nblocked = true\n`);
    const options: ImageOptions = { registriesConfPath: blocked, tlsVerify: false };
    const ref = parseImageReference(`docker://${primary.host}/team/app:v1`);
    const hitsBefore = await manifestHits(primary, 'team/app');
    const isBlocked = (e: unknown): boolean => isFerryError(e, 'REGISTRY_BLOCKED');
    await assert.rejects(ref.newImageSource(options), isBlocked);
    await assert.rejects(
      copyImage(
        parseImageReference(`oci:${layout}:v1`),
        parseImageReference(`docker://${primary.host}/team/other:v1`),
        { destinationOptions: options },
      ),
      isBlocked,
    );
    await assert.rejects(ref.deleteImage(options), isBlocked);
    await assert.rejects(getRepositoryTags(ref, options), isBlocked);
    assert.equal(await manifestHits(primary, 'team/app'), hitsBefore);
    // Not blocked: the image is still there.
    assert.equal(
      await manifestDigest(ref.toString(), { tlsVerify: false, registriesConfPath: await conf('e.conf', '') }),
      image.digest,
    );
  });

  test('a mirror is tried before the primary location, with the reference rewritten to it', async () => {
    const path = await conf(
      'mirror.conf',
      `[[registry]]\nlocation = "${primary.host}/team"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}/mirrored/team"\ninsecure = true\n`,
    );
    const primaryBefore = await manifestHits(primary, 'team/app');
    const mirrorBefore = await manifestHits(mirror, 'mirrored/team/app');
    const src = await parseImageReference(`docker://${primary.host}/team/app:v1`).newImageSource({
      registriesConfPath: path,
    });
    try {
      assert.ok((await src.getManifest()).bytes.equals(image.bytes));
    } finally {
      await src.close();
    }
    assert.equal(await manifestHits(mirror, 'mirrored/team/app'), mirrorBefore + 1);
    assert.equal(await manifestHits(primary, 'team/app'), primaryBefore);
  });

  test('a mirror that fails is skipped for the next endpoint, and the primary serves the pull', async () => {
    const path = await conf(
      'bad-mirror.conf',
      `[[registry]]\nlocation = "${primary.host}/team"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}/nothing-here"\ninsecure = true\n`,
    );
    const primaryBefore = await manifestHits(primary, 'team/app');
    assert.equal(
      await manifestDigest(`docker://${primary.host}/team/app:v1`, { registriesConfPath: path }),
      image.digest,
    );
    assert.equal(await manifestHits(mirror, 'nothing-here/app'), 1);
    assert.equal(await manifestHits(primary, 'team/app'), primaryBefore + 1);
  });

  test('when every endpoint fails the error names each of them', async () => {
    const path = await conf(
      'all-bad.conf',
      `[[registry]]\nlocation = "${primary.host}/team"\ninsecure = true\n[[registry.mirror]]\nlocation = "${mirror.host}/nothing-here"\ninsecure = true\n`,
    );
    await assert.rejects(
      manifestDigest(`docker://${primary.host}/team/absent:v1`, { registriesConfPath: path }),
      (e: unknown) =>
        isFerryError(e, 'MANIFEST_UNKNOWN') &&
        e.message.includes(`${mirror.host}/nothing-here/absent`) &&
        e.message.includes(`${primary.host}/team/absent`),
    );
  });

  test('a mirror-by-digest-only mirror is skipped for a tag pull and used for a digest pull', async () => {
    const path = await conf(
      'digest-only.conf',
      `[[registry]]\nlocation = "${primary.host}/team"\ninsecure = true\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "${mirror.host}/mirrored/team"\ninsecure = true\n`,
    );
    const mirrorBefore = await manifestHits(mirror, 'mirrored/team/app');
    const primaryBefore = await manifestHits(primary, 'team/app');
    assert.equal(
      await manifestDigest(`docker://${primary.host}/team/app:v1`, { registriesConfPath: path }),
      image.digest,
    );
    assert.equal(await manifestHits(mirror, 'mirrored/team/app'), mirrorBefore);
    assert.equal(await manifestHits(primary, 'team/app'), primaryBefore + 1);
    assert.equal(
      await manifestDigest(`docker://${primary.host}/team/app@${image.digest}`, { registriesConfPath: path }),
      image.digest,
    );
    assert.equal(await manifestHits(mirror, 'mirrored/team/app'), mirrorBefore + 1);
  });

  test('a prefix is rewritten to its location on pull', async () => {
    const path = await conf(
      'prefix.conf',
      `[[registry]]\nprefix = "ferry.example/apps"\nlocation = "${primary.host}/team"\ninsecure = true\n`,
    );
    const primaryBefore = await manifestHits(primary, 'team/app');
    assert.equal(
      await manifestDigest('docker://ferry.example/apps/app:v1', { registriesConfPath: path }),
      image.digest,
    );
    assert.equal(await manifestHits(primary, 'team/app'), primaryBefore + 1);
  });
});

describe('credentials from auth files and credential helpers', () => {
  let reg: TestRegistry;
  let dir: string;
  let layout: string;
  let image: MadeImage;
  let emptyConf: string;

  before(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    dir = await makeTempDir('ferry-creds-');
    layout = join(dir, 'oci');
    image = await makeImage(layout, { tag: 'v1', layers: 1, layerSize: 10_000, seed: 31 });
    await push(layout, 'v1', `${reg.host}/sec/app:v1`, ['--dest-creds', `${reg.username}:${reg.password}`]);
    emptyConf = join(dir, 'empty.conf');
    await writeFile(emptyConf, '');
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const ref = (): string => `docker://${reg.host}/sec/app:v1`;
  const authEntry = (): string => Buffer.from(`${reg.username}:${reg.password}`).toString('base64');

  test('without credentials the pull is UNAUTHORIZED', async () => {
    const authFile = join(dir, 'none.json');
    await writeFile(authFile, '{"auths":{}}');
    await assert.rejects(
      manifestDigest(ref(), { tlsVerify: false, authFile, registriesConfPath: emptyConf }),
      (e: unknown) => isFerryError(e, 'UNAUTHORIZED'),
    );
  });

  test('an auth.json given as authFile supplies the credentials', async () => {
    const authFile = join(dir, 'auth.json');
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: authEntry() } } }));
    assert.equal(
      await manifestDigest(ref(), { tlsVerify: false, authFile, registriesConfPath: emptyConf }),
      image.digest,
    );
  });

  test('REGISTRY_AUTH_FILE is read without an explicit authFile; the most specific key wins', async () => {
    const authFile = join(dir, 'env-auth.json');
    const wrong = Buffer.from(`${reg.username}:not-the-password`).toString('base64');
    await writeFile(
      authFile,
      JSON.stringify({ auths: { [reg.host]: { auth: wrong }, [`${reg.host}/sec/app`]: { auth: authEntry() } } }),
    );
    const digest = await withEnv({ REGISTRY_AUTH_FILE: authFile }, () =>
      manifestDigest(ref(), { tlsVerify: false, registriesConfPath: emptyConf }),
    );
    assert.equal(digest, image.digest);
  });

  test('explicit credentials win over the auth file, and noCreds sends none', async () => {
    const authFile = join(dir, 'auth.json');
    await assert.rejects(
      manifestDigest(ref(), {
        tlsVerify: false,
        authFile,
        registriesConfPath: emptyConf,
        credentials: { username: reg.username!, password: 'wrong' },
      }),
      (e: unknown) => isFerryError(e, 'UNAUTHORIZED'),
    );
    await assert.rejects(
      manifestDigest(ref(), { tlsVerify: false, authFile, registriesConfPath: emptyConf, noCreds: true }),
      (e: unknown) => isFerryError(e, 'UNAUTHORIZED'),
    );
  });

  async function helperDir(): Promise<string> {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const script = join(bin, 'docker-credential-ferrytest');
    const record = JSON.stringify({ ServerURL: reg.host, Username: reg.username, Secret: reg.password });
    await writeFile(
      script,
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread server\necho "$server" >> "${join(dir, 'helper-calls.log')}"\nif [ "$server" = "${reg.host}" ]; then echo '${record}'; else echo 'credentials not found in native keychain'; exit 1; fi\n`,
    );
    await chmod(script, 0o755);
    return bin;
  }

  test('a credHelpers entry in the auth file runs docker-credential-<name> from PATH', async () => {
    const bin = await helperDir();
    const authFile = join(dir, 'helpers.json');
    await writeFile(authFile, JSON.stringify({ credHelpers: { [reg.host]: 'ferrytest' } }));
    const digest = await withEnv({ PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` }, () =>
      manifestDigest(ref(), { tlsVerify: false, authFile, registriesConfPath: emptyConf }),
    );
    assert.equal(digest, image.digest);
    assert.ok((await readFile(join(dir, 'helper-calls.log'), 'utf8')).includes(reg.host));
  });

  test('registries.conf credential-helpers names a helper used instead of the auth files', async () => {
    const bin = await helperDir();
    const path = join(dir, 'helpers.conf');
    await writeFile(path, 'credential-helpers = ["ferrytest"]\n');
    const digest = await withEnv(
      { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, REGISTRY_AUTH_FILE: join(dir, 'none.json') },
      () => manifestDigest(ref(), { tlsVerify: false, registriesConfPath: path }),
    );
    assert.equal(digest, image.digest);
  });
});

describe('certs.d', () => {
  let reg: TestRegistry;
  let dir: string;
  let image: MadeImage;
  let emptyConf: string;

  before(async () => {
    reg = await startRegistry({ tls: true });
    dir = await makeTempDir('ferry-certsd-');
    image = await makeImage(join(dir, 'oci'), { tag: 'v1', layers: 1, layerSize: 10_000, seed: 41 });
    const r = await runSkopeo([
      'copy',
      '--dest-cert-dir',
      reg.certDir!,
      `oci:${dir}/oci:v1`,
      `docker://${reg.host}/tls/app:v1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    emptyConf = join(dir, 'empty.conf');
    await writeFile(emptyConf, '');
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a CA in $XDG_CONFIG_HOME/containers/certs.d/HOST:PORT/ca.crt is trusted without certDir', async () => {
    const ref = `docker://${reg.host}/tls/app:v1`;
    const emptyHome = join(dir, 'empty-home');
    await assert.rejects(
      withEnv({ XDG_CONFIG_HOME: emptyHome }, () => manifestDigest(ref, { registriesConfPath: emptyConf })),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE'),
    );
    const home = join(dir, 'config-home');
    const certs = join(home, 'containers', 'certs.d', reg.host);
    await mkdir(certs, { recursive: true });
    await copyFile(reg.caPath!, join(certs, 'ca.crt'));
    assert.equal(
      await withEnv({ XDG_CONFIG_HOME: home }, () => manifestDigest(ref, { registriesConfPath: emptyConf })),
      image.digest,
    );
  });

  test('certDir still replaces the certs.d lookup', async () => {
    assert.equal(
      await manifestDigest(`docker://${reg.host}/tls/app:v1`, { certDir: reg.certDir!, registriesConfPath: emptyConf }),
      image.digest,
    );
  });

  test('a client key without its certificate in certs.d is INVALID_CONFIG', async () => {
    const home = join(dir, 'bad-home');
    const certs = join(home, 'containers', 'certs.d', reg.host);
    await mkdir(certs, { recursive: true });
    await copyFile(reg.caPath!, join(certs, 'ca.crt'));
    await writeFile(join(certs, 'client.key'), 'not used');
    await assert.rejects(
      withEnv({ XDG_CONFIG_HOME: home }, () =>
        manifestDigest(`docker://${reg.host}/tls/app:v1`, { registriesConfPath: emptyConf }),
      ),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && e.message.includes('client.key'),
    );
  });
});
