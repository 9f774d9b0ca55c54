/**
 * The X.509 checks sigstore certificates need, on node:crypto's X509Certificate plus a small DER reader
 * for what it does not expose (extensions, their criticality, SAN e-mail addresses). Chain building
 * follows Go's x509.Certificate.Verify as containers/image uses it: each certificate valid at the
 * relevant time and signed by the next, intermediates marked CA, code signing allowed by every
 * extended key usage on the path, no unknown critical extension. Not checked (Go does): name
 * constraints and path length constraints.
 */
import { X509Certificate } from 'node:crypto';
import { FerryError } from '../../errors.js';
import { decodePEM } from './keys.js';
import { invalidSignature } from './strict-json.js';

/** A DER element: tag byte, content start and end offsets. */
interface TLV {
  tag: number;
  start: number;
  end: number;
}

function readTLV(buf: Buffer, off: number, limit: number): TLV {
  if (off + 2 > limit) throw new RangeError('truncated DER');
  const tag = buf[off] as number;
  let len = buf[off + 1] as number;
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new RangeError('unsupported DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  if (start + len > limit) throw new RangeError('truncated DER');
  return { tag, start, end: start + len };
}

function children(buf: Buffer, parent: TLV): TLV[] {
  const out: TLV[] = [];
  for (let off = parent.start; off < parent.end; ) {
    const t = readTLV(buf, off, parent.end);
    out.push(t);
    off = t.end;
  }
  return out;
}

function oidString(b: Buffer): string {
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

export interface CertExtension {
  oid: string;
  critical: boolean;
  value: Buffer;
}

/** The extensions of a certificate, from its DER. */
export function certExtensions(cert: X509Certificate): CertExtension[] {
  const der = cert.raw;
  const top = readTLV(der, 0, der.length);
  const tbs = children(der, top)[0];
  if (tbs === undefined) throw new RangeError('empty certificate');
  const extsWrapper = children(der, tbs).find((t) => t.tag === 0xa3);
  if (extsWrapper === undefined) return [];
  const seq = children(der, extsWrapper)[0];
  if (seq === undefined) return [];
  return children(der, seq).map((ext) => {
    const parts = children(der, ext);
    const oid = parts[0];
    const critical = parts.length === 3 && parts[1]?.tag === 0x01 && der[parts[1].start] !== 0;
    const value = parts[parts.length - 1];
    if (oid?.tag !== 0x06 || value?.tag !== 0x04) throw new RangeError('malformed extension');
    return { oid: oidString(der.subarray(oid.start, oid.end)), critical, value: der.subarray(value.start, value.end) };
  });
}

const SAN = '2.5.29.17';
const EXT_KEY_USAGE = '2.5.29.37';
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
const ANY_EXT_KEY_USAGE = '2.5.29.37.0';
/** Critical extensions Go's x509 understands (others make a certificate unusable). */
const HANDLED = new Set([
  '2.5.29.14',
  '2.5.29.15',
  SAN,
  '2.5.29.19',
  '2.5.29.30',
  '2.5.29.31',
  '2.5.29.32',
  '2.5.29.35',
  EXT_KEY_USAGE,
  '1.3.6.1.5.5.7.1.1',
]);

/** The rfc822Name entries of the Subject Alternative Name extension. */
export function sanEmails(cert: X509Certificate): string[] {
  try {
    const ext = certExtensions(cert).find((e) => e.oid === SAN);
    if (ext === undefined) return [];
    const top = readTLV(ext.value, 0, ext.value.length);
    return children(ext.value, top)
      .filter((t) => t.tag === 0x81)
      .map((t) => ext.value.subarray(t.start, t.end).toString('latin1'));
  } catch (e) {
    throw invalidSignature(`the Subject Alternative Name does not parse (${(e as Error).message})`, 'certificate');
  }
}

/** Reads a DER UTF8String (the OIDC issuer v2 extension's value). */
export function derUTF8String(b: Buffer): string {
  const t = readTLV(b, 0, b.length);
  if (t.tag !== 0x0c || t.end !== b.length) throw new RangeError('not a single UTF8String');
  return b.subarray(t.start, t.end).toString('utf8');
}

/** Every CERTIFICATE block of PEM text; any other block, or none at all, is refused. */
export function parseCertificatesPEM(text: string, what: string): X509Certificate[] {
  const out: X509Certificate[] = [];
  let rest = text;
  for (let block = decodePEM(rest); block !== undefined; block = decodePEM(rest)) {
    if (block.label !== 'CERTIFICATE') throw invalidSignature(`PEM block "${block.label}" is not a certificate`, what);
    try {
      out.push(new X509Certificate(block.der));
    } catch (e) {
      throw invalidSignature(`a certificate does not parse (${(e as Error).message})`, what);
    }
    rest = block.rest;
  }
  if (out.length === 0) throw invalidSignature('no certificate found', what);
  return out;
}

/** Certificates the user trusts (a CA file): a problem is a configuration error, not a bad signature. */
export function trustedCertificatesPEM(text: string, what: string): X509Certificate[] {
  try {
    return parseCertificatesPEM(text, what);
  } catch (e) {
    if (!(e instanceof FerryError)) throw e;
    throw new FerryError('INVALID_CONFIG', e.message, { details: { certificates: what } });
  }
}

function validAt(cert: X509Certificate, time: Date): boolean {
  const t = time.getTime();
  return new Date(cert.validFrom).getTime() <= t && t <= new Date(cert.validTo).getTime();
}

function allowsCodeSigning(cert: X509Certificate): boolean {
  const eku = cert.keyUsage; // Node names the extended key usage OIDs keyUsage; undefined = no restriction
  return eku === undefined || eku.includes(CODE_SIGNING) || eku.includes(ANY_EXT_KEY_USAGE);
}

function checkCriticalExtensions(cert: X509Certificate, what: string): void {
  let exts: CertExtension[];
  try {
    exts = certExtensions(cert);
  } catch (e) {
    throw invalidSignature(`certificate extensions do not parse (${(e as Error).message})`, what);
  }
  const unknown = exts.find((e) => e.critical && !HANDLED.has(e.oid));
  if (unknown) throw invalidSignature(`certificate has an unhandled critical extension ${unknown.oid}`, what);
}

/**
 * Verifies that `leaf` chains to one of `roots` through `intermediates`, for code signing, at `time`.
 * Throws INVALID_SIGNATURE saying what failed.
 */
export function verifyCertificateChain(
  leaf: X509Certificate,
  intermediates: X509Certificate[],
  roots: X509Certificate[],
  time: Date,
  what: string,
): void {
  const problems: string[] = [];
  const walk = (cert: X509Certificate, used: Set<X509Certificate>, depth: number): boolean => {
    if (!validAt(cert, time)) {
      problems.push(`${cert.subject || 'a certificate'} is not valid at ${time.toISOString()}`);
      return false;
    }
    if (!allowsCodeSigning(cert)) {
      problems.push(`${cert.subject || 'a certificate'} does not allow code signing`);
      return false;
    }
    checkCriticalExtensions(cert, what);
    if (depth > 10) return false;
    for (const root of roots) {
      if (cert.checkIssued(root) && cert.verify(root.publicKey) && validAt(root, time) && allowsCodeSigning(root)) {
        return true;
      }
    }
    for (const next of intermediates) {
      if (used.has(next) || !next.ca || !cert.checkIssued(next) || !cert.verify(next.publicKey)) continue;
      if (walk(next, new Set([...used, next]), depth + 1)) return true;
    }
    return false;
  };
  if (!walk(leaf, new Set(), 0)) {
    const why = problems.length > 0 ? problems.join('; ') : 'no chain to a trusted root';
    throw invalidSignature(`the certificate does not verify: ${why}`, what, { reason: 'certificate' });
  }
}
