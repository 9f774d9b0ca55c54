/**
 * Trust end to end through a real registry (issue 12): policy enforcement, copy-time signing and registry
 * signature storage together, as a new user meets them. One Distribution registry, one temp GnuPG home,
 * one registries.d directory for both tools (lookaside + lookaside-staging `file://`, use-sigstore-attachments,
 * and one scope whose lookaside is read over http from a static file server while it is written through
 * `file://` staging, as a real deployment does), and policy.json files naming the registry.
 *
 * - skopeo 1.9.3 signs (`--sign-by`, gpgme) → `ferry copy` / `ferry verify` decide a signedBy policy with the
 *   DEFAULT signedIdentity (matchRepoDigestOrExact): the signer's key accepts, another key or another
 *   identity rejects, naming the requirement.
 * - Ferry signs (`--sign-by` through gpg, `--sign-by-key-file` through OpenPGP.js) → skopeo decides the same.
 * - Ferry signs with a sigstore key into the cosign attachment → `ferry verify` decides sigstoreSigned;
 *   skopeo 1.9.3 reads the attachment but cannot verify it (Debian builds it with sigstore disabled).
 * - A signed multi-arch list: every instance is decided and reported; an unsigned instance is named.
 * - Bad input (tampered manifest, another identity, an expired key, a revoked key, corrupt signatures, an
 *   unknown key, policy files with typos): refused with one `ferry:` line saying why, no stack trace.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyImage } from '../../src/copy/index.js';
import { verifyImage } from '../../src/image/index.js';
import { loadPolicy } from '../../src/signature/policy/index.js';
import { parseDirReference } from '../../src/transports/dir/reference.js';
import { parseDockerImageReference } from '../../src/transports/docker/reference.js';
import { GpgHome, installed } from '../helpers/gpg.js';
import { makeImage } from '../helpers/make-image.js';
import { freePort, probe, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const skip = !installed('gpg') || !installed('skopeo') ? 'gpg or skopeo not installed' : false;
const PASSPHRASE = 'trust e2e passphrase';

interface Key {
  fingerprint: string;
  /** The exported public key (armored), for a policy's keyPath. */
  publicKey: string;
}

