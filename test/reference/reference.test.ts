import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import {
  DockerReference,
  familiarName,
  familiarString,
  parseDockerReference,
  parseNamed,
  parseNormalizedNamed,
} from '../../src/reference/reference.js';
import { SHA256, SHA512 } from './cases.js';

const isInvalidReference = (e: unknown) => isFerryError(e, 'INVALID_REFERENCE');

test('exposes domain, path, name and familiar name of a Docker Hub reference', () => {
  const ref = parseDockerReference('fedora:31');
  assert.ok(ref instanceof DockerReference);
  assert.equal(ref.domain, 'docker.io');
  assert.equal(ref.path, 'library/fedora');
  assert.equal(ref.name, 'docker.io/library/fedora');
  assert.equal(ref.familiarName, 'fedora');
  assert.equal(familiarName(ref), 'fedora');
  assert.equal(familiarString(ref), 'fedora:31');
  assert.equal(String(ref), 'docker.io/library/fedora:31');
});

test('withTag returns a new reference and leaves the original unchanged', () => {
  const ref = parseDockerReference('quay.io/org/app');
  const tagged = ref.withTag('v1');
  assert.equal(tagged.toString(), 'quay.io/org/app:v1');
  assert.equal(ref.toString(), 'quay.io/org/app');
  assert.equal(ref.tag, undefined);
});

test('withTag keeps an existing digest and withDigest keeps an existing tag', () => {
  const ref = parseDockerReference(`app@${SHA256}`).withTag('1');
  assert.equal(ref.toString(), `docker.io/library/app:1@${SHA256}`);
  const both = parseDockerReference('app:2').withDigest(SHA512);
  assert.equal(both.tag, '2');
  assert.equal(both.digest, SHA512);
});

test('withTag rejects an invalid tag', () => {
  const ref = parseDockerReference('busybox');
  assert.throws(() => ref.withTag('-foo'), isInvalidReference);
  assert.throws(() => ref.withTag(''), isInvalidReference);
  assert.throws(() => ref.withTag('x'.repeat(129)), isInvalidReference);
});

test('withDigest rejects an invalid digest', () => {
  const ref = parseDockerReference('busybox');
  assert.throws(() => ref.withDigest('foo'), isInvalidReference);
  assert.throws(() => ref.withDigest(`sha256:${'A'.repeat(64)}`), /lowercase hex/);
});

test('withoutTagOrDigest, withoutTag and withoutDigest drop the named parts only', () => {
  const ref = parseDockerReference(`localhost:5000/a:1@${SHA256}`);
  assert.equal(ref.withoutTagOrDigest().toString(), 'localhost:5000/a');
  assert.equal(ref.withoutTag().toString(), `localhost:5000/a@${SHA256}`);
  assert.equal(ref.withoutDigest().toString(), 'localhost:5000/a:1');
  assert.equal(ref.toString(), `localhost:5000/a:1@${SHA256}`);
});

test('withDefaultTag adds latest only to a bare name', () => {
  assert.equal(parseDockerReference('fedora').withDefaultTag().toString(), 'docker.io/library/fedora:latest');
  assert.equal(parseDockerReference('fedora:31').withDefaultTag().toString(), 'docker.io/library/fedora:31');
  assert.equal(
    parseDockerReference(`fedora@${SHA256}`).withDefaultTag().toString(),
    `docker.io/library/fedora@${SHA256}`,
  );
});

test('tagOrDefault gives latest for a bare name and nothing for a digest-only reference', () => {
  assert.equal(parseDockerReference('fedora').tagOrDefault(), 'latest');
  assert.equal(parseDockerReference('fedora:31').tagOrDefault(), '31');
  assert.equal(parseDockerReference(`fedora@${SHA256}`).tagOrDefault(), undefined);
});

test('isNameOnly is true only without a tag and a digest', () => {
  assert.equal(parseDockerReference('fedora').isNameOnly(), true);
  assert.equal(parseDockerReference('fedora:31').isNameOnly(), false);
  assert.equal(parseDockerReference(`fedora@${SHA256}`).isNameOnly(), false);
});

test('equals compares the normalised forms', () => {
  assert.ok(parseDockerReference('fedora').equals(parseDockerReference('index.docker.io/library/fedora')));
  assert.ok(!parseDockerReference('fedora').equals(parseDockerReference('fedora:latest')));
});

test('a parsed reference cannot be modified', () => {
  const ref = parseDockerReference('fedora:31');
  assert.throws(() => {
    (ref as unknown as { tag: string }).tag = 'x';
  }, TypeError);
  assert.equal(ref.tag, '31');
});

test('parseNormalizedNamed is parseDockerReference', () => {
  assert.equal(parseNormalizedNamed('user/app:1').toString(), 'docker.io/user/app:1');
});

test('parseNamed accepts only the full normalised form', () => {
  assert.equal(parseNamed('docker.io/library/fedora:31').familiar, 'fedora:31');
  assert.equal(parseNamed(`quay.io/a/b@${SHA256}`).path, 'a/b');
  assert.throws(() => parseNamed('fedora:31'), /must be canonical.*docker\.io\/library\/fedora:31/);
  assert.throws(() => parseNamed('docker.io/fedora'), isInvalidReference);
  assert.throws(() => parseNamed('index.docker.io/library/fedora'), isInvalidReference);
});

test('errors carry the input in details', () => {
  try {
    parseDockerReference('Fedora');
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(isInvalidReference(e));
    assert.deepEqual((e as { details: unknown }).details, { reference: 'Fedora' });
  }
});
