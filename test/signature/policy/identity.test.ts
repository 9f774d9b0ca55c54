import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDockerReference } from '../../../src/reference/reference.js';
import { identityMatches, remapIdentityPrefix } from '../../../src/signature/policy/identity.js';
import type { PolicyReferenceMatch } from '../../../src/signature/policy/types.js';

const D = '@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
const D2 = '@sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210';
const ref = (s: string) => parseDockerReference(s);

/** [image, signature, matchExact, matchRepoDigestOrExact, matchRepository] */
const imageCases: [string, string, boolean, boolean, boolean][] = [
  ['busybox:latest', 'busybox:latest', true, true, true],
  ['busybox:latest', 'docker.io/library/busybox:latest', true, true, true],
  [`busybox${D}`, `busybox${D}`, true, true, true],
  [`busybox${D}`, 'busybox:anytag', false, true, true],
  [`busybox${D}`, `busybox${D2}`, false, true, true],
  ['busybox:latest', 'busybox:notlatest', false, false, true],
  ['busybox:latest', 'notbusybox:latest', false, false, false],
  ['busybox:latest', 'hostname/library/busybox:latest', false, false, false],
  [`busybox${D}`, `notbusybox${D}`, false, false, false],
  ['busybox:latest', `busybox${D}`, false, false, true],
  ['busybox', 'busybox:latest', false, false, true],
  ['busybox', 'busybox', false, false, true],
  ['busybox:latest', 'busybox', false, false, true],
  [`busybox:latest${D}`, `busybox:latest${D}`, true, true, true],
  [`busybox:latest${D}`, `busybox:latest${D2}`, false, false, true],
  [`busybox:latest${D}`, `busybox${D}`, false, false, true],
  ['busybox:latest', 'this is not a reference', false, false, false],
  ['busybox:latest', 'BUSYBOX:latest', false, false, false],
];

describe('signedIdentity rules over the image reference', () => {
  for (const [image, signature, exact, repoDigestOrExact, repository] of imageCases) {
    test(`${image} signed as ${signature}: exact ${exact}, repoDigestOrExact ${repoDigestOrExact}, repository ${repository}`, () => {
      assert.equal(identityMatches({ type: 'matchExact' }, ref(image), signature), exact);
      assert.equal(identityMatches({ type: 'matchRepoDigestOrExact' }, ref(image), signature), repoDigestOrExact);
      assert.equal(identityMatches({ type: 'matchRepository' }, ref(image), signature), repository);
    });
  }

  test('an image without a Docker reference matches no image-relative rule', () => {
    for (const type of ['matchExact', 'matchRepoDigestOrExact', 'matchRepository'] as const) {
      assert.equal(identityMatches({ type }, undefined, 'busybox:latest'), false, type);
    }
    const remap: PolicyReferenceMatch = { type: 'remapIdentity', prefix: 'docker.io', signedPrefix: 'example.com' };
    assert.equal(identityMatches(remap, undefined, 'example.com/library/busybox:latest'), false);
  });
});

describe('signedIdentity rules over a fixed reference', () => {
  const cases: [PolicyReferenceMatch, string, boolean][] = [
    [{ type: 'exactReference', dockerReference: 'busybox:latest' }, 'docker.io/library/busybox:latest', true],
    [{ type: 'exactReference', dockerReference: 'busybox:latest' }, 'busybox:other', false],
    [{ type: 'exactReference', dockerReference: 'busybox:latest' }, 'busybox', false],
    [{ type: 'exactReference', dockerReference: `busybox${D}` }, `busybox${D}`, true],
    [{ type: 'exactReference', dockerReference: `busybox${D}` }, `busybox${D2}`, false],
    [{ type: 'exactRepository', dockerRepository: 'busybox' }, 'busybox:anything', true],
    [{ type: 'exactRepository', dockerRepository: 'busybox' }, `docker.io/library/busybox${D}`, true],
    [{ type: 'exactRepository', dockerRepository: 'quay.io/busybox' }, 'busybox:latest', false],
  ];
  for (const [identity, signature, expected] of cases) {
    test(`${JSON.stringify(identity)} with signature ${signature} is ${expected}, whatever the image`, () => {
      assert.equal(identityMatches(identity, ref('unrelated/image:1'), signature), expected);
      assert.equal(identityMatches(identity, undefined, signature), expected);
    });
  }
});