/** The one `ferry:` line a refusal prints: exactly one line on stderr, no stack trace. */
function oneErrorLine(r: RunResult): string {
  assert.equal(r.code, 1, `exit code 1 expected; stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one stderr line expected, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^ferry: /);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  return lines[0]!;
}

describe('trust through a registry: skopeo and Ferry sign, verify and enforce policies together', { skip }, () => {
  let reg: TestRegistry;
  let root = '';
  let home: GpgHome;
  let signer: Key;
  let other: Key;
  let rd = ''; // registries.d
  let lookaside = ''; // default-docker lookaside (and staging)
  let staging = ''; // the http-read scope's staging dir, served by the static file server
  let webPort = 0;
  let web: ChildProcess | undefined;
  let single = ''; // oci layout, tag t, one image
  let singleDigest = '';
  let other2 = ''; // oci layout, tag t, another image (for a manifest swapped under a signature)
  let multi = ''; // oci layout, tag t, a two-platform index
  let multiDigests: { list: string; amd64: string; arm64: string };
  const policies: Record<string, string> = {};

  const host = (): string => reg.host;
  const hex = (digest: string): string => digest.replace(/^sha256:/, '');
  const lookasidePath = (base: string, repo: string, digest: string, n = 1): string =>
    join(base, `${repo}@sha256=${hex(digest)}`, `signature-${n}`);
  /** `ferry --registries.d RD [--policy P] ARGS` with the test GnuPG home. */
  const ferry = (policy: string | undefined, args: string[]): Promise<RunResult> =>
    runFerry(['--registries.d', rd, ...(policy === undefined ? [] : ['--policy', policy]), ...args], {
      env: home.env(),
    });
  const skopeo = (policy: string | undefined, args: string[]): Promise<RunResult> =>
    runSkopeo(
      ['--registries.d', rd, ...(policy === undefined ? ['--insecure-policy'] : ['--policy', policy]), ...args],
      { env: home.env() },
    );
  /** skopeo pushes an image signed with a GnuPG key (its gpgme signer) into the registry. */
  async function skopeoSignedPush(layout: string, image: string, fingerprint: string, more: string[] = []) {
    const r = await skopeo(undefined, [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--sign-by',
      fingerprint,
      ...more,
      `oci:${layout}:t`,
      `docker://${image}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  async function ferryPush(from: string, image: string, flags: string[] = []): Promise<void> {
    const r = await ferry(undefined, [
      '--insecure-policy',
      'copy',
      '-q',
      '--dest-tls-verify=false',
      ...flags,
      from,
      `docker://${image}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  const verify = (policy: string, image: string, more: string[] = []): Promise<RunResult> =>
    ferry(policy, ['verify', '--tls-verify=false', ...more, `docker://${image}`]);
  const ferryPull = (policy: string, image: string, to: string, more: string[] = []): Promise<RunResult> =>
    ferry(policy, ['copy', '-q', '--src-tls-verify=false', ...more, `docker://${image}`, to]);

  async function newKey(name: string): Promise<Key> {
    const fingerprint = home.generateKey(`${name} <${name}@ferry.invalid>`, 'ed25519');
    assert.match(fingerprint, /^[0-9A-F]{40}$/);
    const publicKey = join(root, `${name}.asc`);
    await writeFile(publicKey, home.gpg(['--armor', '--export', fingerprint]));
    return { fingerprint, publicKey };
  }
  /** A policy file: `requirements` for every image of the test registry, reject elsewhere. */
  async function policyFile(name: string, requirements: unknown[]): Promise<string> {
    const path = join(root, `${name}.json`);
    await writeFile(
      path,
      JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [reg.host]: requirements } } }, null, 2),
    );
    return path;
  }
  const signedBy = (key: Key) => ({ type: 'signedBy', keyType: 'GPGKeys', keyPath: key.publicKey });

  before(async () => {
    reg = await startRegistry();
    root = await makeTempDir('ferry-trust-e2e-');
    home = await GpgHome.create(join(root, 'gnupg'));
    signer = await newKey('signer');
    other = await newKey('other');
    lookaside = join(root, 'lookaside');
    staging = join(root, 'staging');
    await mkdir(staging);
    webPort = await freePort();
    rd = join(root, 'registries.d');
    await mkdir(rd);
    // containers-registries.d(5): one default for every registry, one scope read over http.
    await writeFile(
      join(rd, 'trust.yaml'),
      [
        'default-docker:',
        `  lookaside: file://${lookaside}`,
        `  lookaside-staging: file://${lookaside}`,
        '  use-sigstore-attachments: true',
        'docker:',
        `  ${reg.host}/web:`,
        `    lookaside: http://127.0.0.1:${webPort}`,
        `    lookaside-staging: file://${staging}`,
        '',
      ].join('\n'),
    );
    single = join(root, 'single');
    singleDigest = (await makeImage(single, { tag: 't', layers: 1, layerSize: 4096, seed: 3 })).digest;
    other2 = join(root, 'other-image');
    await makeImage(other2, { tag: 't', layers: 1, layerSize: 4096, seed: 4 });
    multi = join(root, 'multi');
    const made = await makeImage(multi, {
      tag: 't',
      layers: 1,
      layerSize: 2048,
      seed: 5,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    multiDigests = { list: made.digest, amd64: made.instances[0]!.digest, arm64: made.instances[1]!.digest };
    policies.signer = await policyFile('signer', [signedBy(signer)]);
    policies.other = await policyFile('other', [signedBy(other)]);
  });

  after(async () => {
    web?.kill('SIGTERM');
    home?.close();
    await reg?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('skopeo --sign-by → registry lookaside → ferry copy and ferry verify accept under signedBy with the default identity', async () => {
    const image = `${host()}/skopeo/app:1`;
    await skopeoSignedPush(single, image, signer.fingerprint);
    const stored = await readFile(lookasidePath(lookaside, 'skopeo/app', singleDigest));

    const out = join(root, 'a-dir');
    const copied = await ferryPull(policies.signer!, image, `dir:${out}`);
    assert.equal(copied.code, 0, copied.stderr);
    assert.deepEqual(await readFile(join(out, 'signature-1')), stored);
    // oci: cannot store signatures (as for skopeo): --remove-signatures, and the policy still decides first.
    const toOci = await ferryPull(policies.signer!, image, `oci:${join(root, 'a-oci')}:x`, ['--remove-signatures']);
    assert.equal(toOci.code, 0, toOci.stderr);
    const refusedOci = await ferryPull(policies.signer!, image, `oci:${join(root, 'a-oci2')}:x`);
    assert.match(oneErrorLine(refusedOci), /does not support signatures.*--remove-signatures/);

    const verified = await verify(policies.signer!, image);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`^docker://${image}: accepted$`, 'm'));
    assert.match(
      verified.stdout,
      new RegExp(`requirement 1 signedBy: accepted: signed by key ${signer.fingerprint} as ${image}`),
    );
    // matchRepoDigestOrExact: the same signature accepts the image named by digest.
    const byDigest = await verify(policies.signer!, `${host()}/skopeo/app@${singleDigest}`);
    assert.equal(byDigest.code, 0, byDigest.stdout + byDigest.stderr);
    const json = await verify(policies.signer!, image, ['--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as {
      allowed: boolean;
      decisions: { digest: string; allowed: boolean; requirements: { type: string; accepted: boolean }[] }[];
    };
    assert.equal(report.allowed, true);
    assert.equal(report.decisions.length, 1);
    assert.equal(report.decisions[0]!.digest, singleDigest);
    assert.deepEqual(
      report.decisions[0]!.requirements.map((r) => [r.type, r.accepted]),
      [['signedBy', true]],
    );
  });

  test('the same image under another key’s policy is refused: POLICY_REJECTED naming the requirement and the key', async () => {
    const image = `${host()}/skopeo/app:1`;
    const out = join(root, 'b-refused');
    const refused = await ferryPull(policies.other!, image, `dir:${out}`);
    assert.match(
      oneErrorLine(refused),
      /rejected by the trust policy: .*requirement 1 \(signedBy\): .*signature made by key ID [0-9A-F]{16}, which is not in the trusted keyring/,
    );
    assert.equal(existsSync(out), false, 'nothing is written for a refused image');
    const verified = await verify(policies.other!, image);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, /requirement 1 signedBy: rejected: .*not in the trusted keyring/);
    assert.match(oneErrorLine(verified), /rejected by the trust policy/);

    // The library's error is typed.
    await assert.rejects(
      copyImage(parseDockerImageReference(`//${image}`), parseDirReference(out), {
        policy: policies.other!,
        sourceOptions: { tlsVerify: false, registriesDDir: rd },
      }),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'POLICY_REJECTED');
        assert.match((e as Error).message, /requirement 1 \(signedBy\)/);
        return true;
      },
    );
    const decided = await verifyImage(parseDockerImageReference(`//${image}`), policies.other!, {
      sourceOptions: { tlsVerify: false, registriesDDir: rd },
    });
    assert.equal(decided.allowed, false);
  });

  test('a signature for another identity is refused by Ferry as by skopeo', async () => {
    const image = `${host()}/skopeo/identity:1`;
    const signedAs = `${host()}/skopeo/elsewhere:1`;
    await skopeoSignedPush(single, image, signer.fingerprint, ['--sign-identity', signedAs]);
    const verified = await verify(policies.signer!, image);
    assert.equal(verified.code, 1);
    assert.match(
      verified.stdout,
      new RegExp(`signed identity "${signedAs}" is not accepted for ${image} \\(matchRepoDigestOrExact\\)`),
    );
    assert.match(oneErrorLine(await ferryPull(policies.signer!, image, `dir:${join(root, 'c')}`)), /signed identity/);
    const bySkopeo = await skopeo(policies.signer, [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${join(root, 'c-skopeo')}`,
    ]);
    assert.notEqual(bySkopeo.code, 0);
    assert.match(bySkopeo.stderr, /Signature for identity .* is not accepted/);
  });

  test('ferry copy --debug names the requirement that accepted or rejected the image', async () => {
    const image = `${host()}/skopeo/app:1`;
    const accepted = await ferry(policies.signer, [
      '--debug',
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${join(root, 'e-ok')}`,
    ]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(
      accepted.stderr,
      new RegExp(
        `debug: policy: docker://${image}: manifest ${singleDigest} accepted by transports\\["docker"\\]\\["${host()}"\\]: requirement 1 \\(signedBy\\) accepted: signed by key ${signer.fingerprint}`,
      ),
    );
    const rejected = await ferry(policies.other, [
      '--debug',
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${join(root, 'e-no')}`,
    ]);
    assert.equal(rejected.code, 1);
    assert.match(
      rejected.stderr,
      /debug: policy: .* rejected by .*: requirement 1 \(signedBy\) rejected: .*not in the trusted keyring/,
    );
  });

  test('ferry copy --sign-by (gpg) and --sign-by-key-file into the registry: skopeo accepts under signedBy, rejects under another key', async () => {
    const secretKey = join(root, 'signer.key');
    await writeFile(secretKey, home.exportSecretKey(signer.fingerprint));
    for (const [repo, flags] of [
      ['ferry/gpg', ['--sign-by', signer.fingerprint]],
      ['ferry/keyfile', ['--sign-by-key-file', secretKey]],
    ] as const) {
      const image = `${host()}/${repo}:1`;
      await ferryPush(`oci:${single}:t`, image, [...flags]);
      const stored = await readFile(lookasidePath(lookaside, repo, singleDigest));
      const out = join(root, `f-${repo.replace('/', '-')}`);
      const accepted = await skopeo(policies.signer, [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${image}`,
        `dir:${out}`,
      ]);
      assert.equal(accepted.code, 0, `${repo}: ${accepted.stderr}`);
      assert.deepEqual(await readFile(join(out, 'signature-1')), stored);
      const refused = await skopeo(policies.other, [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${image}`,
        `dir:${out}-no`,
      ]);
      assert.notEqual(refused.code, 0, repo);
      assert.match(refused.stderr, /Source image rejected/);
      // And Ferry agrees with itself.
      assert.equal((await verify(policies.signer!, image)).code, 0, repo);
    }
  });

  test('ferry signs with a sigstore key into the cosign attachment: ferry verify decides sigstoreSigned; skopeo 1.9.3 reads it but cannot verify', async () => {
    const pass = join(root, 'sigstore-pass');
    await writeFile(pass, `${PASSPHRASE}\n`);
    for (const prefix of ['sigstore', 'sigstore-other']) {
      const made = await runFerry([
        'generate-sigstore-key',
        '--output-prefix',
        join(root, prefix),
        '--passphrase-file',
        pass,
      ]);
      assert.equal(made.code, 0, made.stderr);
    }
    const policy = await policyFile('sigstore', [{ type: 'sigstoreSigned', keyPath: join(root, 'sigstore.pub') }]);
    const otherPolicy = await policyFile('sigstore-other', [
      { type: 'sigstoreSigned', keyPath: join(root, 'sigstore-other.pub') },
    ]);
    const image = `${host()}/cosign/app:1`;
    await ferryPush(`oci:${single}:t`, image, [
      '--sign-by-sigstore-private-key',
      join(root, 'sigstore.private'),
      '--sign-passphrase-file',
      pass,
    ]);
    // cosign's tag scheme, not the lookaside.
    assert.equal(existsSync(lookasidePath(lookaside, 'cosign/app', singleDigest)), false);
    const attachment = await runSkopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${host()}/cosign/app:sha256-${hex(singleDigest)}.sig`,
    ]);
    assert.equal(attachment.code, 0, attachment.stderr);
    const layers = (
      JSON.parse(attachment.stdout) as { layers: { mediaType: string; annotations: Record<string, string> }[] }
    ).layers;
    assert.equal(layers.length, 1);
    assert.equal(layers[0]!.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    assert.ok(layers[0]!.annotations['dev.cosignproject.cosign/signature']);

    const accepted = await verify(policy, image);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
    assert.match(accepted.stdout, /requirement 1 sigstoreSigned: accepted/);
    assert.match(
      accepted.stdout,
      new RegExp(`signature 1: sigstore, public key, identity ${image}, for ${singleDigest}`),
    );
    const wrongKey = await verify(otherPolicy, image);
    assert.equal(wrongKey.code, 1);
    assert.match(wrongKey.stdout, /sigstoreSigned: rejected: .*cryptographic signature verification failed/);
    assert.match(oneErrorLine(await ferryPull(otherPolicy, image, `dir:${join(root, 'g-no')}`)), /sigstoreSigned/);

    // Tampered: the manifest changed under the signature (one byte more), pushed with its signatures.
    const fetched = join(root, 'g-dir');
    const pulled = await ferryPull(policy, image, `dir:${fetched}`);
    assert.equal(pulled.code, 0, pulled.stderr);
    const manifest = await readFile(join(fetched, 'manifest.json'));
    await writeFile(join(fetched, 'manifest.json'), Buffer.concat([manifest, Buffer.from('\n')]));
    const tamperedImage = `${host()}/cosign/tampered:1`;
    await ferryPush(`dir:${fetched}`, tamperedImage);
    const tampered = await verify(policy, tamperedImage);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stdout, /sigstoreSigned: rejected: .*(digest|manifest)/);

    // skopeo 1.9.3 reads the attachment (with use-sigstore-attachments) byte for byte as Ferry does ...
    const bySkopeo = join(root, 'g-skopeo');
    const read = await skopeo(undefined, [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${bySkopeo}`,
    ]);
    assert.equal(read.code, 0, read.stderr);
    assert.deepEqual(await readFile(join(bySkopeo, 'signature-1')), await readFile(join(fetched, 'signature-1')));
    // ... but cannot decide sigstoreSigned: Debian's build refuses it ("sigstore disabled"). Should a
    // later build verify, it must accept Ferry's signature.
    const judged = await skopeo(policy, [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${bySkopeo}-judged`,
    ]);
    if (judged.code !== 0) assert.match(judged.stderr, /sigstore disabled/);
  });

  // The http lookaside is served by Python's static file server (a real server, as a web server would).
  const noPython = installed('python3') ? false : 'python3 not installed';
  test('simple signing and sigstore together; the lookaside read over http from what staging wrote', {
    skip: noPython,
  }, async () => {
    web = spawn('python3', ['-m', 'http.server', String(webPort), '--bind', '127.0.0.1', '--directory', staging], {
      stdio: 'ignore',
    });
    for (let i = 0; i < 100; i++) {
      if ((await probe(`http://127.0.0.1:${webPort}/`).catch(() => undefined))?.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const image = `${host()}/web/both:1`;
    const signedDir = join(root, 'h-signed');
    const signed = await ferry(undefined, [
      '--insecure-policy',
      'copy',
      '-q',
      '--sign-by',
      signer.fingerprint,
      '--sign-identity',
      image,
      `oci:${single}:t`,
      `dir:${signedDir}`,
    ]);
    assert.equal(signed.code, 0, signed.stderr);
    // The GnuPG signature travels with the image; the sigstore one is added on the way.
    await ferryPush(`dir:${signedDir}`, image, [
      '--sign-by-sigstore-private-key',
      join(root, 'sigstore.private'),
      '--sign-passphrase-file',
      join(root, 'sigstore-pass'),
    ]);
    assert.deepEqual(
      await readFile(lookasidePath(staging, 'web/both', singleDigest)),
      await readFile(join(signedDir, 'signature-1')),
    );
    const both = await policyFile('both', [
      signedBy(signer),
      { type: 'sigstoreSigned', keyPath: join(root, 'sigstore.pub') },
    ]);
    const verified = await verify(both, image);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, /requirement 1 signedBy: accepted/);
    assert.match(verified.stdout, /requirement 2 sigstoreSigned: accepted/);
    const out = join(root, 'h-skopeo');
    const bySkopeo = await skopeo(policies.signer, [
      'copy',
      '-q',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${out}`,
    ]);
    assert.equal(bySkopeo.code, 0, bySkopeo.stderr);
    assert.ok(existsSync(join(out, 'signature-2')), 'skopeo got both signatures');
  });

  test('an --sign-by key the GnuPG home does not hold is refused before anything is pushed', async () => {
    const image = `${host()}/nokey/app:1`;
    const missing = '0123456789ABCDEF0123456789ABCDEF01234567';
    const r = await ferry(undefined, [
      '--insecure-policy',
      'copy',
      '-q',
      '--dest-tls-verify=false',
      '--sign-by',
      missing,
      `oci:${single}:t`,
      `docker://${image}`,
    ]);
    assert.match(
      oneErrorLine(r),
      new RegExp(`cannot sign with key ${missing}: the GnuPG home \\(.*\\) has no secret key for it`),
    );
    const pushed = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${image}`]);
    assert.notEqual(pushed.code, 0, 'the image was not pushed');
    assert.match(pushed.stderr, /manifest unknown|not found/i);
  });

  test('signing to a registry whose lookaside is http only: refused naming lookaside-staging, as skopeo', async () => {
    const httpOnly = join(root, 'registries.d-http-only');
    await mkdir(httpOnly);
    await writeFile(join(httpOnly, 'x.yaml'), `default-docker:\n  lookaside: http://127.0.0.1:${webPort}\n`);
    const image = `${host()}/nostage/app:1`;
    const r = await runFerry(
      [
        '--registries.d',
        httpOnly,
        '--insecure-policy',
        'copy',
        '-q',
        '--dest-tls-verify=false',
        '--sign-by',
        signer.fingerprint,
        `oci:${single}:t`,
        `docker://${image}`,
      ],
      { env: home.env() },
    );
    assert.match(
      oneErrorLine(r),
      /writing directly to a http lookaside .* is not supported; configure a lookaside-staging/,
    );
  });

  test('a signed multi-arch list: every instance decided and reported; an unsigned instance is named', async () => {
    const image = `${host()}/multi/app:1`;
    await ferryPush(`oci:${multi}:t`, image, ['--all', '--sign-by', signer.fingerprint]);
    for (const d of Object.values(multiDigests)) assert.ok(existsSync(lookasidePath(lookaside, 'multi/app', d)), d);

    const verified = await verify(policies.signer!, image);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    assert.match(verified.stdout, new RegExp(`manifest ${multiDigests.list}: accepted`));
    assert.match(verified.stdout, new RegExp(`instance ${multiDigests.amd64} linux/amd64: accepted`));
    assert.match(verified.stdout, new RegExp(`instance ${multiDigests.arm64} linux/arm64/v8: accepted`));
    const all = join(root, 'i-all');
    const copied = await ferryPull(policies.signer!, image, `dir:${all}`, ['--all']);
    assert.equal(copied.code, 0, copied.stderr);
    assert.ok(existsSync(join(all, `${hex(multiDigests.arm64)}.signature-1`)));

    // One instance loses its signature.
    const sig = lookasidePath(lookaside, 'multi/app', multiDigests.arm64);
    await rename(sig, `${sig}.removed`);
    const partly = await verify(policies.signer!, image);
    assert.equal(partly.code, 1);
    assert.match(partly.stdout, new RegExp(`instance ${multiDigests.amd64} linux/amd64: accepted`));
    assert.match(partly.stdout, new RegExp(`instance ${multiDigests.arm64} linux/arm64/v8: rejected`));
    assert.match(partly.stdout, /signedBy: rejected: the image has no simple-signing signatures/);
    const refused = await ferryPull(policies.signer!, image, `dir:${join(root, 'i-refused')}`, ['--all']);
    assert.match(
      oneErrorLine(refused),
      new RegExp(`instance ${multiDigests.arm64} \\(linux/arm64/v8\\).*requirement 1 \\(signedBy\\)`),
    );
    assert.equal(existsSync(join(root, 'i-refused')), false);

    // The list itself unsigned, every instance signed: a copy decides only the images it copies (the
    // instances), as skopeo 1.9.3 does, and accepts; `ferry verify` decides the list's own signatures too.
    await rename(`${sig}.removed`, sig);
    const listSig = lookasidePath(lookaside, 'multi/app', multiDigests.list);
    await rename(listSig, `${listSig}.removed`);
    const copiedAll = await ferryPull(policies.signer!, image, `dir:${join(root, 'i-list')}`, ['--all']);
    assert.equal(copiedAll.code, 0, copiedAll.stderr);
    const skopeoAll = await skopeo(policies.signer, [
      'copy',
      '-q',
      '--all',
      '--src-tls-verify=false',
      `docker://${image}`,
      `dir:${join(root, 'i-list-skopeo')}`,
    ]);
    assert.equal(skopeoAll.code, 0, skopeoAll.stderr);
    const listUnsigned = await verify(policies.signer!, image);
    assert.equal(listUnsigned.code, 1);
    assert.match(listUnsigned.stdout, new RegExp(`manifest ${multiDigests.list}: rejected`));
    assert.match(listUnsigned.stdout, new RegExp(`instance ${multiDigests.arm64} linux/arm64/v8: accepted`));
  });

  describe('bad input is refused with one line saying why', () => {
    let expired: Key;
    let revoked: Key;

    /** An image pushed unsigned, with `signature` placed in the lookaside for its digest. */
    async function withSignature(repo: string, signature: Buffer): Promise<string> {
      await ferryPush(`oci:${single}:t`, `${host()}/${repo}:1`);
      const path = lookasidePath(lookaside, repo, singleDigest);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, signature);
      return `${host()}/${repo}:1`;
    }
    async function refusedBoth(policy: string, image: string, why: RegExp): Promise<void> {
      const verified = await verify(policy, image);
      assert.equal(verified.code, 1, verified.stdout);
      assert.match(verified.stdout, why);
      const line = oneErrorLine(await ferryPull(policy, image, `dir:${join(root, 'bad-out')}`));
      assert.match(line, /rejected by the trust policy: .*requirement 1 \(signedBy\)/);
      assert.match(line, why);
      assert.equal(existsSync(join(root, 'bad-out')), false);
    }

    before(async () => {
      // A key that expired in 2020, and its signature made while it was valid (gpg's faked clock).
      const fpr = home.generateKey('Expired <expired@ferry.invalid>', 'ed25519', '', {
        expires: '1d',
        at: '20200101T000000',
      });
      expired = { fingerprint: fpr, publicKey: join(root, 'expired.asc') };
      await writeFile(expired.publicKey, home.gpg(['--armor', '--export', fpr]));
      // A key revoked after signing.
      revoked = await newKey('revoked');
    });

    test('a manifest swapped under its signature', async () => {
      const image = `${host()}/bad/tampered:1`;
      await skopeoSignedPush(single, image, signer.fingerprint);
      // The tag now names another manifest; the old signature is offered for it.
      await ferryPush(`oci:${other2}:t`, image);
      const inspected = await runSkopeo([
        'inspect',
        '--tls-verify=false',
        '--format',
        '{{.Digest}}',
        `docker://${image}`,
      ]);
      const newDigest = inspected.stdout.trim();
      assert.notEqual(newDigest, singleDigest);
      const moved = lookasidePath(lookaside, 'bad/tampered', newDigest);
      await mkdir(join(moved, '..'), { recursive: true });
      await cp(lookasidePath(lookaside, 'bad/tampered', singleDigest), moved);
      await refusedBoth(
        policies.signer!,
        image,
        new RegExp(`signature is for manifest ${singleDigest}, not this image's`),
      );
    });

    test('a signature by an expired key', async () => {
      const image = `${host()}/bad/expired:1`;
      const payload = JSON.stringify({
        critical: {
          identity: { 'docker-reference': image },
          image: { 'docker-manifest-digest': singleDigest },
          type: 'atomic container signature',
        },
        optional: {},
      });
      const payloadPath = join(root, 'expired-payload');
      await writeFile(payloadPath, payload);
      const sigPath = join(root, 'expired.sig');
      home.gpg([
        '--faked-system-time',
        '20200101T010000',
        '--local-user',
        expired.fingerprint,
        '--output',
        sigPath,
        '--sign',
        payloadPath,
      ]);
      await withSignature('bad/expired', await readFile(sigPath));
      const policy = await policyFile('expired', [signedBy(expired)]);
      await refusedBoth(policy, image, /expired/i);
      const bySkopeo = await skopeo(policy, [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${image}`,
        `dir:${join(root, 'exp-skopeo')}`,
      ]);
      assert.notEqual(bySkopeo.code, 0, 'skopeo refuses it too');
    });

    test('a signature by a revoked key', async () => {
      const image = `${host()}/bad/revoked:1`;
      await skopeoSignedPush(single, image, revoked.fingerprint);
      const certificate = await readFile(join(home.path, 'openpgp-revocs.d', `${revoked.fingerprint}.rev`), 'utf8');
      // gpg stores the certificate with a ':' before the armor line so that it is not imported by accident.
      const revocation = join(root, 'revocation.asc');
      await writeFile(revocation, certificate.replace(/^:-----BEGIN/m, '-----BEGIN'));
      home.gpg(['--import', revocation]);
      await writeFile(revoked.publicKey, home.gpg(['--armor', '--export', revoked.fingerprint]));
      await refusedBoth(await policyFile('revoked', [signedBy(revoked)]), image, /revoked/i);
    });

    test('corrupt signatures: garbage and a truncated OpenPGP message', async () => {
      const good = await readFile(lookasidePath(lookaside, 'skopeo/app', singleDigest));
      const garbage = await withSignature('bad/garbage', Buffer.from('this is not a signature'));
      await refusedBoth(policies.signer!, garbage, /signature is not an OpenPGP message/);
      const truncated = await withSignature('bad/truncated', good.subarray(0, 100));
      await refusedBoth(policies.signer!, truncated, /signature is not an OpenPGP message/);
    });

    test('a signature by a key the policy does not know', async () => {
      const image = `${host()}/bad/unknown:1`;
      await skopeoSignedPush(single, image, other.fingerprint);
      await refusedBoth(
        policies.signer!,
        image,
        new RegExp(`key ID ${other.fingerprint.slice(-16)}, which is not in the trusted keyring`),
      );
    });

    test('policy files with typos, and none at all', async () => {
      const image = `${host()}/skopeo/app:1`;
      const good = await readFile(policies.signer!, 'utf8');
      const cases: [string, string, RegExp][] = [
        ['type', good.replace('"signedBy"', '"singedBy"'), /unknown requirement type "singedBy"/],
        ['field', good.replace('"keyPath"', '"keyPth"'), /keyPth: unknown field/],
        ['top', good.replace('"default"', '"defualt"'), /defualt: unknown field/],
        ['json', good.slice(0, -2), /not valid JSON/],
        [
          'empty',
          JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [host()]: [] } } }),
          /must not be empty/,
        ],
        ['duplicate', good.replace('"type": "signedBy",', '"type": "signedBy", "type": "reject",'), /duplicate/i],
      ];
      for (const [name, text, why] of cases) {
        const path = join(root, `typo-${name}.json`);
        await writeFile(path, text);
        for (const args of [
          ['copy', '-q', '--src-tls-verify=false', `docker://${image}`, `dir:${join(root, 'typo-out')}`],
          ['verify', '--tls-verify=false', `docker://${image}`],
        ]) {
          const line = oneErrorLine(await ferry(path, args));
          assert.match(line, /invalid policy in ".*typo-/, name);
          assert.match(line, why, name);
        }
        await assert.rejects(loadPolicy({ path }), { code: 'INVALID_POLICY' }, name);
      }
      const missing = join(root, 'no-such-policy.json');
      assert.match(
        oneErrorLine(await ferry(missing, ['verify', '--tls-verify=false', `docker://${image}`])),
        /no policy.json file found/,
      );
      await assert.rejects(loadPolicy({ path: missing }), { code: 'POLICY_NOT_FOUND' });
      // A key file the policy names but that is not there: the image is refused, saying which file.
      const noKey = await policyFile('no-key', [{ ...signedBy(signer), keyPath: join(root, 'missing.asc') }]);
      assert.match(
        oneErrorLine(await ferryPull(noKey, image, `dir:${join(root, 'typo-out')}`)),
        /key file ".*missing\.asc" cannot be read/,
      );
    });
  });
});
