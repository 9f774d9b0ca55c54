/** An upload body that hashes the bytes it sends. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest, DigestAlgorithm } from '../digest/digest.js';
import { FerryError } from '../errors.js';

/**
 * The upload body: the source's bytes, hashed as they are read. The HTTP client may drop the body
 * once the registry has answered (it got the announced length before the source reported its end),
 * so the result is taken either at the source's end or when exactly the announced bytes went out.
 */
export function hashingBody(
  source: Readable,
  algorithm: DigestAlgorithm,
  keep = 0,
): { body: Readable; result(announced: number, what: string): { digest: Digest; size: number }; taken(): Buffer | undefined } {
  const hash = createHash(algorithm);
  let size = 0;
  let ended = false;
  // The bytes taken from the source so far, while they fit in `keep` (to replay them after a refusal).
  let kept: Buffer[] | undefined = keep > 0 ? [] : undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    // The source outlives an abandoned body: the caller may replay it, and destroys it otherwise.
    for await (const chunk of source.iterator({ destroyOnReturn: false })) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(buf);
      size += buf.length;
      if (kept !== undefined && size > keep) kept = undefined;
      kept?.push(buf);
      yield buf;
    }
    ended = true;
  }
  return {
    taken: () => (kept === undefined ? undefined : Buffer.concat(kept)),
    body: Readable.from(chunks(), { objectMode: false }),
    result(announced, what) {
      if (!ended && size !== announced) {
        throw new FerryError('SIZE_MISMATCH', `${what}: the registry accepted ${size} bytes before the stream ended`, { details: { size } });
      }
      if (!ended) source.destroy();
      return { digest: `${algorithm}:${hash.digest('hex')}`, size };
    },
  };
}
