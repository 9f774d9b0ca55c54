import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Digest } from '../../../src/digest/digest.js';
import { FerryError, isFerryError } from '../../../src/errors.js';
import { manifestDigest } from '../../../src/manifest/digest.js';
import {
  parsePublicKeyPEM,
  parseSigstoreBlob,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  type SigstoreKeyTrust,
  type SigstoreSignature,
  sigstorePayloadBytes,
  verifySigstoreSignature,
} from '../../../src/signature/sigstore/index.js';
import { fixturePath } from '../../helpers/paths.js';

const F = (...p: string[]) => fixturePath('signature', 'sigstore', ...p);
const key = (name: string) => parsePublicKeyPEM(readFileSync(F(name)), name);
const COSIGN = key('cosign.pub');
const COSIGN2 = key('cosign2.pub');
const REKOR = key('rekor.pub');
const sigOf = (dir: string, n = 1) => parseSigstoreBlob(readFileSync(F(`dir-img-cosign-${dir}`, `signature-${n}`)));
const manifestOf = (dir: string) => readFileSync(F(`dir-img-cosign-${dir}`, 'manifest.json'));
const VALID_IDENTITY = '192.168.64.2:5000/cosign-signed-single-sample';

function rejects(fn: () => unknown, reason?: string | RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(isFerryError(e, 'INVALID_SIGNATURE'), `expected INVALID_SIGNATURE, got ${String(e)}`);
    if (typeof reason === 'string') assert.equal(e.details.reason, reason, e.message);
    else if (reason) assert.match(e.message, reason);
    return true;
  });
}

