import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Digest } from '../../../src/digest/digest.js';
import { isFerryError } from '../../../src/errors.js';
import {
  cosignSignatureTag,
  isSigstoreBlob,
  parseSigstoreBlob,
  parseSigstorePayload,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  sigstoreBlob,
  sigstorePayloadBytes,
} from '../../../src/signature/sigstore/index.js';
import { fixturePath } from '../../helpers/paths.js';

const VALID = fixturePath('signature', 'sigstore', 'dir-img-cosign-valid', 'signature-1');
const HEX = 'ab'.repeat(32);

describe('sigstore: the dir: signature file form', () => {
  test('an upstream cosign signature file parses into MIME type, payload and annotations', () => {
    const blob = readFileSync(VALID);
    assert.ok(isSigstoreBlob(blob));
    const sig = parseSigstoreBlob(blob);
    assert.equal(sig.mimeType, SIGSTORE_SIGNATURE_MIME_TYPE);
    assert.deepEqual(Object.keys(sig.annotations), [SIGSTORE_SIGNATURE_ANNOTATION]);
    assert.equal(parseSigstorePayload(sig.payload).dockerReference, '192.168.64.2:5000/cosign-signed-single-sample');
  });

  test('writing and reading back gives the same signature', () => {
    const sig = parseSigstoreBlob(readFileSync(VALID));
    assert.deepEqual(parseSigstoreBlob(sigstoreBlob(sig)), sig);
  });

  const bad: [string, Buffer][] = [
    ['an OpenPGP signature (no format marker)', Buffer.from([0xa3, 0x01, 0x02])],
    ['an empty file', Buffer.alloc(0)],
    ['JSON that does not parse', Buffer.from('\0sigstore-json\n{"mimeType":')],
    ['a payload that is not base64', Buffer.from('\0sigstore-json\n{"mimeType":"x","payload":"@@","annotations":{}}')],
    ['a payload that is not a string', Buffer.from('\0sigstore-json\n{"mimeType":"x","payload":1,"annotations":{}}')],
    [
      'an annotation that is not a string',
      Buffer.from('\0sigstore-json\n{"mimeType":"x","payload":"","annotations":{"a":1}}'),
    ],
    ['a duplicate key', Buffer.from('\0sigstore-json\n{"mimeType":"x","mimeType":"y","payload":""}')],
  ];
  for (const [name, blob] of bad) {
    test(`refuses ${name} with INVALID_SIGNATURE`, () => {
      assert.throws(
        () => parseSigstoreBlob(blob),
        (e) => isFerryError(e, 'INVALID_SIGNATURE'),
      );
    });
  }
});

describe('sigstore: payload and tag', () => {
  test('the payload Ferry writes parses back to the same fields', () => {
    const p = {
      dockerManifestDigest: `sha256:${HEX}` as Digest,
      dockerReference: 'quay.io/a/b:1',
      creator: 'ferry',
      timestamp: 5,
    };
    assert.deepEqual(parseSigstorePayload(sigstorePayloadBytes(p)), p);
  });

  test('the cosign tag of a digest is sha256-<hex>.sig', () => {
    assert.equal(cosignSignatureTag(`sha256:${HEX}` as Digest), `sha256-${HEX}.sig`);
    assert.throws(
      () => cosignSignatureTag('sha256:../x' as Digest),
      (e) => isFerryError(e, 'INVALID_DIGEST'),
    );
  });
});
