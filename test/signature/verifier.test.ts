/**
 * The policy verifier on the upstream `dir:` fixtures, with the requirements and image references
 * containers/image's policy_eval_signedby_test.go and policy_eval_sigstore_test.go use.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { parseDockerReference } from '../../src/reference/reference.js';
import {
  evaluatePolicy,
  type ImageToVerify,
  type PolicyRequirement,
  dockerPolicyNamespaces,
  parsePolicy,
  policyRequirementsFor,
  type SignedByRequirement,
  type SigstoreSignedRequirement,
  type UnverifiedSignature,
} from '../../src/signature/policy/index.js';
import { isSigstoreBlob, parseSigstoreBlob } from '../../src/signature/sigstore/index.js';
import { createPolicySignatureVerifier } from '../../src/signature/verifier.js';
import { fixturePath } from '../helpers/paths.js';
import { SIMPLE_SIGNING_FIXTURE_CASES } from '../helpers/signature-fixtures.js';

const SIMPLE = (...p: string[]) => fixturePath('signature', 'verifier', ...p);
const SIGSTORE = (...p: string[]) => fixturePath('signature', 'sigstore', ...p);
const KEY = fixturePath('signature', 'public-key.gpg');
const COSIGN = SIGSTORE('cosign.pub');
const COSIGN_ID = '192.168.64.2:5000/cosign-signed-single-sample';

/** A `dir:` image as containers/image reads it: manifest.json (empty when absent) and signature-1, -2, …. */
function dirImage(dir: string, ref: string | undefined): ImageToVerify {
  const manifestPath = `${dir}/manifest.json`;
  const signatures: UnverifiedSignature[] = [];
  for (let n = 1; existsSync(`${dir}/signature-${n}`); n++) {
    const blob = readFileSync(`${dir}/signature-${n}`);
    if (isSigstoreBlob(blob)) {
      const s = parseSigstoreBlob(blob);
      signatures.push({ kind: 'sigstore', mimeType: s.mimeType, payload: s.payload, annotations: s.annotations });
    } else signatures.push({ kind: 'simpleSigning', blob });
  }
  return {
    manifest: existsSync(manifestPath) ? readFileSync(manifestPath) : Buffer.alloc(0),
    dockerReference: ref === undefined ? undefined : parseDockerReference(ref),
    signatures,
  };
}

const verifier = createPolicySignatureVerifier();

async function decide(requirement: PolicyRequirement, image: ImageToVerify): Promise<boolean> {
  const d = await evaluatePolicy([requirement], image, { verifier });
  assert.equal(d.reasons.length, 1);
  return d.allowed;
}

const signedBy = (extra: Partial<SignedByRequirement> = {}): SignedByRequirement => ({
  type: 'signedBy',
  keyType: 'GPGKeys',
  keyPath: KEY,
  signedIdentity: { type: 'matchExact' },
  ...extra,
});

const sigstore = (extra: Partial<SigstoreSignedRequirement> = {}): SigstoreSignedRequirement => ({
  type: 'sigstoreSigned',
  keyPath: COSIGN,
  signedIdentity: { type: 'matchRepository' },
  ...extra,
});

