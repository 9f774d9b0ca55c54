/**
 * The upstream signed / tampered `dir:` fixtures through the command line: `ferry verify` and
 * `ferry copy` give the decision containers/image's policy_eval_signedby_test.go and
 * policy_eval_sigstore_test.go expect, and, for simple signing, the decision of skopeo itself (this
 * Debian build refuses every sigstore signature, "sigstore disabled", so there the upstream tests decide).
 *
 * Upstream's tests give the image a Docker reference; a `dir:` image has none, so `matchExact` for
 * reference R is written `exactReference: R`, and `matchRepository` `exactRepository: name(R)`: the same
 * comparison of the signed identity with R. Each fixture is copied with the `version` file every `dir:`
 * image written by containers/image has (the fixtures leave it out; Ferry's dir: source wants it).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fixturePath } from '../helpers/paths.js';
import { SIMPLE_SIGNING_FIXTURE_CASES } from '../helpers/signature-fixtures.js';
import { runFerry, runSkopeo } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const SIMPLE = (...p: string[]) => fixturePath('signature', 'verifier', ...p);
const SIGSTORE = (...p: string[]) => fixturePath('signature', 'sigstore', ...p);
const COSIGN_REPO = '192.168.64.2:5000/cosign-signed-single-sample';

type Requirement = Record<string, unknown>;

const signedBy = (reference: string, keyPath = fixturePath('signature', 'public-key.gpg')): Requirement => ({
  type: 'signedBy',
  keyType: 'GPGKeys',
  keyPath,
  signedIdentity: { type: 'exactReference', dockerReference: reference },
});

const sigstore = (repository: string, extra: Requirement = {}): Requirement => ({
  type: 'sigstoreSigned',
  keyPath: SIGSTORE('cosign.pub'),
  signedIdentity: { type: 'exactRepository', dockerRepository: repository },
  ...extra,
});

/** A policy whose only scope that can apply is the dir: transport's default. */
function policyJSON(requirement: Requirement): string {
  return JSON.stringify({ default: [{ type: 'reject' }], transports: { dir: { '': [requirement] } } });
}

interface Decision {
  verifyCode: number;
  verifyStdout: string;
  verifyStderr: string;
  copyCode: number;
  copyStderr: string;
  written: boolean;
}

/** `ferry verify` and `ferry --debug copy` of the fixture `source` under `requirement`. */
async function decide(dir: string, source: string, requirement: Requirement): Promise<Decision> {
  const image = path.join(dir, 'image');
  await cp(source, image, { recursive: true });
  await writeFile(path.join(image, 'version'), 'Directory Transport Version: 1.1\n');
  const policy = path.join(dir, 'policy.json');
  await writeFile(policy, policyJSON(requirement));
  const verify = await runFerry(['--policy', policy, 'verify', `dir:${image}`]);
  const out = path.join(dir, 'out');
  const copy = await runFerry(['--policy', policy, '--debug', 'copy', '-q', `dir:${image}`, `dir:${out}`]);
  return {
    verifyCode: verify.code,
    verifyStdout: verify.stdout,
    verifyStderr: verify.stderr,
    copyCode: copy.code,
    copyStderr: copy.stderr,
    written: existsSync(out),
  };
}

/** Checks that both commands made `accepted`'s decision, and returns what they printed. */
function assertDecision(d: Decision, accepted: boolean): void {
  if (accepted) {
    assert.equal(d.verifyCode, 0, d.verifyStderr);
    assert.match(d.verifyStdout, /^dir:.*: accepted\n/);
    // The fixtures hold no blobs: an accepted copy goes on and fails at the first one.
    assert.match(d.copyStderr, /ferry: debug: policy: .* accepted by transports\["dir"\]\[""\]/);
    assert.doesNotMatch(d.copyStderr, /rejected by the trust policy/);
    return;
  }
  assert.equal(d.verifyCode, 1, d.verifyStdout);
  assert.equal(d.copyCode, 1);
  assert.ok(!d.written, 'a rejected copy writes nothing');
  // A fixture without a manifest cannot be decided at all: the manifest error stops both commands.
  if (d.verifyStdout !== '') {
    assert.match(d.verifyStdout, /^dir:.*: rejected\n/);
    assert.match(d.verifyStderr, /^ferry: source image "dir:.*" rejected by the trust policy: /);
    assert.match(d.copyStderr, /ferry: source image "dir:.*" rejected by the trust policy: /);
  } else {
    assert.match(d.verifyStderr, /manifest/);
  }
}

