/** An upload body that hashes the bytes it sends. */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Digest, DigestAlgorithm } from '../digest/digest.js';
import { FerryError } from '../errors.js';

/**
 * The upload body: the source's bytes, hashed as they are read (`algorithm` undefined: only
 * counted, when the caller verifies the digest itself). The HTTP client may drop the body once the
 * registry has answered (it got the announced length before the source reported its end), so the
 * result is taken either at the source's end or when exactly the announced bytes went out.
 */
export function hashingBody(
  source: Readable,
  algorithm: DigestAlgorithm | undefined,
  keep = 0,
): {
  body: Readable;
  result(announced: number, what: string): { digest: Digest | undefined; size: number };
  taken(): Buffer | undefined;
  settled(): Promise<void>;
} {
  const hash: Hash | undefined = algorithm === undefined ? undefined : createHash(algorithm);
  let size = 0;
  let ended = false;
  // The bytes taken from the source so far, while they fit in `keep` (to replay them after a refusal).
  let kept: Buffer[] | undefined = keep > 0 ? [] : undefined;
  async function* chunks(): AsyncGenerator<Buffer> {
    // The source outlives an abandoned body: the caller may replay it, and destroys it otherwise.
    for await (const chunk of source.iterator({ destroyOnReturn: false })) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      hash?.update(buf);
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
      if (!ended && hash !== undefined) source.destroy();
      return { digest: hash === undefined ? undefined : `${algorithm}:${hash.digest('hex')}`, size };
    },
    /**
     * Resolves once the source has ended normally, rejects if it failed: where the caller verifies
     * the digest, its verdict arrives as the source's end or error, possibly after the registry answered.
     */
    async settled() {
      if (ended) return;
      const extra = (chunk: Buffer) => {
        size += chunk.length;
      };
      source.on('data', extra);
      try {
        await finished(source, { writable: false });
      } finally {
        source.off('data', extra);
      }
      ended = true;
    },
  };
}
