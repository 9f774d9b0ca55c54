/**
 * Every transport's policy.json scopes, as containers/image defines them per transport:
 * PolicyConfigurationIdentity and PolicyConfigurationNamespaces.
 */
import assert from 'node:assert/strict';
import { mkdir, realpath, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseImageReference, parsePolicy, policyRequirementsForReference } from '../../src/index.js';
import { makeTempDir } from '../helpers/tmp.js';

describe('policy.json scopes of each transport', () => {
  let dir = '';
  before(async () => {
    // The temp dir itself may sit behind a symlink (macOS /tmp): compare with its resolved path.
    dir = await realpath(await makeTempDir('ferry-scopes-'));
    await mkdir(path.join(dir, 'real', 'images'), { recursive: true });
    await symlink(path.join(dir, 'real'), path.join(dir, 'link'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const parents = (p: string): string[] => {
    const out: string[] = [];
    for (let q = path.dirname(p); q !== '/'; q = path.dirname(q)) out.push(q);
    return out;
  };

  test('dir: the resolved directory; namespaces its parents, nearest first, never "/"', () => {
    const ref = parseImageReference(`dir:${dir}/link/images/app`);
    const resolved = path.join(dir, 'real', 'images', 'app');
    assert.equal(ref.policyConfigurationIdentity(), resolved);
    assert.deepEqual(ref.policyConfigurationNamespaces(), parents(resolved));
  });

  test('a missing directory resolves through its parent; a missing parent stays lexical', () => {
    assert.equal(
      parseImageReference(`dir:${dir}/link/new`).policyConfigurationIdentity(),
      path.join(dir, 'real', 'new'),
    );
    assert.equal(
      parseImageReference(`dir:${dir}/link/no/such`).policyConfigurationIdentity(),
      path.join(dir, 'link', 'no', 'such'),
    );
  });

  test('oci: the resolved layout directory without the image name; namespaces it, then its parents', () => {
    for (const within of [`${dir}/link/images`, `${dir}/link/images:app`, `${dir}/link/images:@0`]) {
      const ref = parseImageReference(`oci:${within}`);
      const resolved = path.join(dir, 'real', 'images');
      assert.equal(ref.policyConfigurationIdentity(), resolved, within);
      assert.deepEqual(ref.policyConfigurationNamespaces(), [resolved, ...parents(resolved)], within);
    }
  });

  test('oci-archive: the resolved archive file; namespaces it, then its parents', () => {
    const ref = parseImageReference(`oci-archive:${dir}/link/images/app.tar:v1`);
    const resolved = path.join(dir, 'real', 'images', 'app.tar');
    assert.equal(ref.policyConfigurationIdentity(), resolved);
    assert.deepEqual(ref.policyConfigurationNamespaces(), [resolved, ...parents(resolved)]);
  });

  test('docker-archive: and tarball: have no scope but the transport default', () => {
    for (const name of [`docker-archive:${dir}/app.tar:example.com/app:1`, `tarball:${dir}/layer.tar`]) {
      const ref = parseImageReference(name);
      assert.equal(ref.policyConfigurationIdentity(), '', name);
      assert.deepEqual(ref.policyConfigurationNamespaces(), [], name);
    }
  });

  test('docker: the reference, its repository and parents, then *.domain wildcards', () => {
    const ref = parseImageReference('docker://registry.example.com:5000/ns/app:1');
    assert.equal(ref.policyConfigurationIdentity(), 'registry.example.com:5000/ns/app:1');
    assert.deepEqual(ref.policyConfigurationNamespaces(), [
      'registry.example.com:5000/ns/app',
      'registry.example.com:5000/ns',
      'registry.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
  });

  test('the most specific scope a policy names decides, through a symlinked path too', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          dir: { [path.join(dir, 'real')]: [{ type: 'insecureAcceptAnything' }] },
          oci: { [path.join(dir, 'real', 'images')]: [{ type: 'insecureAcceptAnything' }] },
          'docker-archive': { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
      'policy.json',
    );
    const scope = (name: string) => policyRequirementsForReference(policy, parseImageReference(name)).scope;
    assert.equal(scope(`dir:${dir}/link/images/app`), `transports["dir"][${JSON.stringify(path.join(dir, 'real'))}]`);
    assert.equal(
      scope(`oci:${dir}/link/images:app`),
      `transports["oci"][${JSON.stringify(path.join(dir, 'real', 'images'))}]`,
    );
    assert.equal(scope(`dir:${dir}/elsewhere`), 'default');
    assert.equal(scope(`docker-archive:${dir}/a.tar`), 'transports["docker-archive"][""]');
  });
});
