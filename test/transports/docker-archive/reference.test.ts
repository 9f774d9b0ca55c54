import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parseDockerArchiveReference } from '../../../src/transports/docker-archive/index.js';

describe('docker-archive references', () => {
  test('parses a path alone: no name, no index', () => {
    const ref = parseDockerArchiveReference('/tmp/a.tar');
    assert.equal(ref.path, '/tmp/a.tar');
    assert.equal(ref.dockerReference(), undefined);
    assert.equal(ref.sourceIndex, undefined);
    assert.equal(ref.toString(), 'docker-archive:/tmp/a.tar');
  });

  test('normalises the name and adds :latest to an untagged one', () => {
    const ref = parseDockerArchiveReference('a.tar:busybox');
    assert.equal(ref.dockerReference()?.toString(), 'docker.io/library/busybox:latest');
    assert.equal(ref.stringWithinTransport(), 'a.tar:docker.io/library/busybox:latest');
  });

  test('keeps a registry port in the name', () => {
    const ref = parseDockerArchiveReference('a.tar:localhost:5000/app:1.2');
    assert.equal(ref.path, 'a.tar');
    assert.equal(ref.dockerReference()?.toString(), 'localhost:5000/app:1.2');
  });

  test('parses a source index', () => {
    const ref = parseDockerArchiveReference('a.tar:@3');
    assert.equal(ref.sourceIndex, 3);
    assert.equal(ref.stringWithinTransport(), 'a.tar:@3');
  });

  test('round-trips through stringWithinTransport', () => {
    for (const s of ['a.tar', 'a.tar:@0', 'a.tar:quay.io/org/app:v1']) {
      const ref = parseDockerArchiveReference(s);
      assert.equal(parseDockerArchiveReference(ref.stringWithinTransport()).toString(), ref.toString());
    }
  });

  test('rejects a digest reference', () => {
    assert.throws(
      () => parseDockerArchiveReference(`a.tar:app@sha256:${'a'.repeat(64)}`),
      (e) => isFerryError(e, 'INVALID_REFERENCE') && /digest/.test(e.message),
    );
  });

  test('rejects a malformed source index and an invalid name', () => {
    for (const s of ['a.tar:@-1', 'a.tar:@x', 'a.tar:UPPER', '', ':img']) {
      assert.throws(
        () => parseDockerArchiveReference(s),
        (e) => isFerryError(e, 'INVALID_REFERENCE'),
        s,
      );
    }
  });

  test('refuses deleting an image', async () => {
    await assert.rejects(parseDockerArchiveReference('a.tar').deleteImage(), (e) =>
      isFerryError(e, 'UNSUPPORTED_OPERATION'),
    );
  });
});
