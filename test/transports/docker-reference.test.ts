import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { parseDockerReference } from '../../src/reference/reference.js';
import { containersStorageTransport } from '../../src/transports/containers-storage/index.js';
import { DockerImageReference, dockerTransport } from '../../src/transports/docker/index.js';
import { getTransport, parseImageReference, registerTransport } from '../../src/transports/registry.js';

const SHA256 = 'sha256:e9087d0b20d80d3e12bc8530d883d7ad9c1eb3ebc5cb61824a2b460816503797';

registerTransport(dockerTransport);
registerTransport(containersStorageTransport);

describe('docker transport references', () => {
  const valid: Array<[string, string]> = [
    ['//fedora', 'docker://docker.io/library/fedora:latest'],
    ['//fedora:31', 'docker://docker.io/library/fedora:31'],
    ['//docker.io/library/fedora', 'docker://docker.io/library/fedora:latest'],
    ['//index.docker.io/user/app:v1', 'docker://docker.io/user/app:v1'],
    ['//quay.io/org/app:1.2', 'docker://quay.io/org/app:1.2'],
    ['//localhost:5000/ns/app', 'docker://localhost:5000/ns/app:latest'],
    ['//127.0.0.1:5000/app:x', 'docker://127.0.0.1:5000/app:x'],
    [`//busybox@${SHA256}`, `docker://docker.io/library/busybox@${SHA256}`],
    [`//quay.io/a/b/c@${SHA256}`, `docker://quay.io/a/b/c@${SHA256}`],
  ];
  for (const [within, expected] of valid) {
    test(`parses docker:${within} as ${expected}`, () => {
      const ref = dockerTransport.parseReference(within);
      assert.ok(ref instanceof DockerImageReference);
      assert.equal(ref.transport, dockerTransport);
      assert.equal(ref.toString(), expected);
      assert.equal(ref.stringWithinTransport(), expected.slice('docker:'.length));
      // Round trip through the transport's own text.
      const again = dockerTransport.parseReference(ref.stringWithinTransport());
      assert.equal(again.toString(), ref.toString());
      assert.equal(again.dockerReference()?.toString(), ref.dockerReference()?.toString());
    });
  }

  test('dockerReference() returns the normalised reference with the default tag', () => {
    const ref = dockerTransport.parseReference('//fedora');
    const named = ref.dockerReference();
    assert.ok(named);
    assert.equal(named.name, 'docker.io/library/fedora');
    assert.equal(named.tag, 'latest');
    assert.equal(named.digest, undefined);
    assert.equal(named.familiar, 'fedora:latest');
  });

  test('parses through the transport registry', () => {
    assert.equal(getTransport('docker'), dockerTransport);
    assert.equal(parseImageReference('docker://alpine:3.20').toString(), 'docker://docker.io/library/alpine:3.20');
  });

  test('rejects a reference without the leading //', () => {
    assert.throws(
      () => parseImageReference('docker:fedora'),
      (e: unknown) =>
        isFerryError(e, 'INVALID_REFERENCE') &&
        e.message === 'invalid reference "docker:fedora": docker: image reference must begin with //',
    );
    assert.throws(() => dockerTransport.parseReference('/fedora'), /must begin with \/\//);
    assert.throws(() => dockerTransport.parseReference(''), /must begin with \/\//);
  });

  test('rejects a reference with both a tag and a digest', () => {
    assert.throws(
      () => dockerTransport.parseReference(`//busybox:latest@${SHA256}`),
      (e: unknown) =>
        isFerryError(e, 'INVALID_REFERENCE') &&
        e.message ===
          `invalid reference "docker://busybox:latest@${SHA256}": docker: references with both a tag and digest are currently not supported`,
    );
    assert.throws(() => new DockerImageReference(parseDockerReference(`a:1@${SHA256}`)), /both a tag and digest/);
  });

  test('rejects an invalid Docker reference after the //', () => {
    for (const within of ['//', '//Fedora', '//fedora:', '///fedora', '//fedora@sha256:abc']) {
      assert.throws(
        () => dockerTransport.parseReference(within),
        (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'),
        within,
      );
    }
  });

  test('policy identity is name:tag or name@digest', () => {
    const tagged = new DockerImageReference(parseDockerReference('quay.io/org/app'));
    assert.equal(tagged.policyConfigurationIdentity(), 'quay.io/org/app:latest');
    const digested = new DockerImageReference(parseDockerReference(`app@${SHA256}`));
    assert.equal(digested.policyConfigurationIdentity(), `docker.io/library/app@${SHA256}`);
  });

  test('policy namespaces go from the repository up to the host, then host wildcards without the port', () => {
    const ref = new DockerImageReference(parseDockerReference('registry.example.com:5000/ns/sub/app:1'));
    assert.deepEqual(ref.policyConfigurationNamespaces(), [
      'registry.example.com:5000/ns/sub/app',
      'registry.example.com:5000/ns/sub',
      'registry.example.com:5000/ns',
      'registry.example.com:5000',
      '*.example.com',
      '*.com',
    ]);
    const hub = new DockerImageReference(parseDockerReference('busybox'));
    assert.deepEqual(hub.policyConfigurationNamespaces(), [
      'docker.io/library/busybox',
      'docker.io/library',
      'docker.io',
      '*.io',
    ]);
    const local = new DockerImageReference(parseDockerReference('localhost/app'));
    assert.deepEqual(local.policyConfigurationNamespaces(), ['localhost/app', 'localhost']);
    const v6 = new DockerImageReference(parseDockerReference('[::1]:5000/app'));
    assert.deepEqual(v6.policyConfigurationNamespaces(), ['[::1]:5000/app', '[::1]:5000']);
  });
});

describe('containers-storage transport', () => {
  test('is registered under its name and parses a name as skopeo does (docker.io, :latest)', () => {
    assert.equal(containersStorageTransport.name, 'containers-storage');
    assert.equal(getTransport('containers-storage'), containersStorageTransport);
    const ref = parseImageReference('containers-storage:fedora');
    assert.equal(ref.toString(), 'containers-storage:docker.io/library/fedora:latest');
    assert.equal(ref.dockerReference()?.toString(), 'docker.io/library/fedora:latest');
  });
});
