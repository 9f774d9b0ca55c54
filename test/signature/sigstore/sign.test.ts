/**
 * Sigstore signatures Ferry makes: the same stored form as the upstream cosign fixtures, verified by the
 * sigstore verifier and by the policy verifier under a sigstoreSigned requirement, refused when tampered.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { manifestDigest } from '../../../src/manifest/digest.js';
import { parseDockerReference } from '../../../src/reference/reference.js';
import { evaluatePolicy, type SigstoreSignedRequirement } from '../../../src/signature/policy/index.js';
import {
  generateSigstoreKeyPair,
  parsePublicKeyPEM,
  parseSigstoreBlob,
  parseSigstorePayload,
  readSigstorePrivateKey,
  SIGSTORE_SIGNATURE_ANNOTATION,
  sigstoreBlob,
  sigstoreSign,
  verifySigstoreSignature,
} from '../../../src/signature/sigstore/index.js';
import { createPolicySignatureVerifier } from '../../../src/signature/verifier.js';
import { fixturePath } from '../../helpers/paths.js';

const F = (...p: string[]) => fixturePath('signature', 'sigstore', ...p);
const manifest = readFileSync(F('dir-img-cosign-valid', 'manifest.json'));
const IDENTITY = 'quay.io/ferry/app:1.0';

describe('sigstore signing with a private key', () => {
  test('the stored form has the fields, MIME type and annotation of the upstream cosign fixture', async () => {
    const pair = await generateSigstoreKeyPair('pw');
    const { privateKey } = await readSigstorePrivateKey(pair.privateKeyPEM, 'pw');
    const blob = sigstoreBlob(
      sigstoreSign(manifest, IDENTITY, privateKey, { creator: 'ferry', timestamp: 1700000000 }),
    );
    const upstream = readFileSync(F('dir-img-cosign-valid', 'signature-1'));
    assert.deepEqual(blob.subarray(0, 15), upstream.subarray(0, 15), 'the \\0sigstore-json\\n marker');
    const ours = JSON.parse(blob.subarray(15).toString('utf8'));
    const theirs = JSON.parse(upstream.subarray(15).toString('utf8'));
    assert.deepEqual(Object.keys(ours), Object.keys(theirs));
    assert.equal(ours.mimeType, theirs.mimeType);
    assert.deepEqual(Object.keys(ours.annotations), Object.keys(theirs.annotations));

    const sig = parseSigstoreBlob(blob);
    assert.equal(
      sig.payload.toString('utf8'),
      '{"critical":{"identity":{"docker-reference":"quay.io/ferry/app:1.0"},' +
        `"image":{"docker-manifest-digest":"${manifestDigest(manifest)}"},` +
        '"type":"cosign container image signature"},"optional":{"creator":"ferry","timestamp":1700000000}}',
    );
    const payload = parseSigstorePayload(sig.payload);
    assert.equal(payload.dockerReference, IDENTITY);

    const publicKey = parsePublicKeyPEM(pair.publicKeyPEM, 'pub');
    const verified = verifySigstoreSignature(sig, manifest, { publicKeys: [publicKey] });
    assert.equal(verified.dockerReference, IDENTITY);
    assert.equal(verified.dockerManifestDigest, manifestDigest(manifest));
  });

  test('a signature over a tampered manifest, by another key, or with a changed payload is refused', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const sig = sigstoreSign(manifest, IDENTITY, privateKey);
    const reason = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        assert.ok(isFerryError(e, 'INVALID_SIGNATURE'), String(e));
        return e.details.reason;
      }
      assert.fail('accepted');
    };
    const tampered = Buffer.from(manifest.toString('utf8').replace('"schemaVersion"', ' "schemaVersion"'));
    assert.equal(
      reason(() => verifySigstoreSignature(sig, tampered, { publicKeys: [publicKey] })),
      'manifest-mismatch',
    );
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    assert.equal(
      reason(() => verifySigstoreSignature(sig, manifest, { publicKeys: [other] })),
      'signature-mismatch',
    );
    const changed = { ...sig, payload: Buffer.from(sig.payload.toString('utf8').replace('app:1.0', 'app:2.0')) };
    assert.equal(
      reason(() => verifySigstoreSignature(changed, manifest, { publicKeys: [publicKey] })),
      'signature-mismatch',
    );
  });

  test('RSA and Ed25519 keys sign too, each verified the way the verifier reads its type', () => {
    for (const pair of [
      generateKeyPairSync('rsa', { modulusLength: 2048 }),
      generateKeyPairSync('ed25519'),
      generateKeyPairSync('ec', { namedCurve: 'P-384' }),
    ]) {
      const sig = sigstoreSign(manifest, IDENTITY, pair.privateKey);
      assert.ok(sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION]);
      const v = verifySigstoreSignature(sig, manifest, { publicKeys: [pair.publicKey] });
      assert.equal(v.dockerReference, IDENTITY, pair.privateKey.asymmetricKeyType);
    }
  });

  test('the policy verifier accepts it under sigstoreSigned for its identity only', async () => {
    const pair = await generateSigstoreKeyPair('pw');
    const { privateKey } = await readSigstorePrivateKey(pair.privateKeyPEM, 'pw');
    const sig = sigstoreSign(manifest, IDENTITY, privateKey);
    const requirement: SigstoreSignedRequirement = {
      type: 'sigstoreSigned',
      keyData: Buffer.from(pair.publicKeyPEM),
      signedIdentity: { type: 'matchRepoDigestOrExact' },
    };
    const image = (ref: string) => ({
      manifest,
      dockerReference: parseDockerReference(ref),
      signatures: [
        { kind: 'sigstore' as const, mimeType: sig.mimeType, payload: sig.payload, annotations: sig.annotations },
      ],
    });
    const verifier = createPolicySignatureVerifier();
    assert.equal((await evaluatePolicy([requirement], image(IDENTITY), { verifier })).allowed, true);
    const other = await evaluatePolicy([requirement], image('quay.io/ferry/app:2.0'), { verifier });
    assert.equal(other.allowed, false);
    assert.match(other.reasons[0]?.reason ?? '', /quay\.io\/ferry\/app:1\.0/);
  });
});
