import { createHash } from 'node:crypto';
import { FerryError } from '../errors.js';

/** A content digest, `algorithm:encoded` (OCI image-spec descriptor.md#digests), e.g. `sha256:3e4f…`. */
export type Digest = `${string}:${string}`;

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

/** Hex length of each algorithm Ferry accepts. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

export function isDigestAlgorithm(s: string): s is DigestAlgorithm {
  return Object.hasOwn(DIGEST_HEX_LENGTH, s);
}

/** Validates `s` as a digest Ferry can verify; throws a typed error naming the rule otherwise. */
export function parseDigest(s: string): Digest {
  const colon = s.indexOf(':');
  if (colon <= 0) throw new FerryError('INVALID_DIGEST', `invalid digest "${s}": must have the form algorithm:hex`);
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (!isDigestAlgorithm(algorithm)) {
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(algorithm)) {
      throw new FerryError(
        'UNSUPPORTED_DIGEST_ALGORITHM',
        `invalid digest "${s}": algorithm "${algorithm}" is not supported (sha256, sha384, sha512)`,
      );
    }
    throw new FerryError('INVALID_DIGEST', `invalid digest "${s}": malformed algorithm "${algorithm}"`);
  }
  if (!/^[0-9a-f]*$/.test(hex)) {
    throw new FerryError('INVALID_DIGEST', `invalid digest "${s}": the encoded part must be lowercase hex`);
  }
  if (hex.length !== DIGEST_HEX_LENGTH[algorithm]) {
    throw new FerryError(
      'INVALID_DIGEST',
      `invalid digest "${s}": ${algorithm} needs ${DIGEST_HEX_LENGTH[algorithm]} hex characters, got ${hex.length}`,
    );
  }
  return s as Digest;
}

/** Whether `s` is a digest parseDigest accepts; asks without throwing (it runs once per tag of a sync). */
export function isDigest(s: string): s is Digest {
  const colon = s.indexOf(':');
  if (colon <= 0) return false;
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  return isDigestAlgorithm(algorithm) && hex.length === DIGEST_HEX_LENGTH[algorithm] && /^[0-9a-f]*$/.test(hex);
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

/** The encoded (hex) part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

/** The digest of bytes held in memory (manifests, configs: never a whole layer). */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
