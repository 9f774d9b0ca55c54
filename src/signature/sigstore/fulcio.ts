/**
 * Fulcio certificates (containers/image signature/fulcio_cert.go): the signing certificate must be in
 * a Rekor SET (which gives the time), chain to the Fulcio CA at that time for code signing, record the
 * expected OIDC issuer (extension 1.3.6.1.4.1.57264.1.1, or .1.8 as a UTF8String; both must agree) and
 * carry the expected e-mail in its SAN. Signed certificate timestamps (SCTs) are not checked, as upstream.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { verifyRekorSET } from './rekor-set.js';
import { invalidSignature } from './strict-json.js';
import {
  certExtensions,
  derUTF8String,
  parseCertificatesPEM,
  sanEmails,
  trustedCertificatesPEM,
  verifyCertificateChain,
} from './x509.js';

export interface FulcioTrust {
  /** PEM of the Fulcio CA certificate(s). */
  caCertificates: string;
  oidcIssuer: string;
  subjectEmail: string;
}

const OIDC_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OIDC_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';
const WHAT = 'Fulcio certificate';

/** The OIDC issuer Fulcio recorded in `cert`. */
export function fulcioIssuer(cert: X509Certificate): string {
  let v1: string | undefined;
  let v2: string | undefined;
  let exts: ReturnType<typeof certExtensions>;
  try {
    exts = certExtensions(cert);
  } catch (e) {
    throw invalidSignature(`certificate extensions do not parse (${(e as Error).message})`, WHAT);
  }
  for (const ext of exts) {
    if (ext.oid === OIDC_ISSUER_V1) {
      if (v1 !== undefined) throw invalidSignature('duplicate OIDC issuer v1 extension', WHAT);
      v1 = ext.value.toString('utf8');
    } else if (ext.oid === OIDC_ISSUER_V2) {
      if (v2 !== undefined) throw invalidSignature('duplicate OIDC issuer v2 extension', WHAT);
      try {
        v2 = derUTF8String(ext.value);
      } catch {
        throw invalidSignature('invalid ASN.1 in the OIDC issuer v2 extension', WHAT);
      }
    }
  }
  if (v1 !== undefined && v2 !== undefined && v1 !== v2) {
    throw invalidSignature(`inconsistent OIDC issuer extensions ${JSON.stringify(v1)} and ${JSON.stringify(v2)}`, WHAT);
  }
  const issuer = v1 ?? v2;
  if (issuer === undefined) throw invalidSignature('the OIDC issuer extension is missing', WHAT);
  return issuer;
}

/** The single certificate of a certificate annotation. */
export function leafCertificate(pem: string, what: string): X509Certificate {
  const certs = parseCertificatesPEM(pem, what);
  if (certs.length !== 1) throw invalidSignature('more than one certificate in the signature certificate data', what);
  return certs[0] as X509Certificate;
}

/** The untrusted intermediates of a chain annotation: all but its last certificate (the root), as upstream. */
export function chainIntermediates(pem: string | undefined, what: string): X509Certificate[] {
  if (pem === undefined || pem === '') return [];
  return parseCertificatesPEM(pem, what).slice(0, -1);
}

export interface FulcioInput {
  trust: FulcioTrust;
  rekorPublicKeys: KeyObject[];
  set: string;
  certificate: string;
  chain: string | undefined;
  base64Signature: string;
  payload: Buffer;
}

/** Verifies the certificate as above; returns its public key (to verify the payload signature with) and the log time. */
export function verifyFulcioCertificate(input: FulcioInput): { publicKey: KeyObject; time: Date } {
  const leaf = leafCertificate(input.certificate, WHAT);
  const time = verifyRekorSET({
    rekorPublicKeys: input.rekorPublicKeys,
    set: input.set,
    signerDER: leaf.raw,
    base64Signature: input.base64Signature,
    payload: input.payload,
  });
  const roots = trustedCertificatesPEM(input.trust.caCertificates, 'Fulcio CA');
  verifyCertificateChain(leaf, chainIntermediates(input.chain, `${WHAT} chain`), roots, time, WHAT);
  const issuer = fulcioIssuer(leaf);
  if (issuer !== input.trust.oidcIssuer)
    throw invalidSignature(`unexpected OIDC issuer ${JSON.stringify(issuer)}`, WHAT);
  const emails = sanEmails(leaf);
  if (!emails.includes(input.trust.subjectEmail)) {
    throw invalidSignature(
      `required e-mail ${JSON.stringify(input.trust.subjectEmail)} not found (got ${JSON.stringify(emails)})`,
      WHAT,
    );
  }
  return { publicKey: leaf.publicKey, time };
}