describe('simple-signing dir: fixtures through ferry verify / ferry copy, as upstream and skopeo decide', () => {
  const cases = SIMPLE_SIGNING_FIXTURE_CASES;
  for (const [fixture, reference, accepted] of cases) {
    test(`${fixture} signed as ${reference}: ${accepted ? 'accepted' : 'rejected'}`, async () => {
      await withTempDir(async (dir) => {
        const d = await decide(dir, SIMPLE(fixture), signedBy(reference));
        assertDecision(d, accepted);
        const skopeo = await runSkopeo([
          '--policy',
          path.join(dir, 'policy.json'),
          'copy',
          '-q',
          `dir:${path.join(dir, 'image')}`,
          `dir:${path.join(dir, 'skopeo-out')}`,
        ]);
        // skopeo too: an accepted fixture fails later, at its missing blobs, never with "Source image rejected";
        // one without a manifest fails before any decision, as Ferry does.
        if (accepted) assert.doesNotMatch(skopeo.stderr, /Source image rejected/);
        else if (fixture === 'dir-img-no-manifest') assert.match(skopeo.stderr, /manifest\.json: no such file/);
        else assert.match(skopeo.stderr, /Source image rejected/);
      });
    });
  }

  test('a subkey signature: accepted with the keyring of its primary key, rejected with another key', async () => {
    await withTempDir(async (dir) => {
      const withSubkey = fixturePath('signature', 'public-key-with-subkey.gpg');
      assertDecision(
        await decide(dir, SIMPLE('dir-img-valid-subkey'), signedBy('testing/manifest:latest', withSubkey)),
        true,
      );
    });
    await withTempDir(async (dir) => {
      const d = await decide(dir, SIMPLE('dir-img-valid-subkey'), signedBy('testing/manifest:latest'));
      assertDecision(d, false);
      assert.match(d.verifyStdout, /not in the trusted keyring/);
    });
  });

  test('the report names the deciding requirement and each signature found (kind, key ID, identity)', async () => {
    await withTempDir(async (dir) => {
      const d = await decide(dir, SIMPLE('dir-img-valid-2'), signedBy('testing/manifest:latest'));
      assertDecision(d, true);
      assert.match(
        d.verifyStdout,
        /\n {4}requirement 1 signedBy: accepted: signed by key [0-9A-F]{40} as testing\/manifest:latest\n/,
      );
      assert.match(
        d.verifyStdout,
        /\n {4}signature 1: simpleSigning, key ID [0-9A-F]{16}, identity [^,]+, for sha256:[0-9a-f]{64}\n/,
      );
      assert.match(d.verifyStdout, /\n {4}signature 2: simpleSigning, /);
    });
  });

  test('--format json carries the same decision for scripts', async () => {
    await withTempDir(async (dir) => {
      const image = path.join(dir, 'image');
      await cp(SIMPLE('dir-img-modified-manifest'), image, { recursive: true });
      await writeFile(path.join(image, 'version'), 'Directory Transport Version: 1.1\n');
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, policyJSON(signedBy('testing/manifest:latest')));
      const r = await runFerry(['--policy', policy, 'verify', '--format', 'json', `dir:${image}`]);
      assert.equal(r.code, 1);
      const report = JSON.parse(r.stdout) as {
        reference: string;
        allowed: boolean;
        decisions: Array<{
          allowed: boolean;
          scope: string;
          requirements: Array<{ accepted: boolean; type: string; reason: string }>;
          signatures: Array<{ kind: string; identity: string }>;
        }>;
      };
      assert.equal(report.reference, `dir:${image}`);
      assert.equal(report.allowed, false);
      assert.equal(report.decisions.length, 1);
      assert.equal(report.decisions[0]?.scope, 'transports["dir"][""]');
      assert.equal(report.decisions[0]?.requirements[0]?.type, 'signedBy');
      assert.match(report.decisions[0]?.requirements[0]?.reason ?? '', /signature is for manifest sha256:/);
      assert.deepEqual(
        report.decisions[0]?.signatures.map((s) => [s.kind, s.identity]),
        [['simpleSigning', 'testing/manifest:latest']],
      );
    });
  });
});

