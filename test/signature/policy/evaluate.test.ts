import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { FerryError, isFerryError } from '../../../src/errors.js';
import { parseDockerReference } from '../../../src/reference/reference.js';
import {
  evaluatePolicy,
  type ImageToVerify,
  type SignatureRequirement,
  type SignatureRequirementVerifier,
} from '../../../src/signature/policy/evaluate.js';
import { identityMatches } from '../../../src/signature/policy/identity.js';
import { parsePolicy } from '../../../src/signature/policy/parse.js';
import {
  dockerPolicyNamespaces,
  pathPolicyNamespaces,
  policyRequirementsFor,
} from '../../../src/signature/policy/scopes.js';
import type { PolicyRequirement } from '../../../src/signature/policy/types.js';
import { fixturePath } from '../../helpers/paths.js';

const image: ImageToVerify = {
  manifest: new TextEncoder().encode('{"schemaVersion":2}'),
  dockerReference: parseDockerReference('example.com/app:1'),
  signatures: [{ kind: 'simpleSigning', blob: new Uint8Array([1, 2, 3]) }],
};

const signedBy: PolicyRequirement = {
  type: 'signedBy',
  keyType: 'GPGKeys',
  keyPath: '/keys/k.gpg',
  signedIdentity: { type: 'matchRepoDigestOrExact' },
};
const sigstore: PolicyRequirement = {
  type: 'sigstoreSigned',
  keyPath: '/keys/cosign.pub',
  signedIdentity: { type: 'matchRepository' },
};

/** A verifier that records its calls and accepts when the signature's claimed identity matches. */
function fakeVerifier(claimedIdentity: string) {
  const calls: { requirement: SignatureRequirement; image: ImageToVerify }[] = [];
  const verifier: SignatureRequirementVerifier = {
    async verify(requirement, img) {
      calls.push({ requirement, image: img });
      const ok = identityMatches(requirement.signedIdentity, img.dockerReference, claimedIdentity);
      return { accepted: ok, reason: ok ? 'signed by key K' : `signature identity ${claimedIdentity} does not match` };
    },
  };
  return { verifier, calls };
}

