/**
 * The registry commands of the CLI against the real Distribution registry and the real skopeo:
 * copy / inspect / delete / list-tags over docker://, login and logout writing the auth.json skopeo
 * reads (and reading the one it writes), TLS with a CA given by --cert-dir, and credentials that
 * never show in any output.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getRepositoryTags, parseImageReference, RegistryClient } from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

let work = '';
let image: MadeImage;
let plain: TestRegistry;
let basic: TestRegistry;
let secure: TestRegistry;

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

function creds(reg: TestRegistry): string {
  return `${reg.username}:${reg.password}`;
}

/** Asserts that neither the secret nor any base64 form of `user:secret` appears in the run's output. */
function assertNoSecret(r: RunResult, user: string, secret: string): void {
  const all = r.stdout + r.stderr;
  assert.ok(!all.includes(secret), `the password appears in the output:\n${all}`);
  for (const form of [`${user}:${secret}`, secret]) {
    const b64 = Buffer.from(form).toString('base64');
    assert.ok(!all.includes(b64), `a base64 form of the credentials appears in the output:\n${all}`);
  }
}

async function skopeoDigest(ref: string, ...flags: string[]): Promise<string> {
  const r = ok(await runSkopeo(['inspect', ...flags, ref]), `skopeo inspect ${ref}`);
  return (JSON.parse(r.stdout) as { Digest: string }).Digest;
}

before(async () => {
  work = await makeTempDir('ferry-registry-cli-');
  [plain, basic, secure, image] = await Promise.all([
    startRegistry(),
    startRegistry({ auth: 'htpasswd' }),
    startRegistry({ auth: 'htpasswd', tls: true }),
    makeImage(join(work, 'oci'), { tag: 't1', layers: 2, layerSize: 30_000, seed: 41 }),
  ]);
});

