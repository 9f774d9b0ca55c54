/**
 * A blob body that survives a broken connection: when a read fails with a reset or a timeout, the
 * rest is requested again with `Range: bytes=N-` (a 206 whose Content-Range starts at N), a bounded
 * number of times. Any other failure, or a server that cannot resume, fails the stream.
 */
import { Readable } from 'node:stream';
import { abortError, FerryError } from '../errors.js';
import { isRetryableNetworkError } from './retry.js';

/** Opens the blob from byte `offset` on; must return a stream positioned exactly there. */
export type RangeOpener = (offset: number) => Promise<Readable>;

export interface ResumeOptions {
  size: number;
  maxResumes: number;
  /** Names the blob in errors. */
  what: string;
  signal?: AbortSignal;
}

export function resumableStream(first: Readable, reopen: RangeOpener, o: ResumeOptions): Readable {
  const { size, maxResumes, what, signal } = o;
  let current: Readable = first;
  async function* chunks(): AsyncGenerator<Buffer> {
    let offset = 0;
    let resumes = 0;
    try {
      for (;;) {
        try {
          for await (const chunk of current) {
            const buf = chunk as Buffer;
            offset += buf.length;
            yield buf;
          }
          return;
        } catch (e) {
          if (signal?.aborted) throw abortError(signal);
          // Every byte arrived before the connection broke: nothing left to resume.
          if (size >= 0 && offset === size && isRetryableNetworkError(e)) return;
          if (!isRetryableNetworkError(e) || resumes >= maxResumes) {
            if (e instanceof FerryError) throw e;
            throw new FerryError('REGISTRY_UNREACHABLE', `reading ${what} failed after ${offset} bytes: ${(e as Error).message}`, {
              cause: e,
              details: { offset, resumes },
            });
          }
          resumes++;
          current.destroy();
          current = await reopen(offset);
        }
      }
    } finally {
      current.destroy();
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
