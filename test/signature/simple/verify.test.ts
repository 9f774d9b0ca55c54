import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import {
  readTrustedKeyring,
  type SignatureRejection,
  standaloneVerify,
  verifySignature,
} from '../../../src/signature/simple/index.js';
import { fixturePath } from '../../helpers/paths.js';

// The upstream fixtures' keys (containers/image signature/fixtures_info_test.go).
const KEY = '08CD26E446E2E95249B7A405E932F44B23E8DD43';
const KEY_WITH_PASSPHRASE = 'F2B501009F78B0B340221A12A3CD242DA6028093';
const PRIMARY_WITH_SUBKEY = 'B9F4CDB9FD8C475BFA340AC38D54A947EE396F36';
const SUBKEY = '57D1D95BBC53BA0EAFF0718CD75B3109B3BAAEAF';
const PRIMARY_WITH_REVOKED_SUBKEY = '6D88C5A1993648A17B2BB0DC6B8499AF63388D63';
const OTHER = '0123456789ABCDEF0123456789ABCDEF01234567';
const DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55';

const read = (...p: string[]): Buffer => readFileSync(fixturePath('signature', ...p));
const manifest = read('image.manifest.json');
const pubring = read('pubring.gpg');

async function assertRejected(p: Promise<unknown>, reason: SignatureRejection): Promise<void> {
  await assert.rejects(p, (e) => {
    assert.ok(isFerryError(e, 'INVALID_SIGNATURE'), String(e));
    assert.equal(e.details.reason, reason, e.message);
    return true;
  });
}

test('reads binary and armored keyrings, primary fingerprints only', async () => {
  assert.deepEqual((await readTrustedKeyring(read('public-key.gpg'))).fingerprints, [KEY]);
  assert.deepEqual((await readTrustedKeyring(pubring)).fingerprints, [
    KEY_WITH_PASSPHRASE,
    KEY,
    PRIMARY_WITH_SUBKEY,
    PRIMARY_WITH_REVOKED_SUBKEY,
  ]);
  assert.deepEqual((await readTrustedKeyring(read('public-key-with-subkey.gpg'))).fingerprints, [PRIMARY_WITH_SUBKEY]);
  const two = await readTrustedKeyring([read('public-key-1.gpg'), read('public-key-2.gpg')]);
  assert.deepEqual(two.fingerprints, [KEY, KEY_WITH_PASSPHRASE]);
  assert.deepEqual((await readTrustedKeyring(Buffer.alloc(0))).fingerprints, []);
  await assert.rejects(readTrustedKeyring(Buffer.from('This is invalid')), (e) => isFerryError(e, 'INVALID_CONFIG'));
});

test('image.signature verifies against public-key.gpg and pubring.gpg', async () => {
  for (const ring of [read('public-key.gpg'), pubring]) {
    const v = await verifySignature(read('image.signature'), ring, { expectedIdentity: 'testing/manifest' });
    assert.equal(v.dockerManifestDigest, DIGEST);
    assert.equal(v.dockerReference, 'testing/manifest');
    assert.equal(v.fingerprint, KEY);
    assert.equal(v.timestamp, 1458239713);
  }
});

test('dir-img-valid/signature-1 verifies for its manifest (image.manifest.json)', async () => {
  const v = await standaloneVerify(
    manifest, // upstream's dir-img-valid/manifest.json is a link to image.manifest.json
    'testing/manifest:latest',
    [KEY],
    read('dir-img-valid', 'signature-1'),
    pubring,
  );
  assert.equal(v.fingerprint, KEY);
  assert.equal(v.payload.creator, 'atomic 0.1.13-dev');
});

test('no-optional-fields.signature verifies, with neither creator nor timestamp', async () => {
  const v = await verifySignature(read('no-optional-fields.signature'), pubring);
  assert.equal(v.creator, undefined);
  assert.equal(v.timestamp, undefined);
  assert.equal(v.dockerManifestDigest, DIGEST);
});

test('a signature made by a subkey verifies and names the primary key', async () => {
  const v = await verifySignature(read('subkey.signature'), read('public-key-with-subkey.gpg'));
  assert.equal(v.fingerprint, PRIMARY_WITH_SUBKEY);
  assert.equal(v.signingKeyFingerprint, SUBKEY);
  const s = await standaloneVerify(
    manifest,
    'testing/manifest:latest',
    [PRIMARY_WITH_SUBKEY],
    read('subkey.signature'),
    pubring,
  );
  assert.equal(s.fingerprint, PRIMARY_WITH_SUBKEY);
});