describe('sigstore dir: fixtures through ferry verify / ferry copy, as upstream decides', () => {
  const cases: Array<[fixture: string, repository: string, accepted: boolean]> = [
    ['dir-img-cosign-valid', COSIGN_REPO, true],
    ['dir-img-cosign-valid', 'docker.io/testing/manifest', false],
    ['dir-img-cosign-valid-2', COSIGN_REPO, true],
    ['dir-img-cosign-valid-2', 'docker.io/this/does-not', false],
    ['dir-img-cosign-mixed', COSIGN_REPO, true],
    ['dir-img-cosign-other-attachment', 'docker.io/testing/manifest', false],
    ['dir-img-cosign-modified-manifest', COSIGN_REPO, false],
    ['dir-img-cosign-manifest-digest-error', COSIGN_REPO, false],
    ['dir-img-cosign-no-manifest', COSIGN_REPO, false],
  ];
  for (const [fixture, repository, accepted] of cases) {
    test(`${fixture} for ${repository}: ${accepted ? 'accepted' : 'rejected'}`, async () => {
      await withTempDir(async (dir) => {
        assertDecision(await decide(dir, SIGSTORE(fixture), sigstore(repository)), accepted);
      });
    });
  }

  test('another public key rejects the valid image', async () => {
    await withTempDir(async (dir) => {
      const d = await decide(
        dir,
        SIGSTORE('dir-img-cosign-valid'),
        sigstore(COSIGN_REPO, { keyPath: SIGSTORE('cosign2.pub') }),
      );
      assertDecision(d, false);
    });
  });

  test('Fulcio with Rekor: accepted for the signing e-mail, rejected for another', async () => {
    for (const [email, accepted] of [
      ['mitr@redhat.com', true],
      ['this-does-not-match@example.com', false],
    ] as const) {
      await withTempDir(async (dir) => {
        const requirement = sigstore('192.168.64.2:5000/cosign-signed/fulcio-rekor-1', {
          keyPath: undefined,
          fulcio: {
            caPath: SIGSTORE('fulcio_v1.crt.pem'),
            oidcIssuer: 'https://github.com/login/oauth',
            subjectEmail: email,
          },
          rekorPublicKeyPath: SIGSTORE('rekor.pub'),
        });
        assertDecision(await decide(dir, SIGSTORE('dir-img-cosign-fulcio-rekor-valid'), requirement), accepted);
      });
    }
  });

  test('PKI: accepted for the certificate subject, rejected for another', async () => {
    for (const [email, accepted] of [
      ['qiwan@redhat.com', true],
      ['x@example.com', false],
    ] as const) {
      await withTempDir(async (dir) => {
        const requirement = sigstore('localhost:5000/test', {
          keyPath: undefined,
          pki: {
            caRootsPath: SIGSTORE('pki_root_crts.pem'),
            caIntermediatesPath: SIGSTORE('pki_intermediate_crts.pem'),
            subjectEmail: email,
            subjectHostname: 'myhost.example.com',
          },
        });
        assertDecision(await decide(dir, SIGSTORE('dir-img-cosign-pki-valid'), requirement), accepted);
      });
    }
  });

  test('a sigstore signature reports its identity and that it uses a public key', async () => {
    await withTempDir(async (dir) => {
      const d = await decide(dir, SIGSTORE('dir-img-cosign-valid'), sigstore(COSIGN_REPO));
      assertDecision(d, true);
      assert.match(
        d.verifyStdout,
        new RegExp(`signature 1: sigstore, public key, identity ${COSIGN_REPO}, for sha256:`),
      );
      assert.deepEqual((await readdir(dir)).sort(), ['image', 'policy.json']);
    });
  });
});
