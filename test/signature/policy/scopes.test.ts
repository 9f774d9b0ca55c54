import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDockerReference } from '../../../src/reference/reference.js';
import { parsePolicy } from '../../../src/signature/policy/parse.js';
import {
  dockerPolicyNamespaces,
  pathPolicyNamespaces,
  policyRequirementsFor,
  policyRequirementsForReference,
} from '../../../src/signature/policy/scopes.js';
import { parseDockerImageReference } from '../../../src/transports/docker/index.js';
import type { Policy } from '../../../src/signature/policy/types.js';

/** A policy whose every scope holds a reject requirement tagged by keyPath = the scope, to see which one won. */
function policyWithScopes(transports: Record<string, string[]>): Policy {
  const t: Record<string, Record<string, unknown[]>> = {};
  for (const [name, scopes] of Object.entries(transports)) {
    t[name] = Object.fromEntries(
      scopes.map((s) => [s, [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: `/scope/${name}/${s}` }]]),
    );
  }
  return parsePolicy(JSON.stringify({ default: [{ type: 'reject' }], transports: t }), 'p.json');
}

function chosenDocker(policy: Policy, reference: string): string {
  const ref = parseDockerReference(reference);
  const choice = policyRequirementsFor(policy, 'docker', ref.toString(), dockerPolicyNamespaces(ref.name));
  const req = choice.requirements[0];
  return req?.type === 'signedBy' ? (req.keyPath as string).replace('/scope/docker/', '') : choice.scope;
}

describe('docker scopes: the most specific one wins', () => {
  const all = [
    'registry.example.com/ns1/ns2/repo:tag',
    'registry.example.com/ns1/ns2/repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    'registry.example.com/ns1/ns2/repo',
    'registry.example.com/ns1/ns2',
    'registry.example.com/ns1',
    'registry.example.com',
    '*.example.com',
    '*.com',
    '',
  ];
  const image = 'registry.example.com/ns1/ns2/repo:tag';
  for (let i = 0; i < all.length; i++) {
    const present = all.slice(i);
    const expected = present[0] === all[1] ? all[2] : present[0];
    test(`with scopes from ${JSON.stringify(all[i])} down, ${image} uses ${JSON.stringify(expected)}`, () => {
      assert.equal(chosenDocker(policyWithScopes({ docker: present }), image), expected);
    });
  }

  test('the digest scope applies to the digest reference, not to a tag', () => {
    const policy = policyWithScopes({ docker: all });
    assert.equal(chosenDocker(policy, all[1] as string), all[1]);
  });

  test('with no docker scope matching, the global default applies', () => {
    assert.equal(chosenDocker(policyWithScopes({ docker: ['example.org'], dir: [''] }), image), 'default');
  });

  test('wildcards match parent domains only, nearest first, never the port', () => {
    const policy = policyWithScopes({ docker: ['*.access.redhat.com', '*.redhat.com', '*.com'] });
    assert.equal(chosenDocker(policy, 'registry.access.redhat.com/rhel7/rhel:7'), '*.access.redhat.com');
    assert.equal(chosenDocker(policy, 'registry.redhat.io/rhel:7'), 'default');
    assert.equal(chosenDocker(policy, 'quay.redhat.com:5000/a/b:1'), '*.redhat.com');
    assert.equal(chosenDocker(policy, 'access.redhat.com/a:1'), '*.redhat.com');
    assert.equal(chosenDocker(policy, 'localhost:5000/a:1'), 'default');
  });

  test('docker.io short names are scoped by their normalised names', () => {
    const policy = policyWithScopes({ docker: ['docker.io/library', '*.io'] });
    assert.equal(chosenDocker(policy, 'busybox'), 'docker.io/library');
    assert.equal(chosenDocker(policy, 'user/app:1'), '*.io');
  });

  test('the upstream fixture scopes choose as containers-policy.json(5) describes', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: {
            'example.com/playground': [{ type: 'insecureAcceptAnything' }],
            'example.com': [{ type: 'reject' }],
          },
        },
      }),
      'p.json',
    );
    const ref = parseDockerReference('example.com/playground/app:1');
    const choice = policyRequirementsFor(policy, 'docker', ref.toString(), dockerPolicyNamespaces(ref.name));
    assert.deepEqual(choice.requirements, [{ type: 'insecureAcceptAnything' }]);
    assert.equal(choice.scope, 'transports["docker"]["example.com/playground"]');
  });

  test('namespaces of a name list the repository, its parents, the host and the wildcards', () => {
    assert.deepEqual(dockerPolicyNamespaces('registry.example.com:5000/ns/repo'), [
      'registry.example.com:5000/ns/repo',
      'registry.example.com:5000/ns',
      'registry.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
    assert.deepEqual(dockerPolicyNamespaces('[::1]:5000/repo'), ['[::1]:5000/repo', '[::1]:5000']);
  });
});