after(async () => {
  await Promise.all([plain?.stop(), basic?.stop(), secure?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('copy, inspect and delete over docker://', () => {
  it('ferry copy oci → docker: skopeo inspect shows the same digest, ferry inspect agrees and lists RepoTags', async () => {
    const dest = `docker://${plain.host}/x/y:t1`;
    ok(await runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${work}/oci:t1`, dest]), 'ferry copy');
    ok(
      await runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${work}/oci:t1`, `docker://${plain.host}/x/y:t2`]),
      'ferry copy t2',
    );
    assert.equal(await skopeoDigest(dest, '--tls-verify=false'), image.digest);
    const info = JSON.parse(ok(await runFerry(['inspect', '--tls-verify=false', dest]), 'ferry inspect').stdout) as {
      Name: string;
      Digest: string;
      RepoTags: string[];
    };
    assert.equal(info.Name, `${plain.host}/x/y`);
    assert.equal(info.Digest, image.digest);
    assert.deepEqual([...info.RepoTags].sort(), ['t1', 't2']);
    const skopeo = JSON.parse(
      ok(await runSkopeo(['inspect', '--tls-verify=false', dest]), 'skopeo inspect').stdout,
    ) as { RepoTags: string[] };
    assert.deepEqual(info.RepoTags, skopeo.RepoTags);
  });

  it('copy --preserve-digests registry → registry keeps the digest (and crosses to an authenticated registry)', async () => {
    ok(
      await runFerry([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${work}/oci:t1`,
        `docker://${plain.host}/src/img:t1`,
      ]),
      'seed',
    );
    const dest = `docker://${basic.host}/dst/img:kept`;
    const r = await runFerry([
      'copy',
      '-q',
      '--preserve-digests',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--dest-creds',
      creds(basic),
      `docker://${plain.host}/src/img:t1`,
      dest,
    ]);
    ok(r, 'ferry copy --preserve-digests');
    assert.equal(await skopeoDigest(dest, '--tls-verify=false', '--creds', creds(basic)), image.digest);
  });

  it('ferry delete docker://…:tag resolves the tag and deletes that manifest', async () => {
    const ref = `docker://${plain.host}/del/me:gone`;
    ok(await runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${work}/oci:t1`, ref]), 'seed');
    ok(await runFerry(['delete', '--tls-verify=false', ref]), 'ferry delete');
    const again = await runSkopeo(['inspect', '--tls-verify=false', ref]);
    assert.notEqual(again.code, 0);
    const byDigest = await runFerry(['inspect', '--tls-verify=false', `docker://${plain.host}/del/me@${image.digest}`]);
    assert.equal(byDigest.code, 1);
    assert.match(byDigest.stderr, /manifest unknown|MANIFEST_UNKNOWN|not found/i);
  });

  it('ferry copy docker → oci reads what skopeo pushed, with the same digest', async () => {
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${work}/oci:t1`,
        `docker://${plain.host}/sk/pushed:v1`,
      ]),
      'skopeo push',
    );
    ok(
      await runFerry([
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${plain.host}/sk/pushed:v1`,
        `oci:${work}/pulled:v1`,
      ]),
      'ferry pull',
    );
    const pulled = JSON.parse(ok(await runFerry(['inspect', `oci:${work}/pulled:v1`]), 'inspect').stdout) as {
      Digest: string;
    };
    assert.equal(pulled.Digest, image.digest);
  });
});

describe('multi-arch over docker://', () => {
  it('ferry copy --all pushes an index skopeo reads byte for byte; ferry copies it on registry → registry with --preserve-digests', async () => {
    const multi = await makeImage(join(work, 'multi'), {
      tag: 'm',
      layers: 1,
      layerSize: 8_000,
      seed: 43,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    const first = `docker://${plain.host}/multi/app:m`;
    ok(
      await runFerry(['copy', '-q', '--all', '--dest-tls-verify=false', `oci:${work}/multi:m`, first]),
      'ferry copy --all',
    );
    const raw = ok(await runSkopeo(['inspect', '--raw', '--tls-verify=false', first]), 'skopeo inspect --raw');
    assert.ok(Buffer.from(raw.stdout).equals(multi.bytes), 'the index bytes differ');
    const second = `docker://${basic.host}/multi/copy:m`;
    ok(
      await runFerry([
        'copy',
        '-q',
        '--all',
        '--preserve-digests',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--dest-creds',
        creds(basic),
        first,
        second,
      ]),
      'ferry copy --all registry → registry',
    );
    const again = ok(
      await runSkopeo(['inspect', '--raw', '--tls-verify=false', '--creds', creds(basic), second]),
      'skopeo inspect --raw',
    );
    assert.ok(Buffer.from(again.stdout).equals(multi.bytes));
    for (const instance of multi.instances) {
      const r = await runSkopeo([
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        creds(basic),
        `docker://${basic.host}/multi/copy@${instance.digest}`,
      ]);
      assert.ok(Buffer.from(ok(r, 'instance').stdout).equals(instance.bytes));
    }
  });
});

describe('list-tags', () => {
  const TAGS = 250;

  it("on a repository with 250 tags prints exactly skopeo's output; the library with a small n returns the same", async () => {
    const repo = `${plain.host}/many/tags`;
    ok(
      await runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${work}/oci:t1`, `docker://${repo}:t000`]),
      'seed',
    );
    const client = await RegistryClient.create(plain.host, { tlsVerify: false });
    try {
      const { bytes, mimeType } = await client.getManifest('many/tags', 't000');
      for (let i = 1; i < TAGS; i++)
        await client.putManifest('many/tags', `t${String(i).padStart(3, '0')}`, bytes, mimeType);
    } finally {
      await client.close();
    }
    const ferry = ok(await runFerry(['list-tags', '--tls-verify=false', `docker://${repo}`]), 'ferry list-tags');
    const skopeo = ok(await runSkopeo(['list-tags', '--tls-verify=false', `docker://${repo}`]), 'skopeo list-tags');
    assert.equal(ferry.stdout, skopeo.stdout);
    const parsed = JSON.parse(ferry.stdout) as { Repository: string; Tags: string[] };
    assert.equal(parsed.Repository, repo);
    assert.equal(parsed.Tags.length, TAGS);

    const paged = await getRepositoryTags(parseImageReference(`docker://${repo}`), { tlsVerify: false, pageSize: 10 });
    assert.deepEqual(paged, parsed.Tags);
  });

  it("on a docker-archive prints exactly skopeo's output", async () => {
    const archive = join(work, 'tags.tar');
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--additional-tag',
        'other/name:two',
        `oci:${work}/oci:t1`,
        `docker-archive:${archive}:some/repo:one`,
      ]),
      'skopeo copy to docker-archive',
    );
    const ferry = ok(await runFerry(['list-tags', `docker-archive:${archive}`]), 'ferry list-tags');
    const skopeo = ok(await runSkopeo(['list-tags', `docker-archive:${archive}`]), 'skopeo list-tags');
    assert.equal(ferry.stdout, skopeo.stdout);
    assert.deepEqual((JSON.parse(ferry.stdout) as { Tags: string[] }).Tags, [
      'docker.io/some/repo:one',
      'docker.io/other/name:two',
    ]);
  });

  it('refuses a tagged reference as skopeo does', async () => {
    const r = await runFerry(['list-tags', '--tls-verify=false', `docker://${plain.host}/many/tags:t000`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No tag or digest allowed in reference/);
  });
});

describe('login and logout with htpasswd', () => {
  it('a wrong password is an error and writes nothing; the password is in no output', async () => {
    const authfile = join(work, 'wrong.json');
    const r = await runFerry([
      'login',
      '--tls-verify=false',
      '-u',
      'testuser',
      '-p',
      'SECRETPW',
      '--authfile',
      authfile,
      basic.host,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid username\/password/);
    assert.equal(existsSync(authfile), false);
    assertNoSecret(r, 'testuser', 'SECRETPW');
  });

  it('ferry login writes the auth.json skopeo reads; --get-login names the user; logout removes it', async () => {
    const authfile = join(work, 'ferry-login.json');
    const login = await runFerry(
      ['login', '--tls-verify=false', '-u', basic.username!, '--password-stdin', '--authfile', authfile, basic.host],
      {
        input: `${basic.password}\n`,
      },
    );
    ok(login, 'ferry login');
    assert.equal(login.stdout, 'Login Succeeded!\n');
    assertNoSecret(login, basic.username!, basic.password!);
    const stored = JSON.parse(await readFile(authfile, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[basic.host]!.auth, 'base64').toString(), creds(basic));

    ok(
      await runFerry([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--authfile',
        authfile,
        `oci:${work}/oci:t1`,
        `docker://${basic.host}/li/app:v1`,
      ]),
      'push with authfile',
    );
    const tags = ok(
      await runSkopeo(['list-tags', '--tls-verify=false', '--authfile', authfile, `docker://${basic.host}/li/app`]),
      'skopeo list-tags',
    );
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);

    const who = ok(await runFerry(['login', '--get-login', '--authfile', authfile, basic.host]), 'get-login');
    assert.equal(who.stdout, `${basic.username}\n`);

    const out = ok(await runFerry(['logout', '--authfile', authfile, basic.host]), 'ferry logout');
    assert.equal(out.stdout, `Removed login credentials for ${basic.host}\n`);
    assert.deepEqual(JSON.parse(await readFile(authfile, 'utf8')), { auths: {} });
    const again = await runFerry(['logout', '--authfile', authfile, basic.host]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`not logged into ${basic.host.replace(/\./g, '\\.')}`));
    const anonymous = await runSkopeo([
      'list-tags',
      '--tls-verify=false',
      '--authfile',
      authfile,
      `docker://${basic.host}/li/app`,
    ]);
    assert.notEqual(anonymous.code, 0);
  });

  it('skopeo login writes an auth.json ferry inspect uses; ferry logout --all empties it', async () => {
    const authfile = join(work, 'skopeo-login.json');
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--dest-creds',
        creds(basic),
        `oci:${work}/oci:t1`,
        `docker://${basic.host}/sk/app:v1`,
      ]),
      'seed',
    );
    ok(
      await runSkopeo([
        'login',
        '--tls-verify=false',
        '-u',
        basic.username!,
        '-p',
        basic.password!,
        '--authfile',
        authfile,
        basic.host,
      ]),
      'skopeo login',
    );
    const r = ok(
      await runFerry(['inspect', '--tls-verify=false', '--authfile', authfile, `docker://${basic.host}/sk/app:v1`]),
      'ferry inspect',
    );
    const info = JSON.parse(r.stdout) as { Digest: string; RepoTags: string[] };
    assert.equal(info.Digest, image.digest);
    assert.deepEqual(info.RepoTags, ['v1']);
    assertNoSecret(r, basic.username!, basic.password!);

    const all = ok(await runFerry(['logout', '--all', '--authfile', authfile]), 'ferry logout --all');
    assert.equal(all.stdout, 'Removed login credentials for all registries\n');
    const denied = await runFerry([
      'inspect',
      '--tls-verify=false',
      '--authfile',
      authfile,
      `docker://${basic.host}/sk/app:v1`,
    ]);
    assert.equal(denied.code, 1);
  });
});

