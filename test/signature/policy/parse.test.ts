import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { loadPolicy, policyPathCandidates, SYSTEM_POLICY_PATH } from '../../../src/signature/policy/load.js';
import { parsePolicy } from '../../../src/signature/policy/parse.js';
import type { PolicyRequirement, SigstoreSignedRequirement } from '../../../src/signature/policy/types.js';
import { fixturePath } from '../../helpers/paths.js';
import { withTempDir } from '../../helpers/tmp.js';

const FIXTURE = fixturePath('signature', 'policy', 'policy.json');

/** A policy whose docker scope "quay.io" holds `req`. */
function withRequirement(req: unknown): string {
  return JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { 'quay.io': [req] } } });
}

/** The only requirement of withRequirement(req), parsed. */
function parseRequirement(req: unknown): PolicyRequirement {
  const policy = parsePolicy(withRequirement(req), 'p.json');
  return policy.transports.get('docker')?.get('quay.io')?.[0] as PolicyRequirement;
}

describe('parsePolicy accepts upstream and documented policies', () => {
  test('the upstream fixture policy parses with every scope and requirement', async () => {
    const policy = parsePolicy(await readFile(FIXTURE), FIXTURE);
    assert.deepEqual(policy.default, [{ type: 'reject' }]);
    assert.deepEqual(policy.transports.get('dir')?.get(''), [{ type: 'insecureAcceptAnything' }]);
    const docker = policy.transports.get('docker');
    assert.equal(docker?.size, 14);
    const hardened = docker?.get('example.com/hardened') ?? [];
    assert.deepEqual(
      hardened.map((r) => r.type),
      ['signedBy', 'signedBy', 'signedBaseLayer'],
    );
    assert.deepEqual(hardened[0], {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keyPath: '/keys/employee-gpg-keyring',
      signedIdentity: { type: 'matchRepository' },
    });
    const keyData = docker?.get('bogus/key-data-example')?.[0];
    assert.equal(keyData?.type === 'signedBy' && Buffer.from(keyData.keyData ?? []).toString(), 'nonsense');
    const production = docker?.get('example.com/production')?.[0];
    assert.deepEqual(production?.type === 'signedBy' && production.signedIdentity, { type: 'matchRepoDigestOrExact' });
    assert.deepEqual(docker?.get('private-mirror:5000/vendor-mirror')?.[0], {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keyPath: '/keys/vendor-gpg-keyring',
      signedIdentity: {
        type: 'remapIdentity',
        prefix: 'private-mirror:5000/vendor-mirror',
        signedPrefix: 'vendor.example.com',
      },
    });
    assert.deepEqual(docker?.get('registry.redhat.io/beta')?.[0], {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keyPaths: ['/keys/RH-production-signing-key-gpg-keyring', '/keys/RH-beta-signing-key-gpg-keyring'],
      signedIdentity: { type: 'matchRepoDigestOrExact' },
    });
  });

  test('a policy without transports has only the default', () => {
    const policy = parsePolicy('{"default":[{"type":"insecureAcceptAnything"}]}', 'p.json');
    assert.equal(policy.transports.size, 0);
    assert.deepEqual(policy.default, [{ type: 'insecureAcceptAnything' }]);
  });

  test('every sigstoreSigned key source parses, with Rekor keys where allowed', () => {
    const b64 = Buffer.from('key').toString('base64');
    const cases: [unknown, Partial<SigstoreSignedRequirement>][] = [
      [{ keyPath: '/k.pub' }, { keyPath: '/k.pub' }],
      [{ keyPaths: ['/a.pub', '/b.pub'] }, { keyPaths: ['/a.pub', '/b.pub'] }],
      [{ keyDatas: [b64, b64], rekorPublicKeyPath: '/r.pub' }, { rekorPublicKeyPath: '/r.pub' }],
      [
        {
          fulcio: { caPath: '/ca.pem', oidcIssuer: 'https://issuer', subjectEmail: 'a@example.com' },
          rekorPublicKeyPaths: ['/r1.pub', '/r2.pub'],
        },
        {
          fulcio: { caPath: '/ca.pem', oidcIssuer: 'https://issuer', subjectEmail: 'a@example.com' },
          rekorPublicKeyPaths: ['/r1.pub', '/r2.pub'],
        },
      ],
      [
        { pki: { caRootsPath: '/roots.pem', caIntermediatesPath: '/int.pem', subjectHostname: 'example.com' } },
        { pki: { caRootsPath: '/roots.pem', caIntermediatesPath: '/int.pem', subjectHostname: 'example.com' } },
      ],
    ];
    for (const [fields, expected] of cases) {
      const req = parseRequirement({ type: 'sigstoreSigned', ...(fields as object) });
      assert.equal(req.type, 'sigstoreSigned');
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(req[k as keyof typeof req], v, k);
      assert.deepEqual((req as SigstoreSignedRequirement).signedIdentity, { type: 'matchRepoDigestOrExact' });
    }
    const data = parseRequirement({ type: 'sigstoreSigned', keyData: b64, rekorPublicKeyDatas: [b64] });
    assert.equal(data.type === 'sigstoreSigned' && Buffer.from(data.keyData ?? []).toString(), 'key');
  });

  test('every signedIdentity type parses', () => {
    for (const identity of [
      { type: 'matchRepoDigestOrExact' },
      { type: 'matchExact' },
      { type: 'matchRepository' },
      { type: 'exactReference', dockerReference: 'docker.io/library/busybox:latest' },
      { type: 'exactRepository', dockerRepository: 'quay.io/org/app' },
      {
        type: 'remapIdentity',
        prefix: 'example.com:80/ns1/repo.with.dots-dashes_underscores',
        signedPrefix: 'localhost',
      },
    ]) {
      const req = parseRequirement({ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', signedIdentity: identity });
      assert.deepEqual(req.type === 'signedBy' && req.signedIdentity, identity);
    }
  });
});

describe('parsePolicy refuses invalid policies with the file, the JSON path and the rule', () => {
  const signedBy = { type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k' };
  const sig = { type: 'sigstoreSigned', keyPath: '/k' };
  const fulcio = { caPath: '/ca', oidcIssuer: 'https://i', subjectEmail: 'a@b' };
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const cases: [name: string, text: string, jsonPath: string | undefined, rule: RegExp][] = [
    ['not JSON', '{"default": [', undefined, /not valid JSON at line 1/],
    ['a top-level array', '[]', '(top level)', /must be an object/],
    ['a typo in a top-level field', '{"default":[{"type":"reject"}],"transport":{}}', 'transport', /unknown field/],
    ['no default', '{"transports":{}}', 'default', /default policy is missing/],
    ['an empty default list', '{"default":[]}', 'default', /must not be empty/],
    [
      'an empty scope list',
      '{"default":[{"type":"reject"}],"transports":{"docker":{"quay.io":[]}}}',
      'transports.docker["quay.io"]',
      /must not be empty/,
    ],
    [
      'a duplicate scope',
      '{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":[{"type":"reject"}],"a.io":[{"type":"reject"}]}}}',
      'transports.docker["a.io"]',
      /duplicate field/,
    ],
    [
      'a duplicate field in a requirement',
      withRequirement(signedBy).replace('"keyPath":"/k"', '"keyPath":"/k","keyPath":"/other"'),
      'transports.docker["quay.io"][0].keyPath',
      /duplicate field/,
    ],
    [
      'a duplicate top-level default',
      '{"default":[{"type":"reject"}],"default":[{"type":"insecureAcceptAnything"}]}',
      'default',
      /duplicate field/,
    ],
    [
      'a typo in keyType',
      withRequirement({ ...signedBy, keyTyp: 'GPGKeys' }),
      'transports.docker["quay.io"][0].keyTyp',
      /unknown field/,
    ],
    [
      'no keyType',
      withRequirement({ type: 'signedBy', keyPath: '/k' }),
      'transports.docker["quay.io"][0].keyType',
      /missing/,
    ],
    [
      'an unknown keyType',
      withRequirement({ ...signedBy, keyType: 'PGP' }),
      'transports.docker["quay.io"][0].keyType',
      /unrecognized keyType "PGP"/,
    ],
    [
      'both keyPath and keyData',
      withRequirement({ ...signedBy, keyData: 'bm9uc2Vuc2U=' }),
      'transports.docker["quay.io"][0]',
      /exactly one of keyPath, keyPaths, keyData must be specified; keyPath and keyData are present/,
    ],
    [
      'no key at all',
      withRequirement({ type: 'signedBy', keyType: 'GPGKeys' }),
      'transports.docker["quay.io"][0]',
      /none is present/,
    ],
    [
      'keyData not base64',
      withRequirement({ type: 'signedBy', keyType: 'GPGKeys', keyData: 'not base64!' }),
      'transports.docker["quay.io"][0].keyData',
      /not valid base64/,
    ],
    [
      'an unknown type',
      withRequirement({ type: 'signedByMe' }),
      'transports.docker["quay.io"][0].type',
      /unknown requirement type "signedByMe"/,
    ],
    ['a missing type', withRequirement({ keyPath: '/k' }), 'transports.docker["quay.io"][0].type', /missing/],
    [
      'a number as type',
      withRequirement({ type: 7 }),
      'transports.docker["quay.io"][0].type',
      /must be a string, not the number 7/,
    ],
    [
      'an extra field on reject',
      withRequirement({ type: 'reject', keyPath: '/k' }),
      'transports.docker["quay.io"][0].keyPath',
      /unknown field/,
    ],
    [
      'keyPath as a number',
      withRequirement({ ...signedBy, keyPath: 1 }),
      'transports.docker["quay.io"][0].keyPath',
      /must be a string/,
    ],
    [
      'keyPaths empty',
      withRequirement({ type: 'signedBy', keyType: 'GPGKeys', keyPaths: [] }),
      'transports.docker["quay.io"][0].keyPaths',
      /contains no entries/,
    ],
    [
      'keyPaths with a number',
      withRequirement({ type: 'signedBy', keyType: 'GPGKeys', keyPaths: ['/a', 2] }),
      'transports.docker["quay.io"][0].keyPaths[1]',
      /must be a string/,
    ],
    [
      'a requirement that is a string',
      withRequirement('reject'),
      'transports.docker["quay.io"][0]',
      /must be an object/,
    ],
    [
      'a scope that is an object',
      '{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":{}}}}',
      'transports.docker["a.io"]',
      /must be an array/,
    ],
    [
      'a 100 KiB keyPath',
      withRequirement({ ...signedBy, keyPath: `/${'a'.repeat(100 * 1024)}` }),
      'transports.docker["quay.io"][0].keyPath',
      /longer than 4096 characters/,
    ],
    [
      'a 100 KiB type',
      withRequirement({ type: 'x'.repeat(100 * 1024) }),
      'transports.docker["quay.io"][0].type',
      /longer than 4096/,
    ],
    [
      'a duplicate written with an escape',
      '{"default":[{"type":"reject"}],"defa\\u0075lt":[{"type":"reject"}]}',
      'default',
      /duplicate field/,
    ],
    [
      'a 100 KiB field name',
      withRequirement({ type: 'reject', ['k'.repeat(100 * 1024)]: 1 }),
      `transports.docker["quay.io"][0]["${'k'.repeat(200)}…"]`,
      /unknown field/,
    ],
    [
      'a field name with control characters',
      withRequirement({ type: 'reject', 'a\u2028\u0007': 1 }),
      'transports.docker["quay.io"][0]["a\\u2028\\u0007"]',
      /unknown field/,
    ],
    ['deep nesting', `{"default":[{"type":"reject"}],"transports":${deep}}`, undefined, /nested deeper than/],
    [
      'an unknown signedIdentity type',
      withRequirement({ ...signedBy, signedIdentity: { type: 'matchAll' } }),
      'transports.docker["quay.io"][0].signedIdentity.type',
      /unknown signedIdentity type "matchAll"/,
    ],
    [
      'a typo in signedIdentity',
      withRequirement({ ...signedBy, signedIdentity: { type: 'exactReference', dockerRef: 'a:b' } }),
      'transports.docker["quay.io"][0].signedIdentity.dockerRef',
      /unknown field/,
    ],
    [
      'exactReference without a tag',
      withRequirement({ ...signedBy, signedIdentity: { type: 'exactReference', dockerReference: 'busybox' } }),
      'transports.docker["quay.io"][0].signedIdentity.dockerReference',
      /neither a tag nor a digest/,
    ],
    [
      'exactRepository invalid',
      withRequirement({ ...signedBy, signedIdentity: { type: 'exactRepository', dockerRepository: 'UPPER/case' } }),
      'transports.docker["quay.io"][0].signedIdentity.dockerRepository',
      /not a valid Docker reference/,
    ],
    [
      'remapIdentity with a tag in the prefix',
      withRequirement({
        ...signedBy,
        signedIdentity: { type: 'remapIdentity', prefix: 'example.com/repo:tag', signedPrefix: 'a.io' },
      }),
      'transports.docker["quay.io"][0].signedIdentity.prefix',
      /not a host\[:port\]/,
    ],
    [
      'remapIdentity without signedPrefix',
      withRequirement({ ...signedBy, signedIdentity: { type: 'remapIdentity', prefix: 'a.io' } }),
      'transports.docker["quay.io"][0].signedIdentity.signedPrefix',
      /not specified/,
    ],
    [
      'signedBaseLayer without identity',
      withRequirement({ type: 'signedBaseLayer' }),
      'transports.docker["quay.io"][0].baseLayerIdentity',
      /not specified/,
    ],
    [
      'sigstoreSigned with keyPath and fulcio',
      withRequirement({ ...sig, fulcio, rekorPublicKeyPath: '/r' }),
      'transports.docker["quay.io"][0]',
      /keyPath and fulcio are present/,
    ],
    [
      'sigstoreSigned fulcio without Rekor',
      withRequirement({ type: 'sigstoreSigned', fulcio }),
      'transports.docker["quay.io"][0]',
      /must be specified when fulcio is used/,
    ],
    [
      'sigstoreSigned with two Rekor sources',
      withRequirement({ ...sig, rekorPublicKeyPath: '/r', rekorPublicKeyData: 'cg==' }),
      'transports.docker["quay.io"][0]',
      /at most one of/,
    ],
    [
      'sigstoreSigned pki with Rekor',
      withRequirement({
        type: 'sigstoreSigned',
        pki: { caRootsPath: '/r', subjectEmail: 'a@b' },
        rekorPublicKeyPath: '/r',
      }),
      'transports.docker["quay.io"][0].rekorPublicKeyPath',
      /not supported with pki/,
    ],
    [
      'fulcio without oidcIssuer',
      withRequirement({
        type: 'sigstoreSigned',
        fulcio: { caPath: '/ca', subjectEmail: 'a@b' },
        rekorPublicKeyPath: '/r',
      }),
      'transports.docker["quay.io"][0].fulcio.oidcIssuer',
      /not specified/,
    ],
    [
      'fulcio with caPath and caData',
      withRequirement({ type: 'sigstoreSigned', fulcio: { ...fulcio, caData: 'cg==' }, rekorPublicKeyPath: '/r' }),
      'transports.docker["quay.io"][0].fulcio',
      /caPath and caData are present/,
    ],
    [
      'pki without a subject',
      withRequirement({ type: 'sigstoreSigned', pki: { caRootsPath: '/r' } }),
      'transports.docker["quay.io"][0].pki',
      /at least one of subjectEmail, subjectHostname/,
    ],
    [
      'pki with both intermediates',
      withRequirement({
        type: 'sigstoreSigned',
        pki: { caRootsPath: '/r', caIntermediatesPath: '/i', caIntermediatesData: 'cg==', subjectEmail: 'a@b' },
      }),
      'transports.docker["quay.io"][0].pki',
      /cannot be used together/,
    ],
    [
      'a typo in pki',
      withRequirement({ type: 'sigstoreSigned', pki: { caRootPath: '/r', subjectEmail: 'a@b' } }),
      'transports.docker["quay.io"][0].pki.caRootPath',
      /unknown field/,
    ],
    [
      'a relative dir scope',
      '{"default":[{"type":"reject"}],"transports":{"dir":{"images/x":[{"type":"reject"}]}}}',
      'transports.dir["images/x"]',
      /absolute path/,
    ],
    [
      'a non-canonical oci scope',
      '{"default":[{"type":"reject"}],"transports":{"oci":{"/a/../b/":[{"type":"reject"}]}}}',
      'transports.oci["/a/../b/"]',
      /canonical form \(did you mean "\/b"\?\)/,
    ],
    [
      '"/" as a dir scope',
      '{"default":[{"type":"reject"}],"transports":{"dir":{"/":[{"type":"reject"}]}}}',
      'transports.dir["/"]',
      /transport default ""/,
    ],
    [
      'a scope in docker-archive',
      '{"default":[{"type":"reject"}],"transports":{"docker-archive":{"/a.tar":[{"type":"reject"}]}}}',
      'transports["docker-archive"]["/a.tar"]',
      /no scope except/,
    ],
    [
      'an image ID as a docker-daemon scope',
      `{"default":[{"type":"reject"}],"transports":{"docker-daemon":{"sha256:${'a'.repeat(64)}":[{"type":"reject"}]}}}`,
      `transports["docker-daemon"]["sha256:${'a'.repeat(64)}"]`,
      /algo:digest value as a namespace/,
    ],
  ];
  for (const [name, text, jsonPath, rule] of cases) {
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parsePolicy(text, '/etc/containers/policy.json'),
        (e: unknown) => {
          assert.ok(isFerryError(e, 'INVALID_POLICY'), String(e));
          assert.match(e.message, /^invalid policy in "\/etc\/containers\/policy.json"/);
          assert.equal(e.details.jsonPath, jsonPath);
          assert.match(e.message, rule);
          assert.ok(e.message.length < 2000, 'the message stays short');
          return true;
        },
      );
    });
  }

  test('docker-daemon scopes are image names and namespaces, as docker:', () => {
    const policy = parsePolicy(
      '{"default":[{"type":"reject"}],"transports":{"docker-daemon":{"quay.io/org":[{"type":"insecureAcceptAnything"}]}}}',
      'p.json',
    );
    assert.ok(policy.transports.get('docker-daemon')?.has('quay.io/org'));
  });

  test('scopes of transports Ferry does not know are kept', () => {
    const policy = parsePolicy(
      '{"default":[{"type":"reject"}],"transports":{"atomic":{"any thing":[{"type":"reject"}]}}}',
      'p.json',
    );
    assert.ok(policy.transports.get('atomic')?.has('any thing'));
  });
});

