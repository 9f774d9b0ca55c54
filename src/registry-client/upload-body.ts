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
export function hashingBody(source: Readable, algorithm: DigestAlgorithm): { body: Readable; result(announced: number, what: string): { digest: Digest; size: number } } {
  const hash = createHash(algorithm);
  let size = 0;
  let ended = false;
  async function* chunks(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash.update(buf);
      size += buf.length;
      yield buf;
    }
    ended = true;
  }
  return {
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