describe('credentials never appear in output', () => {
  it('a copy with a wrong --dest-creds fails without showing the password, even with --debug', async () => {
    for (const debug of [[], ['--debug']]) {
      const r = await runFerry([
        ...debug,
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        'testuser:SECRETPW',
        `oci:${work}/oci:t1`,
        `docker://${basic.host}/leak/check:v1`,
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /401|unauthorized|authentication required/i);
      assertNoSecret(r, 'testuser', 'SECRETPW');
    }
  });

  it('a copy with the right credentials and progress output shows no password', async () => {
    const r = ok(
      await runFerry([
        'copy',
        '--dest-tls-verify=false',
        '--dest-creds',
        creds(basic),
        `oci:${work}/oci:t1`,
        `docker://${basic.host}/leak/check:v2`,
      ]),
      'ferry copy with progress',
    );
    assert.match(r.stdout + r.stderr, /Copying blob|Writing manifest/);
    assertNoSecret(r, basic.username!, basic.password!);
  });
});

describe('TLS with a CA from --cert-dir and htpasswd auth', () => {
  it('copy, inspect and list-tags verify the server with --cert-dir', async () => {
    const ref = `docker://${secure.host}/tls/app:v1`;
    ok(
      await runFerry([
        'copy',
        '-q',
        '--dest-cert-dir',
        secure.certDir!,
        '--dest-creds',
        creds(secure),
        `oci:${work}/oci:t1`,
        ref,
      ]),
      'ferry copy to TLS',
    );
    assert.equal(await skopeoDigest(ref, '--cert-dir', secure.certDir!, '--creds', creds(secure)), image.digest);
    const info = JSON.parse(
      ok(await runFerry(['inspect', '--cert-dir', secure.certDir!, '--creds', creds(secure), ref]), 'inspect').stdout,
    ) as {
      Digest: string;
      RepoTags: string[];
    };
    assert.equal(info.Digest, image.digest);
    assert.deepEqual(info.RepoTags, ['v1']);
    const listed = ok(
      await runFerry([
        'list-tags',
        '--cert-dir',
        secure.certDir!,
        '--creds',
        creds(secure),
        `docker://${secure.host}/tls/app`,
      ]),
      'list-tags',
    );
    const skopeo = ok(
      await runSkopeo([
        'list-tags',
        '--cert-dir',
        secure.certDir!,
        '--creds',
        creds(secure),
        `docker://${secure.host}/tls/app`,
      ]),
      'skopeo list-tags',
    );
    assert.equal(listed.stdout, skopeo.stdout);
    ok(
      await runFerry([
        'copy',
        '-q',
        '--src-cert-dir',
        secure.certDir!,
        '--src-creds',
        creds(secure),
        ref,
        `oci:${work}/from-tls:v1`,
      ]),
      'ferry copy from TLS',
    );
  });

  it('without the CA the certificate is refused', async () => {
    const r = await runFerry(['inspect', '--creds', creds(secure), `docker://${secure.host}/tls/app:v1`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /certificate|self.signed|issuer/i);
    assertNoSecret(r, secure.username!, secure.password!);
  });

  it('login verifies the server with --cert-dir and writes credentials skopeo can use over TLS', async () => {
    const authfile = join(work, 'tls-login.json');
    const r = ok(
      await runFerry([
        'login',
        '--cert-dir',
        secure.certDir!,
        '-u',
        secure.username!,
        '-p',
        secure.password!,
        '--authfile',
        authfile,
        secure.host,
      ]),
      'ferry login over TLS',
    );
    assertNoSecret(r, secure.username!, secure.password!);
    ok(
      await runSkopeo([
        'list-tags',
        '--cert-dir',
        secure.certDir!,
        '--authfile',
        authfile,
        `docker://${secure.host}/tls/app`,
      ]),
      'skopeo list-tags with the auth file',
    );
  });
});

describe('login with token auth', () => {
  const USER = 'tokenuser';
  const PASSWORD = 'token-SECRETPW-9';
  let issuer: TokenServer;
  let reg: TestRegistry;

  before(async () => {
    issuer = await startTokenServer({ users: { [USER]: PASSWORD } });
    reg = await startRegistry({ auth: 'token', token: issuer.registrySettings });
  });
  after(async () => {
    await reg?.stop();
    await issuer?.stop();
  });

  it('checks the credentials at the token issuer: a wrong password writes nothing, the right one works for skopeo', async () => {
    const authfile = join(work, 'token-login.json');
    const wrong = await runFerry([
      'login',
      '--tls-verify=false',
      '-u',
      USER,
      '-p',
      'SECRETPW',
      '--authfile',
      authfile,
      reg.host,
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /invalid username\/password/);
    assert.equal(existsSync(authfile), false);
    assertNoSecret(wrong, USER, 'SECRETPW');
    assert.ok(issuer.requests.some((r) => r.account === USER && !r.authenticated));

    const right = ok(
      await runFerry(['login', '--tls-verify=false', '-u', USER, '-p', PASSWORD, '--authfile', authfile, reg.host]),
      'ferry login',
    );
    assert.equal(right.stdout, 'Login Succeeded!\n');
    assertNoSecret(right, USER, PASSWORD);
    ok(
      await runFerry([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--authfile',
        authfile,
        `oci:${work}/oci:t1`,
        `docker://${reg.host}/tok/app:v1`,
      ]),
      'push',
    );
    const tags = ok(
      await runSkopeo(['list-tags', '--tls-verify=false', '--authfile', authfile, `docker://${reg.host}/tok/app`]),
      'skopeo list-tags',
    );
    assert.deepEqual((JSON.parse(tags.stdout) as { Tags: string[] }).Tags, ['v1']);
  });
});
