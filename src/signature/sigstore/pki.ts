/**
 * Certificates from the user's own PKI (containers/image signature/pki_cert.go): the signing
 * certificate must chain, now, for code signing, to the given roots through the given trusted
 * intermediates and the signature's own chain (all but its last certificate); then carry the required
 * SAN e-mail and/or match the required host name (DNS SANs, as Go's VerifyHostname).
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import { chainIntermediates, leafCertificate } from './fulcio.js';
import { invalidSignature } from './strict-json.js';
import { sanEmails, trustedCertificatesPEM, verifyCertificateChain } from './x509.js';

export interface PKITrust {
  /** PEM of the root certificates. */
  caRoots: string;
  /** PEM of trusted intermediate certificates. */
  caIntermediates?: string;
  subjectEmail?: string;
  subjectHostname?: string;
}

const WHAT = 'PKI certificate';

export function verifyPKICertificate(
  trust: PKITrust,
  certificate: string,
  chain: string | undefined,
  now: Date = new Date(),
): KeyObject {
  if (trust.subjectEmail === undefined && trust.subjectHostname === undefined) {
    throw invalidSignature('a PKI trust needs a subject e-mail or host name', WHAT);
  }
  const leaf: X509Certificate = leafCertificate(certificate, WHAT);
  const roots = trustedCertificatesPEM(trust.caRoots, 'PKI CA roots');
  const intermediates = [
    ...(trust.caIntermediates === undefined
      ? []
      : trustedCertificatesPEM(trust.caIntermediates, 'PKI CA intermediates')),
    ...chainIntermediates(chain, `${WHAT} chain`),
  ];
  verifyCertificateChain(leaf, intermediates, roots, now, WHAT);
  if (trust.subjectEmail !== undefined) {
    const emails = sanEmails(leaf);
    if (!emails.includes(trust.subjectEmail)) {
      throw invalidSignature(
        `required e-mail ${JSON.stringify(trust.subjectEmail)} not found (got ${JSON.stringify(emails)})`,
        WHAT,
      );
    }
  }
  if (
    trust.subjectHostname !== undefined &&
    leaf.checkHost(trust.subjectHostname, { subject: 'never' }) === undefined
  ) {
    throw invalidSignature(`the certificate is not for host ${JSON.stringify(trust.subjectHostname)}`, WHAT);
  }
  return leaf.publicKey;
}