describe('path transport scopes', () => {
  test('namespaces of a path are its parents, nearest first, without "/"', () => {
    assert.deepEqual(pathPolicyNamespaces('/var/lib/images/app'), ['/var/lib/images', '/var/lib', '/var']);
    assert.deepEqual(pathPolicyNamespaces('/app'), []);
  });

  const scopes = ['/var/lib/images/app', '/var/lib/images', '/var', ''];
  for (const transport of ['dir', 'oci', 'oci-archive']) {
    for (let i = 0; i < scopes.length; i++) {
      const present = scopes.slice(i);
      test(`${transport}: with scopes from ${JSON.stringify(scopes[i])} down, the nearest wins`, () => {
        const policy = policyWithScopes({ [transport]: present });
        const path = '/var/lib/images/app';
        const choice = policyRequirementsFor(policy, transport, path, pathPolicyNamespaces(path));
        const req = choice.requirements[0];
        assert.equal(req?.type === 'signedBy' && req.keyPath, `/scope/${transport}/${present[0]}`);
      });
    }
  }

  test('a sibling directory with a common string prefix does not match', () => {
    const policy = policyWithScopes({ dir: ['/var/lib/img'] });
    const path = '/var/lib/images/app';
    assert.equal(policyRequirementsFor(policy, 'dir', path, pathPolicyNamespaces(path)).scope, 'default');
  });

  test('a transport the policy does not name uses the global default', () => {
    const policy = policyWithScopes({ dir: [''] });
    assert.equal(policyRequirementsFor(policy, 'oci', '/a/b', pathPolicyNamespaces('/a/b')).scope, 'default');
  });
});

describe('scopes from a transport reference', () => {
  for (const name of [
    'registry.example.com:5000/ns/repo:tag',
    'busybox',
    `quay.io/a/b@sha256:${'0'.repeat(64)}`,
    'localhost/app:1',
    '[::1]:5000/app:1',
  ]) {
    test(`the docker transport's namespaces for ${name} are dockerPolicyNamespaces of its name`, () => {
      const ref = parseDockerImageReference(`//${name}`);
      assert.deepEqual(ref.policyConfigurationNamespaces(), dockerPolicyNamespaces(ref.dockerReference().name));
    });
  }

  test('policyRequirementsForReference uses the reference transport, identity and namespaces', () => {
    const policy = policyWithScopes({ docker: ['quay.io/org', 'quay.io/org/app:1'] });
    const pick = (name: string) => {
      const req = policyRequirementsForReference(policy, parseDockerImageReference(`//${name}`)).requirements[0];
      return req?.type === 'signedBy' ? req.keyPath : undefined;
    };
    assert.equal(pick('quay.io/org/app:1'), '/scope/docker/quay.io/org/app:1');
    assert.equal(pick('quay.io/org/app:2'), '/scope/docker/quay.io/org');
    assert.equal(pick('quay.io/other/app:1'), undefined);
  });
});