describe('loadPolicy', () => {
  test('the explicit path is used alone', async () => {
    const policy = await loadPolicy({ path: FIXTURE, env: { HOME: '/nonexistent' } });
    assert.equal(policy.path, FIXTURE);
    assert.deepEqual(policy.default, [{ type: 'reject' }]);
  });

  test('the user file comes before the system file', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, '.config', 'containers'), { recursive: true });
      const user = join(dir, '.config', 'containers', 'policy.json');
      await writeFile(user, '{"default":[{"type":"insecureAcceptAnything"}]}');
      const policy = await loadPolicy({ env: { HOME: dir } });
      assert.equal(policy.path, user);
      assert.deepEqual(policy.default, [{ type: 'insecureAcceptAnything' }]);
    });
  });

  test('the candidates are the user file then the system file', () => {
    assert.deepEqual(policyPathCandidates({ env: { HOME: '/home/u' } }), [
      '/home/u/.config/containers/policy.json',
      SYSTEM_POLICY_PATH,
    ]);
    assert.deepEqual(policyPathCandidates({ path: '/p.json', env: { HOME: '/home/u' } }), ['/p.json']);
  });

  test('a missing explicit file is POLICY_NOT_FOUND naming it', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'missing.json');
      await assert.rejects(loadPolicy({ path }), (e: unknown) => {
        assert.ok(isFerryError(e, 'POLICY_NOT_FOUND'));
        assert.deepEqual(e.details.tried, [path]);
        assert.ok(e.message.includes(path));
        return true;
      });
    });
  });

  test('an invalid file found is INVALID_POLICY naming it', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'policy.json');
      await writeFile(path, '{"default":[{"type":"rejekt"}]}');
      await assert.rejects(loadPolicy({ path }), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_POLICY'));
        assert.equal(e.details.path, path);
        assert.equal(e.details.jsonPath, 'default[0].type');
        return true;
      });
    });
  });
});

