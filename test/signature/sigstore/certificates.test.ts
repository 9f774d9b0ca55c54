import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import {
  type FulcioTrust,
  type PKITrust,
  parsePublicKeyPEM,
  parseSigstoreBlob,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  type SigstoreSignature,
  verifySigstoreSignature,
} from '../../../src/signature/sigstore/index.js';
import { fixturePath } from '../../helpers/paths.js';

const F = (...p: string[]) => fixturePath('signature', 'sigstore', ...p);
const text = (name: string) => readFileSync(F(name), 'utf8');
const REKOR = parsePublicKeyPEM(text('rekor.pub'), 'rekor.pub');
const COSIGN = parsePublicKeyPEM(text('cosign.pub'), 'cosign.pub');
const FULCIO_SIG = parseSigstoreBlob(readFileSync(F('dir-img-cosign-fulcio-rekor-valid', 'signature-1')));
const FULCIO_MANIFEST = readFileSync(F('dir-img-cosign-fulcio-rekor-valid', 'manifest.json'));
const PKI_SIG = parseSigstoreBlob(readFileSync(F('dir-img-cosign-pki-valid', 'signature-1')));
const PKI_MANIFEST = readFileSync(F('dir-img-cosign-pki-valid', 'manifest.json'));
const FULCIO: FulcioTrust = {
  caCertificates: text('fulcio_v1.crt.pem'),
  oidcIssuer: 'https://github.com/login/oauth',
  subjectEmail: 'mitr@redhat.com',
};
const PKI: PKITrust = {
  caRoots: text('pki_root_crts.pem'),
  caIntermediates: text('pki_intermediate_crts.pem'),
  subjectEmail: 'qiwan@redhat.com',
  subjectHostname: 'myhost.example.com',
};

function rejects(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (e) => {
    assert.ok(isFerryError(e, 'INVALID_SIGNATURE'), `expected INVALID_SIGNATURE, got ${String(e)}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

const without = (sig: SigstoreSignature, name: string): SigstoreSignature => {
  const annotations = { ...sig.annotations };
  delete annotations[name];
  return { ...sig, annotations };
};

describe('sigstore: Fulcio certificates (fulcio-rekor-valid)', () => {
  test('verifies with the Fulcio CA, the OIDC issuer, the e-mail and rekor.pub', () => {
    for (const rekorPublicKeys of [[REKOR], [REKOR, COSIGN], [COSIGN, REKOR]]) {
      const v = verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, { fulcio: FULCIO, rekorPublicKeys });
      assert.equal(v.dockerReference, '192.168.64.2:5000/cosign-signed/fulcio-rekor-1');
      assert.equal(v.rekorIntegratedTime?.toISOString(), '2023-01-20T20:51:33.000Z');
    }
  });

  test('another OIDC issuer is refused', () => {
    rejects(
      () =>
        verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, {
          fulcio: { ...FULCIO, oidcIssuer: 'https://example.com' },
          rekorPublicKeys: [REKOR],
        }),
      /OIDC issuer/,
    );
  });

  test('another subject e-mail is refused', () => {
    rejects(
      () =>
        verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, {
          fulcio: { ...FULCIO, subjectEmail: 'someone@example.com' },
          rekorPublicKeys: [REKOR],
        }),
      /e-mail/,
    );
  });

  test('a certificate that does not chain to the given CA is refused', () => {
    rejects(
      () =>
        verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, {
          fulcio: { ...FULCIO, caCertificates: text('pki_root_crts.pem') },
          rekorPublicKeys: [REKOR],
        }),
      /does not verify/,
    );
  });

  test('a SET by another Rekor key, or no SET, is refused', () => {
    rejects(() => verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, { fulcio: FULCIO, rekorPublicKeys: [COSIGN] }));
    rejects(
      () =>
        verifySigstoreSignature(without(FULCIO_SIG, SIGSTORE_BUNDLE_ANNOTATION), FULCIO_MANIFEST, {
          fulcio: FULCIO,
          rekorPublicKeys: [REKOR],
        }),
      /missing/,
    );
  });

  test('a certificate other than the one the SET records is refused', () => {
    const sig = {
      ...FULCIO_SIG,
      annotations: { ...FULCIO_SIG.annotations, [SIGSTORE_CERTIFICATE_ANNOTATION]: text('fulcio_v1.crt.pem') },
    };
    rejects(() => verifySigstoreSignature(sig, FULCIO_MANIFEST, { fulcio: FULCIO, rekorPublicKeys: [REKOR] }));
  });

  test('a CA file without certificates is a configuration error', () => {
    assert.throws(
      () =>
        verifySigstoreSignature(FULCIO_SIG, FULCIO_MANIFEST, {
          fulcio: { ...FULCIO, caCertificates: 'not PEM' },
          rekorPublicKeys: [REKOR],
        }),
      (e) => isFerryError(e, 'INVALID_CONFIG'),
    );
  });
});

describe('sigstore: PKI certificates (pki-valid)', () => {
  test('verifies with the roots, intermediates, e-mail and host name', () => {
    const v = verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: PKI });
    assert.equal(v.dockerReference, 'localhost:5000/test');
    assert.equal(v.rekorIntegratedTime, undefined);
  });

  test('either the e-mail or the host name alone is enough', () => {
    const { subjectHostname: _h, ...emailOnly } = PKI;
    const { subjectEmail: _e, ...hostOnly } = PKI;
    verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: emailOnly });
    verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: hostOnly });
  });

  test('another e-mail or host name is refused', () => {
    rejects(
      () => verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: { ...PKI, subjectEmail: 'x@example.com' } }),
      /e-mail/,
    );
    rejects(
      () => verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: { ...PKI, subjectHostname: 'other.example.com' } }),
      /host/,
    );
  });

  test('roots that did not issue the chain are refused', () => {
    rejects(
      () => verifySigstoreSignature(PKI_SIG, PKI_MANIFEST, { pki: { ...PKI, caRoots: text('fulcio_v1.crt.pem') } }),
      /does not verify/,
    );
  });

  test('a signature without a certificate is refused', () => {
    rejects(() =>
      verifySigstoreSignature(without(PKI_SIG, SIGSTORE_CERTIFICATE_ANNOTATION), PKI_MANIFEST, { pki: PKI }),
    );
  });
});