describe('signedBy on the simple-signing dir: fixtures (public-key.gpg, matchExact)', () => {
  const cases = SIMPLE_SIGNING_FIXTURE_CASES;
  for (const [dir, ref, accepted] of cases) {
    test(`${dir} as ${ref} is ${accepted ? 'accepted' : 'rejected'}`, async () => {
      assert.equal(await decide(signedBy(), dirImage(SIMPLE(dir), ref)), accepted);
    });
  }

  test('the key may also be given as keyPaths or keyData', async () => {
    const image = dirImage(SIMPLE('dir-img-valid'), 'testing/manifest:latest');
    assert.equal(await decide(signedBy({ keyPath: undefined, keyPaths: [KEY] }), image), true);
    assert.equal(await decide(signedBy({ keyPath: undefined, keyData: readFileSync(KEY) }), image), true);
  });

  test('a subkey signature is accepted with the keyring holding its primary key, not with another key', async () => {
    const image = dirImage(SIMPLE('dir-img-valid-subkey'), 'testing/manifest:latest');
    const withSubkey = fixturePath('signature', 'public-key-with-subkey.gpg');
    assert.equal(await decide(signedBy({ keyPath: withSubkey }), image), true);
    assert.equal(await decide(signedBy(), image), false);
  });

  test('a signature whose identity the requirement refuses is rejected, naming the identity', async () => {
    const image = dirImage(SIMPLE('dir-img-valid'), 'testing/manifest:latest');
    const req = signedBy({ signedIdentity: { type: 'exactReference', dockerReference: 'this/doesnt:match' } });
    const d = await evaluatePolicy([req], image, { verifier });
    assert.equal(d.allowed, false);
    assert.match(d.reasons[0]?.reason ?? '', /signature 1: signed identity "testing\/manifest:latest"/);
  });

  test('the reasons of each rejected signature are summarised', async () => {
    const d = await evaluatePolicy([signedBy()], dirImage(SIMPLE('dir-img-valid-2'), 'testing/manifest:notlatest'), {
      verifier,
    });
    assert.match(d.reasons[0]?.reason ?? '', /signature 1: .*; signature 2: /);
  });

  test('no signatures, an empty keyring, a missing key file, another keyType: rejected with the reason', async () => {
    const valid = dirImage(SIMPLE('dir-img-valid'), 'testing/manifest:latest');
    const reasons = async (req: SignedByRequirement, image = valid) =>
      (await evaluatePolicy([req], image, { verifier })).reasons[0]?.reason ?? '';
    assert.match(
      await reasons(signedBy(), dirImage(SIMPLE('dir-img-unsigned'), 'testing/manifest:latest')),
      /no simple/,
    );
    assert.match(await reasons(signedBy({ keyPath: undefined, keyData: new Uint8Array() })), /no public keys/);
    assert.match(await reasons(signedBy({ keyPath: SIMPLE('does-not-exist') })), /cannot be read/);
    const direct = await verifier.verify(signedBy({ keyType: 'signedByGPGKeys' }), valid);
    assert.equal(direct.accepted, false);
  });

  test('tampered images are rejected for their digest, not for the key', async () => {
    const reason = async (dir: string) =>
      (await evaluatePolicy([signedBy()], dirImage(SIMPLE(dir), 'testing/manifest:latest'), { verifier })).reasons[0]
        ?.reason ?? '';
    assert.match(await reason('dir-img-modified-manifest'), /signature is for manifest sha256:/);
    assert.match(await reason('dir-img-manifest-digest-error'), /manifest digest cannot be computed/);
    assert.match(await reason('dir-img-valid'), /^signed by key [0-9A-F]{40} as testing\/manifest:latest$/);
  });

  test('an aborted evaluation fails with ABORTED instead of rejecting', async () => {
    const controller = new AbortController();
    controller.abort();
    const image = dirImage(SIMPLE('dir-img-valid'), 'testing/manifest:latest');
    await assert.rejects(evaluatePolicy([signedBy()], image, { verifier, signal: controller.signal }), (e) =>
      isFerryError(e, 'ABORTED'),
    );
  });

  test('sigstore signatures do not satisfy signedBy', async () => {
    assert.equal(await decide(signedBy(), dirImage(SIGSTORE('dir-img-cosign-valid'), COSIGN_ID)), false);
  });
});

