import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parsePayload, serializePayload } from '../../../src/signature/simple/index.js';

const DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55';

/** What skopeo 1.9.3 standalone-sign signed (gpg --decrypt of its output), byte for byte. */
const SKOPEO_PAYLOAD =
  '{"critical":{"identity":{"docker-reference":"quay.io/a/b:1"},"image":{"docker-manifest-digest":"' +
  DIGEST +
  '"},"type":"atomic container signature"},"optional":{"creator":"atomic 5.23.1","timestamp":1796525672}}';

function payload(critical: unknown, optional: unknown = {}): Buffer {
  return Buffer.from(JSON.stringify({ critical, optional }));
}

const goodCritical = {
  type: 'atomic container signature',
  image: { 'docker-manifest-digest': DIGEST },
  identity: { 'docker-reference': 'testing/manifest' },
};

function assertInvalid(bytes: Buffer, pattern: RegExp): void {
  assert.throws(
    () => parsePayload(bytes),
    (e) => isFerryError(e, 'INVALID_SIGNATURE') && e.details.reason === 'invalid-payload' && pattern.test(e.message),
  );
}

test('serialises the payload byte for byte as containers/image (skopeo standalone-sign) does', () => {
  const bytes = serializePayload({
    dockerManifestDigest: DIGEST,
    dockerReference: 'quay.io/a/b:1',
    creator: 'atomic 5.23.1',
    timestamp: 1796525672,
  });
  assert.equal(bytes.toString('utf8'), SKOPEO_PAYLOAD);
});

test('serialises without optional fields as an empty optional object, and escapes as Go does', () => {
  const bytes = serializePayload({ dockerManifestDigest: DIGEST, dockerReference: 'a<b>&c' });
  assert.equal(
    bytes.toString('utf8'),
    `{"critical":{"identity":{"docker-reference":"a\\u003cb\\u003e\\u0026c"},"image":{"docker-manifest-digest":"${DIGEST}"},` +
      '"type":"atomic container signature"},"optional":{}}',
  );
});

test('refuses to serialise an empty reference', () => {
  assert.throws(() => serializePayload({ dockerManifestDigest: DIGEST, dockerReference: '' }), /docker reference/);
});

test('parses what it serialises (round trip)', () => {
  const p = { dockerManifestDigest: DIGEST, dockerReference: 'quay.io/a/b:1', creator: 'x', timestamp: 5 } as const;
  assert.deepEqual(parsePayload(serializePayload(p)), p);
  assert.deepEqual(parsePayload(Buffer.from(SKOPEO_PAYLOAD)), {
    dockerManifestDigest: DIGEST,
    dockerReference: 'quay.io/a/b:1',
    creator: 'atomic 5.23.1',
    timestamp: 1796525672,
  });
});

test('accepts unknown fields in optional, as upstream', () => {
  const p = parsePayload(payload(goodCritical, { anything: [1, { x: 2 }], creator: 'c' }));
  assert.equal(p.creator, 'c');
  assert.equal(p.timestamp, undefined);
});

test('rejects unknown or missing fields in critical and its objects', () => {
  assertInvalid(payload({ ...goodCritical, extra: 1 }), /unknown key "extra" in critical/);
  assertInvalid(payload({ ...goodCritical, image: { 'docker-manifest-digest': DIGEST, x: 1 } }), /critical\.image/);
  assertInvalid(payload({ ...goodCritical, identity: { 'docker-reference': 'a', x: 1 } }), /critical\.identity/);
  assertInvalid(payload({ type: goodCritical.type, image: goodCritical.image }), /key "identity" missing/);
  assertInvalid(Buffer.from(JSON.stringify({ critical: goodCritical })), /key "optional" missing/);
  assertInvalid(Buffer.from(JSON.stringify({ critical: goodCritical, optional: {}, x: 1 })), /unknown key "x"/);
});

test('rejects a wrong type, an invalid digest, non-object parts and wrong value types', () => {
  assertInvalid(payload({ ...goodCritical, type: 'cosign container image signature' }), /unrecognized signature type/);
  assertInvalid(
    payload({ ...goodCritical, image: { 'docker-manifest-digest': 'sha256:ABC' } }),
    /docker-manifest-digest/,
  );
  assertInvalid(payload({ ...goodCritical, identity: { 'docker-reference': 3 } }), /must be a string/);
  assertInvalid(payload(goodCritical, []), /optional must be a JSON object/);
  assertInvalid(payload([]), /critical must be a JSON object/);
  assertInvalid(payload(goodCritical, { creator: 1 }), /optional\.creator must be a string/);
  assertInvalid(payload(goodCritical, { timestamp: 1.5 }), /not an integer/);
  assertInvalid(payload(goodCritical, { timestamp: '1' }), /must be a number/);
  assertInvalid(Buffer.from('This is not JSON\n'), /not JSON/);
  assertInvalid(Buffer.from('[]'), /the payload must be a JSON object/);
});

test('rejects duplicate keys anywhere in the payload', () => {
  const text = SKOPEO_PAYLOAD.replace('"type":', '"type":"atomic container signature","type":');
  assertInvalid(Buffer.from(text), /duplicate key "type"/);
  const inOptional = SKOPEO_PAYLOAD.replace('"creator":', '"creator":"a","creator":');
  assertInvalid(Buffer.from(inOptional), /duplicate key "creator"/);
});

test('a string value that looks like a key is not taken for a duplicate', () => {
  const p = parsePayload(payload(goodCritical, { note: 'type', type: 'x', list: ['type', 'type'] }));
  assert.equal(p.dockerReference, 'testing/manifest');
});