describe('names like Object.prototype members are ordinary names', () => {
  const PROTO_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
  test('as transports and scopes they are kept, and absent ones are not found', async () => {
    for (const key of PROTO_KEYS) {
      const text = `{"default":[{"type":"reject"}],"transports":{"${key}":{"${key}":[{"type":"insecureAcceptAnything"}]}}}`;
      const policy = parsePolicy(text, 'p.json');
      assert.deepEqual([...policy.transports.keys()], [key]);
      assert.deepEqual(policy.transports.get(key)?.get(key), [{ type: 'insecureAcceptAnything' }]);
      const empty = parsePolicy('{"default":[{"type":"reject"}]}', 'p.json');
      assert.equal(empty.transports.get(key), undefined);
    }
  });
  test('as fields they are unknown fields', () => {
    for (const key of PROTO_KEYS) {
      assert.throws(
        () => parsePolicy(`{"default":[{"type":"reject","${key}":1}]}`, 'p.json'),
        (e: unknown) => isFerryError(e, 'INVALID_POLICY') && e.details.jsonPath === `default[0].${key}`,
      );
    }
  });
});

test('loadPolicy refuses a directory given as the policy, naming it', async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(
      loadPolicy({ path: dir }),
      (e: unknown) => isFerryError(e, 'INVALID_POLICY') && e.details.path === dir && e.message.includes('EISDIR'),
    );
  });
});