test('refuses each bad fixture with a typed reason', async () => {
  const cases: [string, SignatureRejection][] = [
    ['corrupt.signature', 'bad-signature'],
    ['expired.signature', 'expired'],
    ['subkey-revoked.signature', 'revoked'],
    ['unknown-key.signature', 'unknown-key'],
    ['invalid-blob.signature', 'invalid-payload'],
    ['unsigned-literal.signature', 'not-signed'],
    ['unsigned-encrypted.signature', 'not-signed'],
  ];
  for (const [file, reason] of cases) await assertRejected(verifySignature(read(file), pubring), reason);
  await assertRejected(verifySignature(Buffer.alloc(0), pubring), 'corrupt');
  await assertRejected(verifySignature(Buffer.from('invalid signature'), pubring), 'corrupt');
});

test('a signature by a key missing from the keyring is an unknown key', async () => {
  await assertRejected(verifySignature(read('image.signature'), read('public-key-with-subkey.gpg')), 'unknown-key');
  await assertRejected(verifySignature(read('image.signature'), Buffer.alloc(0)), 'unknown-key');
});

test('the revoked-subkey key verifies nothing its revoked subkey signed', async () => {
  const ring = read('public-key-with-revoked-subkey.gpg');
  assert.deepEqual((await readTrustedKeyring(ring)).fingerprints, [PRIMARY_WITH_REVOKED_SUBKEY]);
  await assertRejected(verifySignature(read('subkey-revoked.signature'), ring), 'revoked');
});

test('checks the expected identity and digest when asked', async () => {
  const sig = read('image.signature');
  const v = await verifySignature(sig, pubring, {
    expectedIdentity: 'docker.io/testing/manifest',
    expectedDigest: DIGEST,
  });
  assert.equal(v.dockerReference, 'testing/manifest');
  await assertRejected(
    verifySignature(sig, pubring, { expectedIdentity: 'example.com/does-not/match' }),
    'identity-mismatch',
  );
  await assertRejected(
    verifySignature(sig, pubring, { expectedDigest: `sha256:${'0'.repeat(64)}` }),
    'digest-mismatch',
  );
  await assertRejected(
    verifySignature(read('invalid-reference.signature'), pubring, { expectedIdentity: 'testing/manifest' }),
    'invalid-payload',
  );
});

test('standaloneVerify accepts as skopeo standalone-verify does', async () => {
  const sig = read('image.signature');
  const v = await standaloneVerify(manifest, 'testing/manifest', [KEY, OTHER], sig, pubring);
  assert.deepEqual([v.fingerprint, v.dockerManifestDigest, v.dockerReference], [KEY, DIGEST, 'testing/manifest']);
  const normalised = await standaloneVerify(manifest, 'docker.io/testing/manifest', 'any', sig, read('public-key.gpg'));
  assert.equal(normalised.fingerprint, KEY);
});

test('standaloneVerify refuses as skopeo standalone-verify does', async () => {
  const sig = read('image.signature');
  await assertRejected(standaloneVerify(manifest, 'testing/manifest', [OTHER], sig, pubring), 'key-not-accepted');
  await assertRejected(
    standaloneVerify(manifest, 'testing/manifest', 'any', sig, read('public-key-1.gpg').subarray(0, 0)),
    'unknown-key',
  );
  await assertRejected(
    standaloneVerify(manifest, 'example.com/does-not/match', [KEY], sig, pubring),
    'identity-mismatch',
  );
  await assertRejected(
    standaloneVerify(Buffer.from('unexpected manifest'), 'testing/manifest', [KEY], sig, pubring),
    'digest-mismatch',
  );
  await assertRejected(
    standaloneVerify(manifest, 'testing/manifest', [KEY], read('invalid-reference.signature'), pubring),
    'invalid-payload',
  );
  await assertRejected(
    standaloneVerify(manifest, 'testing/manifest', [KEY], read('corrupt.signature'), pubring),
    'bad-signature',
  );
  await assert.rejects(standaloneVerify(manifest, 'UPPERCASEISINVALID', [KEY], sig, pubring), (e) =>
    isFerryError(e, 'INVALID_REFERENCE'),
  );
  await assert.rejects(
    standaloneVerify(read('v2s1-invalid-signatures.manifest.json'), 'testing/manifest', [KEY], sig, pubring),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
});

test('a version 3 signature packet is refused as unsupported (openpgp.js reads only v4 and later)', async () => {
  // containers/image with gpgme accepts these; openpgp.js 6 cannot parse them, and says so rather than "not signed".
  await assertRejected(verifySignature(read('invalid-blob.signature-v3'), pubring), 'unsupported-format');
});