describe('remapIdentity', () => {
  const prefixCases: [string, string, boolean][] = [
    ['docker.io/image', 'docker.io', true],
    ['docker.io/image', 'example.com', false],
    ['example.com:5000/image', 'example.com:5000', true],
    ['example.com:50000/image', 'example.com:5000', false],
    ['example.com:5000/image', 'example.com', false],
    ['example.com/foo/bar:baz', 'example.com', true],
    [`example.com/foo/bar${D}`, 'example.com', true],
    ['docker.io/libraryy/image', 'docker.io/library', false],
    ['docker.io/library/busybox', 'docker.io/library', true],
    ['example.com/ns2/image', 'example.com/ns', false],
    ['docker.io/library/busybox2', 'docker.io/library/busybox', false],
    ['example.com/ns/image:tag', 'example.com/ns/image', true],
  ];
  for (const [image, prefix, matches] of prefixCases) {
    test(`prefix ${prefix} ${matches ? 'rewrites' : 'leaves'} ${image}`, () => {
      const remapped = remapIdentityPrefix(ref(image), prefix, 'docker.io/library/signed-prefix');
      assert.equal(remapped?.toString() !== ref(image).toString(), matches);
    });
  }

  const rewriteCases: [string, string, string, string | undefined][] = [
    ['mirror.example', 'vendor.example', 'mirror.example/ns/image:tag', 'vendor.example/ns/image:tag'],
    ['mirror.example', 'vendor.example', 'prefixmirror.example/ns/image:tag', 'prefixmirror.example/ns/image:tag'],
    ['docker.io', 'not-docker-signed.example', 'busybox', 'not-docker-signed.example/library/busybox'],
    ['docker.io/library', 'not-docker-signed.example/ns', 'busybox', 'not-docker-signed.example/ns/busybox'],
    ['mirror.example', 'vendor.example', `mirror.example/image:tag${D}`, `vendor.example/image:tag${D}`],
    ['mirror.example/ns/image', 'vendor.example:5000', 'mirror.example/ns/image:tag', undefined],
    ['mirror.example/ns/image', 'notlocalhost', 'mirror.example/ns/image:tag', undefined],
  ];
  for (const [prefix, signedPrefix, image, expected] of rewriteCases) {
    test(`${prefix} → ${signedPrefix} turns ${image} into ${expected ?? 'an invalid reference'}`, () => {
      assert.equal(remapIdentityPrefix(ref(image), prefix, signedPrefix)?.toString(), expected);
    });
  }

  const remap: PolicyReferenceMatch = {
    type: 'remapIdentity',
    prefix: 'private-mirror:5000/vendor-mirror',
    signedPrefix: 'vendor.example.com',
  };
  test('a mirror image matches the vendor signature under its rewritten name', () => {
    const image = ref('private-mirror:5000/vendor-mirror/app:1.0');
    assert.equal(identityMatches(remap, image, 'vendor.example.com/app:1.0'), true);
    assert.equal(identityMatches(remap, image, 'vendor.example.com/app:2.0'), false);
    assert.equal(identityMatches(remap, image, 'private-mirror:5000/vendor-mirror/app:1.0'), false);
  });

  test('an image outside the prefix is matched as matchRepoDigestOrExact', () => {
    const image = ref(`other.example.com/app${D}`);
    assert.equal(identityMatches(remap, image, 'other.example.com/app:any'), true);
    assert.equal(identityMatches(remap, image, 'vendor.example.com/app:any'), false);
  });

  test('a rewrite giving an invalid reference matches nothing', () => {
    const bad: PolicyReferenceMatch = {
      type: 'remapIdentity',
      prefix: 'a.example/ns/image',
      signedPrefix: 'b.example:5000',
    };
    assert.equal(identityMatches(bad, ref('a.example/ns/image:tag'), 'b.example:5000:tag'), false);
  });
});