describe('evaluatePolicy', () => {
  test('insecureAcceptAnything accepts', async () => {
    const d = await evaluatePolicy([{ type: 'insecureAcceptAnything' }], image);
    assert.equal(d.allowed, true);
    assert.deepEqual(
      d.reasons.map((r) => [r.index, r.type, r.accepted]),
      [[0, 'insecureAcceptAnything', true]],
    );
  });

  test('reject rejects, and names the rule', async () => {
    const d = await evaluatePolicy([{ type: 'reject' }], image);
    assert.equal(d.allowed, false);
    assert.match(d.reasons[0]?.reason ?? '', /reject/);
  });

  test('signedBaseLayer always rejects', async () => {
    const { verifier } = fakeVerifier('example.com/app:1');
    const d = await evaluatePolicy(
      [{ type: 'signedBaseLayer', baseLayerIdentity: { type: 'matchRepository' } }],
      image,
      { verifier },
    );
    assert.equal(d.allowed, false);
    assert.match(d.reasons[0]?.reason ?? '', /signedBaseLayer is not implemented/);
  });

  test('one rejecting requirement rejects the list, and every outcome is reported', async () => {
    const d = await evaluatePolicy([{ type: 'insecureAcceptAnything' }, { type: 'reject' }], image);
    assert.equal(d.allowed, false);
    assert.deepEqual(
      d.reasons.map((r) => r.accepted),
      [true, false],
    );
  });

  test('an empty list accepts nothing', async () => {
    assert.equal((await evaluatePolicy([], image)).allowed, false);
  });

  test('without a verifier, signature requirements reject saying verification is not available', async () => {
    for (const req of [signedBy, sigstore]) {
      const d = await evaluatePolicy([req], image);
      assert.equal(d.allowed, false);
      assert.match(d.reasons[0]?.reason ?? '', /signature verification is not available/);
    }
  });

  test('signature requirements are delegated with the requirement and the image', async () => {
    const { verifier, calls } = fakeVerifier('example.com/app:1');
    const d = await evaluatePolicy([signedBy, sigstore], image, { verifier });
    assert.equal(d.allowed, true);
    assert.deepEqual(
      calls.map((c) => c.requirement),
      [signedBy, sigstore],
    );
    assert.equal(calls[0]?.image, image);
    assert.equal(d.reasons[0]?.reason, 'signed by key K');
  });

  test("the verifier's rejection rejects the image with its reason", async () => {
    const { verifier } = fakeVerifier('example.com/other:1');
    const d = await evaluatePolicy([signedBy], image, { verifier });
    assert.equal(d.allowed, false);
    assert.match(d.reasons[0]?.reason ?? '', /does not match/);
  });

  test('a verifier that throws rejects with its message, not a crash', async () => {
    const verifier: SignatureRequirementVerifier = {
      async verify() {
        throw new FerryError('INVALID_ARGUMENT', 'cannot read /keys/k.gpg');
      },
    };
    const d = await evaluatePolicy([signedBy], image, { verifier });
    assert.equal(d.allowed, false);
    assert.match(d.reasons[0]?.reason ?? '', /signedBy: cannot read \/keys\/k.gpg/);
  });

  test('an abort from the verifier is not turned into a rejection', async () => {
    const verifier: SignatureRequirementVerifier = {
      async verify() {
        throw new FerryError('ABORTED', 'operation aborted');
      },
    };
    await assert.rejects(evaluatePolicy([signedBy], image, { verifier }), (e) => isFerryError(e, 'ABORTED'));
  });

  test('signedBy with a keyType other than GPGKeys rejects without asking the verifier', async () => {
    const { verifier, calls } = fakeVerifier('example.com/app:1');
    const d = await evaluatePolicy([{ ...signedBy, keyType: 'X509Certificates' }], image, { verifier });
    assert.equal(d.allowed, false);
    assert.equal(calls.length, 0);
    assert.match(d.reasons[0]?.reason ?? '', /keyType "X509Certificates" is not implemented/);
  });
});

describe('the upstream fixture policy decides without signatures', () => {
  const policy = parsePolicy(readFileSync(fixturePath('signature', 'policy', 'policy.json')), 'policy.json');
  const decide = async (transport: string, identity: string, namespaces: string[], ref?: string) => {
    const { requirements } = policyRequirementsFor(policy, transport, identity, namespaces);
    const dockerReference = ref === undefined ? undefined : parseDockerReference(ref);
    return (await evaluatePolicy(requirements, { ...image, dockerReference })).allowed;
  };
  const docker = (ref: string) => {
    const r = parseDockerReference(ref);
    return decide('docker', r.toString(), dockerPolicyNamespaces(r.name), ref);
  };

  test('any dir: image is accepted (dir "" is insecureAcceptAnything)', async () => {
    assert.equal(await decide('dir', '/images/unsigned', pathPolicyNamespaces('/images/unsigned')), true);
  });
  test('example.com/playground images are accepted', async () => {
    assert.equal(await docker('example.com/playground/app:1'), true);
  });
  test('an image no scope names falls to the default reject', async () => {
    assert.equal(await docker('quay.io/org/app:1'), false);
    assert.equal(await decide('oci', '/x/y', pathPolicyNamespaces('/x/y')), false);
  });
  test('example.com/hardened needs signatures and a base layer check, so it is rejected', async () => {
    const { verifier } = fakeVerifier('example.com/hardened/app:1');
    const { requirements } = policyRequirementsFor(policy, 'docker', 'example.com/hardened/app:1', [
      'example.com/hardened/app',
      'example.com/hardened',
    ]);
    const d = await evaluatePolicy(
      requirements,
      { ...image, dockerReference: parseDockerReference('example.com/hardened/app:1') },
      { verifier },
    );
    assert.deepEqual(
      d.reasons.map((r) => [r.type, r.accepted]),
      [
        ['signedBy', true],
        ['signedBy', false],
        ['signedBaseLayer', false],
      ],
    );
    assert.match(d.reasons[1]?.reason ?? '', /keyType "signedByGPGKeys" is not implemented/);
  });
});