describe('sigstore: the upstream dir-img-cosign fixtures with cosign.pub', () => {
  const trust: SigstoreKeyTrust = { publicKeys: [COSIGN] };

  test('valid: verifies and returns the signed identity and digest', () => {
    const m = manifestOf('valid');
    const v = verifySigstoreSignature(sigOf('valid'), m, trust);
    assert.equal(v.dockerReference, VALID_IDENTITY);
    assert.equal(v.dockerManifestDigest, manifestDigest(m));
    assert.equal(v.publicKey, COSIGN);
  });

  test('valid-2: both signatures verify', () => {
    for (const n of [1, 2]) {
      assert.equal(
        verifySigstoreSignature(sigOf('valid-2', n), manifestOf('valid-2'), trust).dockerReference,
        VALID_IDENTITY,
      );
    }
  });

  test('valid-with-tag: verifies, with the tag in the signed identity', () => {
    const v = verifySigstoreSignature(sigOf('valid-with-tag'), manifestOf('valid-with-tag'), trust);
    assert.equal(v.dockerReference, '192.168.64.2:5000/skopeo-signed:tag');
  });

  test('mixed: the signature by an unknown key fails, the other verifies', () => {
    rejects(() => verifySigstoreSignature(sigOf('mixed', 1), manifestOf('mixed'), trust), 'signature-mismatch');
    assert.equal(
      verifySigstoreSignature(sigOf('mixed', 2), manifestOf('mixed'), trust).dockerReference,
      VALID_IDENTITY,
    );
  });

  test('modified-manifest: a valid signature of another manifest is refused, naming the signed digest', () => {
    assert.throws(
      () => verifySigstoreSignature(sigOf('modified-manifest'), manifestOf('modified-manifest'), trust),
      (e) => {
        assert.ok(isFerryError(e, 'INVALID_SIGNATURE'));
        assert.equal(e.details.reason, 'manifest-mismatch');
        assert.equal(e.details.signedDigest, manifestDigest(manifestOf('valid')));
        return true;
      },
    );
  });

  test('manifest-digest-error: a manifest whose digest cannot be computed is refused, not a crash', () => {
    rejects(
      () => verifySigstoreSignature(sigOf('manifest-digest-error'), manifestOf('manifest-digest-error'), trust),
      'manifest-digest-error',
    );
  });

  test('no-manifest: without the signed manifest the signature matches nothing', () => {
    rejects(() => verifySigstoreSignature(sigOf('no-manifest'), Buffer.alloc(0), trust), 'manifest-mismatch');
  });

  test('other-attachment: an attachment that is not a signature is refused as such', () => {
    const sig = sigOf('other-attachment');
    assert.equal(sig.mimeType, 'text/plain');
    rejects(() => verifySigstoreSignature(sig, manifestOf('other-attachment'), trust), /not a signature/);
  });

  test('fulcio-rekor-valid and pki-valid do not verify with cosign.pub (their keys are in certificates)', () => {
    rejects(() => verifySigstoreSignature(sigOf('fulcio-rekor-valid'), manifestOf('fulcio-rekor-valid'), trust));
    rejects(() => verifySigstoreSignature(sigOf('pki-valid'), manifestOf('pki-valid'), trust));
  });

  test('the wrong key refuses every valid fixture', () => {
    for (const dir of ['valid', 'valid-with-tag']) {
      rejects(
        () => verifySigstoreSignature(sigOf(dir), manifestOf(dir), { publicKeys: [COSIGN2] }),
        'signature-mismatch',
      );
    }
  });

  test('with several keys, the one that made the signature is found', () => {
    const v = verifySigstoreSignature(sigOf('valid'), manifestOf('valid'), { publicKeys: [COSIGN2, COSIGN] });
    assert.equal(v.publicKey, COSIGN);
  });

  test('no keys at all is a caller error', () => {
    assert.throws(
      () => verifySigstoreSignature(sigOf('valid'), manifestOf('valid'), { publicKeys: [] }),
      (e) => isFerryError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('sigstore: tampered signatures', () => {
  const trust: SigstoreKeyTrust = { publicKeys: [COSIGN] };
  const m = manifestOf('valid');

  test('a payload changed by one byte fails verification', () => {
    const sig = sigOf('valid');
    const payload = Buffer.from(sig.payload);
    payload[payload.length - 2] ^= 1;
    rejects(() => verifySigstoreSignature({ ...sig, payload }, m, trust), 'signature-mismatch');
  });

  test('a signature changed by one byte fails verification', () => {
    const sig = sigOf('valid');
    const raw = Buffer.from(sig.annotations[SIGSTORE_SIGNATURE_ANNOTATION] as string, 'base64');
    raw[10] ^= 1;
    const annotations = { ...sig.annotations, [SIGSTORE_SIGNATURE_ANNOTATION]: raw.toString('base64') };
    rejects(() => verifySigstoreSignature({ ...sig, annotations }, m, trust), 'signature-mismatch');
  });

  test('a signature that is not base64, or missing, is refused', () => {
    const sig = sigOf('valid');
    rejects(() =>
      verifySigstoreSignature({ ...sig, annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: 'not base64!' } }, m, trust),
    );
    rejects(() => verifySigstoreSignature({ ...sig, annotations: {} }, m, trust), /is missing/);
  });
});

describe('sigstore: Rekor SET (key-rekor-valid with rekor.pub)', () => {
  const m = manifestOf('key-rekor-valid');

  test('verifies with the signing key and the Rekor key, returning the log time', () => {
    const v = verifySigstoreSignature(sigOf('key-rekor-valid'), m, { publicKeys: [COSIGN2], rekorPublicKeys: [REKOR] });
    assert.equal(v.dockerReference, '192.168.64.2:5000/cosign-signed/key-1');
    assert.equal(v.rekorIntegratedTime?.toISOString(), '2023-01-20T21:57:39.000Z');
  });

  test('among several keys, the one the SET records is used', () => {
    const v = verifySigstoreSignature(sigOf('key-rekor-valid'), m, {
      publicKeys: [COSIGN, COSIGN2],
      rekorPublicKeys: [COSIGN, REKOR],
    });
    assert.equal(v.publicKey, COSIGN2);
  });

  test('a SET signed by another Rekor key is refused', () => {
    rejects(
      () => verifySigstoreSignature(sigOf('key-rekor-valid'), m, { publicKeys: [COSIGN2], rekorPublicKeys: [COSIGN] }),
      /Rekor SET/,
    );
  });

  test('a SET recording another signing key is refused', () => {
    rejects(
      () => verifySigstoreSignature(sigOf('key-rekor-valid'), m, { publicKeys: [COSIGN], rekorPublicKeys: [REKOR] }),
      /does not match/,
    );
  });

  test('a SET whose payload was edited is refused', () => {
    const sig = sigOf('key-rekor-valid');
    const set = JSON.parse(sig.annotations[SIGSTORE_BUNDLE_ANNOTATION] as string);
    set.Payload.logIndex += 1;
    const annotations = { ...sig.annotations, [SIGSTORE_BUNDLE_ANNOTATION]: JSON.stringify(set) };
    rejects(() =>
      verifySigstoreSignature({ ...sig, annotations }, m, { publicKeys: [COSIGN2], rekorPublicKeys: [REKOR] }),
    );
  });

  test('a SET that is not JSON, or has unknown fields, is refused', () => {
    const sig = sigOf('key-rekor-valid');
    const trust = { publicKeys: [COSIGN2], rekorPublicKeys: [REKOR] };
    for (const bad of ['{', '{"SignedEntryTimestamp":"","Payload":{},"Extra":1}', '[]']) {
      const annotations = { ...sig.annotations, [SIGSTORE_BUNDLE_ANNOTATION]: bad };
      rejects(() => verifySigstoreSignature({ ...sig, annotations }, m, trust));
    }
  });

  test('a signature without a SET is refused when a Rekor key is required', () => {
    rejects(
      () =>
        verifySigstoreSignature(sigOf('valid'), manifestOf('valid'), {
          publicKeys: [COSIGN],
          rekorPublicKeys: [REKOR],
        }),
      /Rekor SET\) is missing/,
    );
  });

  test('a Rekor key that is not ECDSA is a configuration error', () => {
    const rsa = key('some-rsa-key.pub');
    assert.throws(
      () => verifySigstoreSignature(sigOf('key-rekor-valid'), m, { publicKeys: [COSIGN2], rekorPublicKeys: [rsa] }),
      (e) => isFerryError(e, 'INVALID_CONFIG'),
    );
  });
});

/** A signature made here with `privateKey` over `payload`, as cosign would store it. */
function signed(payload: Buffer, privateKey: KeyObject): SigstoreSignature {
  const alg = privateKey.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  return {
    mimeType: SIGSTORE_SIGNATURE_MIME_TYPE,
    payload,
    annotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: sign(alg, payload, privateKey).toString('base64') },
  };
}

const MANIFEST = Buffer.from('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const DIGEST = manifestDigest(MANIFEST) as Digest;

describe('sigstore: key types', () => {
  const pairs: [string, () => { publicKey: KeyObject; privateKey: KeyObject }][] = [
    ['ECDSA P-256', () => generateKeyPairSync('ec', { namedCurve: 'P-256' })],
    ['ECDSA P-384', () => generateKeyPairSync('ec', { namedCurve: 'P-384' })],
    ['RSA 2048', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['Ed25519', () => generateKeyPairSync('ed25519')],
  ];
  for (const [name, gen] of pairs) {
    test(`${name}: a signature verifies with the key's PEM and fails with another key`, () => {
      const { publicKey, privateKey } = gen();
      const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const payload = sigstorePayloadBytes({ dockerManifestDigest: DIGEST, dockerReference: 'quay.io/a/b:1' });
      const sig = signed(payload, privateKey);
      const v = verifySigstoreSignature(sig, MANIFEST, { publicKeys: [parsePublicKeyPEM(pem, name)] });
      assert.equal(v.dockerReference, 'quay.io/a/b:1');
      assert.equal(v.dockerManifestDigest, DIGEST);
      rejects(() => verifySigstoreSignature(sig, MANIFEST, { publicKeys: [COSIGN] }), 'signature-mismatch');
    });
  }

  test('an RSA PKCS #1 "RSA PUBLIC KEY" PEM is read', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.equal(parsePublicKeyPEM(pem, 'pkcs1').asymmetricKeyType, 'rsa');
    assert.equal(key('some-rsa-key.pub').asymmetricKeyType, 'rsa');
  });

  const badKeys: [string, () => string][] = [
    [
      'a private key',
      () =>
        generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
          type: 'pkcs8',
          format: 'pem',
        }) as string,
    ],
    ['a certificate', () => readFileSync(F('fulcio_v1.crt.pem'), 'utf8')],
    ['text without PEM', () => 'hello'],
    ['a PEM block of garbage', () => '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'],
    ['an X25519 key', () => generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'pem' }) as string],
  ];
  for (const [name, pem] of badKeys) {
    test(`${name} is refused as a public key, naming it`, () => {
      assert.throws(
        () => parsePublicKeyPEM(pem(), 'keys/k.pub'),
        (e) => e instanceof FerryError && e.code === 'INVALID_CONFIG' && e.message.includes('keys/k.pub'),
      );
    });
  }
});

