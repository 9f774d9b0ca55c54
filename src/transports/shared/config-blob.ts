/**
 * An image config given to a destination that needs it in memory (docker-archive:, docker-daemon:
 * derive the legacy entries from it): read whole, at most MAX_CONFIG_SIZE bytes, and checked against
 * the digest and size the caller gave, instead of spooled to a file and read back.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { type Digest, digestOf } from '../../digest/digest.js';
import { DigestVerifier } from '../../digest/verify.js';
import { FerryError } from '../../errors.js';
import { MAX_CONFIG_SIZE, readAllLimited } from '../../manifest/limits.js';

/**
 * The config's bytes and digest (in the algorithm the caller named it by, else sha256): TOO_LARGE,
 * SIZE_MISMATCH or DIGEST_MISMATCH as the stream warrants, as a blob stored through a DigestVerifier.
 */
export async function readConfigBlob(
  stream: Readable,
  info: { digest?: Digest; size: number },
  what: string,
): Promise<{ digest: Digest; bytes: Buffer }> {
  if (info.digest === undefined) {
    const bytes = await readAllLimited(stream, MAX_CONFIG_SIZE, what);
    const digest = digestOf(bytes);
    if (info.size >= 0 && bytes.length !== info.size) {
      throw new FerryError(
        'SIZE_MISMATCH',
        `size mismatch for ${digest}: expected ${info.size} bytes, got ${bytes.length}`,
        { details: { expected: info.size, actual: bytes.length } },
      );
    }
    return { digest, bytes };
  }
  const verifier = new DigestVerifier(info.digest, info.size);
  // The verifier's error (or the stream's) ends the read below; the callback has nothing to add.
  pipeline(stream, verifier, () => {});
  return { digest: info.digest, bytes: await readAllLimited(verifier, MAX_CONFIG_SIZE, what) };
}
