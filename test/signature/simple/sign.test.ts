import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as openpgp from 'openpgp';
import { isFerryError } from '../../../src/errors.js';
import { signPayload, verifySignature } from '../../../src/signature/simple/index.js';

const payload = {
  dockerManifestDigest: 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55',
  dockerReference: 'quay.io/ferry/app:1',
  creator: 'ferry',
  timestamp: 1700000000,
} as const;

test('signPayload signs with an armored or binary key, and the signature verifies with its public key', async () => {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Ferry', email: 'sign@ferry.invalid' }],
    format: 'armored',
  });
  const fingerprint = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  const binaryKey = (await openpgp.readPrivateKey({ armoredKey: privateKey })).write();
  for (const key of [privateKey, binaryKey]) {
    const signature = await signPayload(payload, key);
    const v = await verifySignature(signature, publicKey, { expectedIdentity: payload.dockerReference });
    assert.equal(v.fingerprint, fingerprint);
    const { dockerManifestDigest, dockerReference, creator, timestamp } = v;
    assert.deepEqual({ dockerManifestDigest, dockerReference, creator, timestamp }, payload);
  }
});

test('signPayload decrypts a protected key with its passphrase and refuses a wrong or missing one', async () => {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ email: 'locked@ferry.invalid' }],
    passphrase: 'secret',
    format: 'armored',
  });
  assert.ok((await signPayload(payload, privateKey, { passphrase: 'secret' })).length > 0);
  await assert.rejects(signPayload(payload, privateKey, { passphrase: 'wrong' }), (e) =>
    isFerryError(e, 'SIGNING_FAILED'),
  );
  await assert.rejects(signPayload(payload, privateKey), (e) => isFerryError(e, 'SIGNING_FAILED'));
  await assert.rejects(signPayload(payload, 'not a key'), (e) => isFerryError(e, 'SIGNING_FAILED'));
});