describe('sigstore: strict payload parsing (signed, so only the parser can refuse)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const trust = { publicKeys: [publicKey] };
  const critical = `{"identity":{"docker-reference":"quay.io/a/b"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"}`;
  const verifyText = (text: string) => verifySigstoreSignature(signed(Buffer.from(text), privateKey), MANIFEST, trust);

  test('"optional": null (as cosign writes it), creator and timestamp are accepted', () => {
    assert.equal(verifyText(`{"critical":${critical},"optional":null}`).dockerReference, 'quay.io/a/b');
    const v = verifyText(`{"critical":${critical},"optional":{"creator":"c","timestamp":1700000000,"x":[1]}}`);
    assert.equal(v.creator, 'c');
    assert.equal(v.timestamp, 1700000000);
  });

  const bad: [string, string][] = [
    ['not JSON', '{"critical":'],
    ['not an object', '[]'],
    ['an unknown top-level key', `{"critical":${critical},"optional":null,"x":1}`],
    ['a missing optional', `{"critical":${critical}}`],
    ['a duplicate key', `{"critical":${critical},"optional":null,"optional":null}`],
    ['a duplicate nested key', `{"critical":${critical.replace('"type"', '"type":"x","type"')},"optional":null}`],
    [
      'another signature type',
      `{"critical":${critical.replace('cosign container image signature', 'atomic container signature')},"optional":null}`,
    ],
    ['an unknown critical key', `{"critical":${critical.replace('{"identity"', '{"x":1,"identity"')},"optional":null}`],
    ['a malformed digest', `{"critical":${critical.replace(DIGEST, 'sha256:xyz')},"optional":null}`],
    ['a reference that is not a string', `{"critical":${critical.replace('"quay.io/a/b"', '1')},"optional":null}`],
    ['a fractional timestamp', `{"critical":${critical},"optional":{"timestamp":1.5}}`],
    ['a creator that is not a string', `{"critical":${critical},"optional":{"creator":1}}`],
  ];
  for (const [name, text] of bad) {
    test(`refuses ${name}`, () => rejects(() => verifyText(text)));
  }
});

describe('sigstore: hostile input never crashes', () => {
  test('every one-byte change of valid signature files gives a result or a typed error', () => {
    const trusts: SigstoreKeyTrust[] = [{ publicKeys: [COSIGN] }, { publicKeys: [COSIGN2], rekorPublicKeys: [REKOR] }];
    for (const [dir, trust] of [
      ['valid', trusts[0]],
      ['key-rekor-valid', trusts[1]],
    ] as const) {
      const blob = readFileSync(F(`dir-img-cosign-${dir}`, 'signature-1'));
      const m = manifestOf(dir);
      let accepted = 0;
      for (let i = 0; i < blob.length; i += 3) {
        const mutated = Buffer.from(blob);
        mutated[i] = (mutated[i] as number) ^ (1 << (i % 8));
        try {
          verifySigstoreSignature(parseSigstoreBlob(mutated), m, trust as SigstoreKeyTrust);
          accepted++;
        } catch (e) {
          assert.ok(e instanceof FerryError, `offset ${i}: ${String(e)}`);
        }
      }
      // Only changes JSON ignores (none here that keep both base64 and signature intact) could be accepted.
      assert.ok(accepted < blob.length / 30, `${dir}: ${accepted} mutations accepted`);
    }
  });
});
