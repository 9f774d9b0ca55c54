/** What a fetched manifest is: its MIME type, and its digest checked against what was asked and what the registry said. */
import { type Digest, digestAlgorithm, isDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { manifestDigest, manifestMatchesDigest } from '../manifest/digest.js';
import { guessMIMETypeLenient } from '../manifest/guess.js';
import { isKnownManifestMIMEType, normalizeMIMEType } from '../manifest/mediatypes.js';

/** The manifest's MIME type: the Content-Type when it names a manifest type, else guessed from the bytes. */
export function manifestMIMEType(contentType: string | undefined, bytes: Buffer): string {
  const ct = contentType?.split(';')[0]?.trim() ?? '';
  if (isKnownManifestMIMEType(ct)) return ct;
  return guessMIMETypeLenient(bytes) || normalizeMIMEType(ct);
}

/** Checks the bytes against the requested digest and `Docker-Content-Digest`; returns the manifest digest. */
export function checkManifestDigests(
  bytes: Buffer,
  ref: string,
  headerDigest: string | undefined,
  what: string,
): Digest {
  const mismatch = (expected: Digest, source: string): FerryError => {
    const actual = manifestDigest(bytes, digestAlgorithm(expected));
    return new FerryError(
      'DIGEST_MISMATCH',
      `${what}: the manifest's digest is ${actual}, ${source} says ${expected}`,
      {
        details: { expected, actual },
      },
    );
  };
  if (isDigest(ref) && !manifestMatchesDigest(bytes, ref)) throw mismatch(ref, 'the reference');
  if (headerDigest !== undefined && isDigest(headerDigest) && !manifestMatchesDigest(bytes, headerDigest)) {
    throw mismatch(headerDigest, 'Docker-Content-Digest');
  }
  return isDigest(ref) ? ref : manifestDigest(bytes);
}