describe('sigstoreSigned on the dir-img-cosign fixtures (cosign.pub, matchRepository)', () => {
  const cases: Array<[dir: string, ref: string, accepted: boolean]> = [
    ['dir-img-cosign-valid', COSIGN_ID, true],
    ['dir-img-cosign-valid', 'testing/manifest:notlatest', false],
    ['dir-img-cosign-valid-2', COSIGN_ID, true],
    ['dir-img-cosign-valid-2', 'this/does-not:match', false],
    ['dir-img-cosign-mixed', COSIGN_ID, true],
    ['dir-img-cosign-other-attachment', 'testing/manifest:latest', false],
    ['dir-img-cosign-modified-manifest', COSIGN_ID, false],
    ['dir-img-cosign-manifest-digest-error', COSIGN_ID, false],
    ['dir-img-cosign-no-manifest', COSIGN_ID, false],
  ];
  for (const [dir, ref, accepted] of cases) {
    test(`${dir} as ${ref} is ${accepted ? 'accepted' : 'rejected'}`, async () => {
      assert.equal(await decide(sigstore(), dirImage(SIGSTORE(dir), ref)), accepted);
    });
  }

  test('unsigned and simple-signed-only images are rejected', async () => {
    assert.equal(await decide(sigstore(), dirImage(SIMPLE('dir-img-unsigned'), 'testing/manifest:latest')), false);
    assert.equal(await decide(sigstore(), dirImage(SIMPLE('dir-img-valid'), 'testing/manifest:latest')), false);
  });

  test('keyPaths, keyData and keyDatas in either order accept the valid image', async () => {
    const image = dirImage(SIGSTORE('dir-img-cosign-valid'), COSIGN_ID);
    const k1 = readFileSync(COSIGN);
    const k2 = readFileSync(SIGSTORE('cosign2.pub'));
    for (const keys of [
      { keyPaths: [COSIGN, SIGSTORE('cosign2.pub')] },
      { keyPaths: [SIGSTORE('cosign2.pub'), COSIGN] },
      { keyData: k1 },
      { keyDatas: [k1, k2] },
      { keyDatas: [k2, k1] },
    ]) {
      assert.equal(
        await decide(sigstore({ keyPath: undefined, ...keys }), image),
        true,
        JSON.stringify(Object.keys(keys)),
      );
    }
    assert.equal(await decide(sigstore({ keyPath: SIGSTORE('cosign2.pub') }), image), false);
  });

  test('matchExact accepts a matching tag and rejects another tag and cosign (tagless) signatures', async () => {
    const exact = sigstore({ signedIdentity: { type: 'matchExact' } });
    const withTag = SIGSTORE('dir-img-cosign-valid-with-tag');
    assert.equal(await decide(exact, dirImage(withTag, '192.168.64.2:5000/skopeo-signed:tag')), true);
    assert.equal(await decide(exact, dirImage(withTag, '192.168.64.2:5000/skopeo-signed:othertag')), false);
    assert.equal(await decide(exact, dirImage(SIGSTORE('dir-img-cosign-valid'), COSIGN_ID)), false);
  });

  test('a key with a Rekor SET (key-rekor-valid) needs the right Rekor key', async () => {
    const image = dirImage(SIGSTORE('dir-img-cosign-key-rekor-valid'), '192.168.64.2:5000/cosign-signed/key-1');
    const cosign2 = SIGSTORE('cosign2.pub');
    assert.equal(await decide(sigstore({ keyPath: cosign2, rekorPublicKeyPath: SIGSTORE('rekor.pub') }), image), true);
    assert.equal(await decide(sigstore({ keyPath: cosign2, rekorPublicKeyPath: COSIGN }), image), false);
  });

  test('Fulcio (fulcio-rekor-valid) is accepted for the right e-mail and rejected for another', async () => {
    const image = dirImage(
      SIGSTORE('dir-img-cosign-fulcio-rekor-valid'),
      '192.168.64.2:5000/cosign-signed/fulcio-rekor-1',
    );
    const fulcio = (subjectEmail: string) =>
      sigstore({
        keyPath: undefined,
        fulcio: { caPath: SIGSTORE('fulcio_v1.crt.pem'), oidcIssuer: 'https://github.com/login/oauth', subjectEmail },
        rekorPublicKeyPath: SIGSTORE('rekor.pub'),
      });
    assert.equal(await decide(fulcio('mitr@redhat.com'), image), true);
    assert.equal(await decide(fulcio('this-does-not-match@example.com'), image), false);
  });

  test('PKI (pki-valid) is accepted for the right subject and rejected for another', async () => {
    const image = dirImage(SIGSTORE('dir-img-cosign-pki-valid'), 'localhost:5000/test');
    const pki = (subjectEmail: string) =>
      sigstore({
        keyPath: undefined,
        pki: {
          caRootsPath: SIGSTORE('pki_root_crts.pem'),
          caIntermediatesPath: SIGSTORE('pki_intermediate_crts.pem'),
          subjectEmail,
          subjectHostname: 'myhost.example.com',
        },
      });
    assert.equal(await decide(pki('qiwan@redhat.com'), image), true);
    assert.equal(await decide(pki('x@example.com'), image), false);
  });

  test('a requirement with no key source or an invalid key is rejected with the reason, not a crash', async () => {
    const image = dirImage(SIGSTORE('dir-img-cosign-valid'), COSIGN_ID);
    const d1 = await evaluatePolicy([sigstore({ keyPath: undefined })], image, { verifier });
    assert.match(d1.reasons[0]?.reason ?? '', /exactly one of public keys, fulcio, pki/);
    const d2 = await evaluatePolicy([sigstore({ keyPath: undefined, keyData: Buffer.from('invalid') })], image, {
      verifier,
    });
    assert.equal(d2.allowed, false);
  });
});

describe('a parsed policy with the verifier', () => {
  test('a signedBy scope accepts the signed image and rejects the unsigned one', async () => {
    const json = JSON.stringify({
      default: [{ type: 'reject' }],
      transports: {
        docker: { 'docker.io/testing/manifest': [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: KEY }] },
      },
    });
    const policy = parsePolicy(json, 'policy.json');
    const identity = 'docker.io/testing/manifest:latest';
    const choice = policyRequirementsFor(
      policy,
      'docker',
      identity,
      dockerPolicyNamespaces('docker.io/testing/manifest'),
    );
    assert.equal(choice.scope, 'transports["docker"]["docker.io/testing/manifest"]');
    const reqs = choice.requirements;
    const ref = 'testing/manifest:latest';
    assert.equal((await evaluatePolicy(reqs, dirImage(SIMPLE('dir-img-valid'), ref), { verifier })).allowed, true);
    assert.equal((await evaluatePolicy(reqs, dirImage(SIMPLE('dir-img-unsigned'), ref), { verifier })).allowed, false);
  });
});
