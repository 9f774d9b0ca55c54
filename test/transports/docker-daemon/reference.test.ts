import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parsePolicy } from '../../../src/signature/policy/parse.js';
import { policyRequirementsForReference } from '../../../src/signature/policy/scopes.js';
import { DEFAULT_DAEMON_HOST, daemonHostOf, parseDaemonHost } from '../../../src/transports/docker-daemon/client.js';
import { parseDockerDaemonReference } from '../../../src/transports/docker-daemon/index.js';

const ID = `sha256:${'ab'.repeat(32)}`;
const invalidRef = (e: unknown) => isFerryError(e, 'INVALID_REFERENCE');

describe('docker-daemon: references (containers/image daemon ParseReference)', () => {
  it('a name with a tag or a digest is kept in familiar form and normalised as docker does', () => {
    const tagged = parseDockerDaemonReference('busybox:1.36');
    assert.equal(tagged.stringWithinTransport(), 'busybox:1.36');
    assert.equal(tagged.toString(), 'docker-daemon:busybox:1.36');
    assert.equal(tagged.dockerReference()?.toString(), 'docker.io/library/busybox:1.36');
    const digested = parseDockerDaemonReference(`quay.io/org/app@${ID}`);
    assert.equal(digested.stringWithinTransport(), `quay.io/org/app@${ID}`);
    assert.equal(parseDockerDaemonReference('docker.io/library/busybox:1').stringWithinTransport(), 'busybox:1');
  });

  it('a full sha256 digest is an image ID, with no name', () => {
    const ref = parseDockerDaemonReference(ID);
    assert.equal(ref.id, ID);
    assert.equal(ref.dockerReference(), undefined);
    assert.equal(ref.stringWithinTransport(), ID);
    assert.equal(parseDockerDaemonReference(ref.stringWithinTransport()).id, ID);
  });

  it('refuses a bare name, a tag with a digest, short or bare IDs, other algorithms, `@ID` and the sha256 repository', () => {
    for (const bad of [
      '',
      'busybox',
      `busybox:1@${ID}`,
      'sha256:abcdef',
      'ab'.repeat(32),
      `sha512:${'ab'.repeat(64)}`,
      `@${ID}`,
      'sha256',
      'UPPER:tag',
    ]) {
      assert.throws(() => parseDockerDaemonReference(bad), invalidRef, bad);
    }
  });

  it('policy scopes: a name scopes as docker: does, an image ID only by the transport default', () => {
    const named = parseDockerDaemonReference('quay.io/org/app:1');
    assert.equal(named.policyConfigurationIdentity(), 'quay.io/org/app:1');
    assert.deepEqual(named.policyConfigurationNamespaces(), ['quay.io/org/app', 'quay.io/org', 'quay.io', '*.io']);
    const byID = parseDockerDaemonReference(ID);
    assert.equal(byID.policyConfigurationIdentity(), '');
    assert.deepEqual(byID.policyConfigurationNamespaces(), []);
  });

  it('policy.json: a named image takes its namespace scope, an image ID the transport default', () => {
    const policy = parsePolicy(
      '{"default":[{"type":"reject"}],"transports":{"docker-daemon":{"quay.io/org":[{"type":"insecureAcceptAnything"}],"":[{"type":"reject"}]}}}',
      'policy.json',
    );
    assert.equal(
      policyRequirementsForReference(policy, parseDockerDaemonReference('quay.io/org/app:1')).scope,
      'transports["docker-daemon"]["quay.io/org"]',
    );
    assert.equal(
      policyRequirementsForReference(policy, parseDockerDaemonReference(ID)).scope,
      'transports["docker-daemon"][""]',
    );
  });

  it('a destination needs NAME:TAG: an ID or a digest is refused before any daemon is contacted', async () => {
    for (const within of [ID, `busybox@${ID}`]) {
      await assert.rejects(
        parseDockerDaemonReference(within).newImageDestination({ daemonHost: 'unix:///nonexistent/docker.sock' }),
        (e: unknown) => invalidRef(e) && /must be NAME:TAG/.test((e as Error).message),
      );
    }
  });

  it('deleting is not supported', async () => {
    await assert.rejects(parseDockerDaemonReference('busybox:1').deleteImage(), (e: unknown) =>
      isFerryError(e, 'UNSUPPORTED_OPERATION'),
    );
  });
});

describe('docker-daemon: hosts (docker client ParseHostURL, containers/image TLS choice)', () => {
  it('unix sockets, tcp:// and https:// (TLS) and http:// (plain) with their ports and base paths', () => {
    assert.deepEqual(parseDaemonHost('unix:///run/podman/podman.sock'), {
      kind: 'unix',
      host: 'unix:///run/podman/podman.sock',
      socketPath: '/run/podman/podman.sock',
    });
    assert.deepEqual(parseDaemonHost('tcp://10.0.0.1:2376'), {
      kind: 'https',
      host: 'tcp://10.0.0.1:2376',
      hostname: '10.0.0.1',
      port: 2376,
      basePath: '',
    });
    const plain = parseDaemonHost('http://localhost:2375/base/');
    assert.equal(plain.kind, 'http');
    assert.equal(plain.kind === 'http' && plain.basePath, '/base');
    const ipv6 = parseDaemonHost('https://[::1]');
    assert.equal(ipv6.kind === 'https' && `${ipv6.hostname} ${ipv6.port}`, '::1 443');
  });

  it('refuses hosts docker could not use or Ferry does not speak', () => {
    for (const bad of [
      '',
      '/var/run/docker.sock',
      'unix://',
      'tcp://host',
      'ssh://user@host',
      'npipe:////./pipe/docker',
      'tcp://u:p@host:1',
    ]) {
      assert.throws(
        () => parseDaemonHost(bad),
        (e: unknown) => isFerryError(e, 'INVALID_ARGUMENT'),
        bad,
      );
    }
  });

  it('the option wins over DOCKER_HOST, which wins over the default socket', () => {
    assert.equal(daemonHostOf({ daemonHost: 'unix:///a.sock' }, { DOCKER_HOST: 'unix:///b.sock' }), 'unix:///a.sock');
    assert.equal(daemonHostOf({}, { DOCKER_HOST: 'unix:///b.sock' }), 'unix:///b.sock');
    assert.equal(daemonHostOf({}, {}), DEFAULT_DAEMON_HOST);
  });
});
