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
  return new ResumableBody(first, reopen, o);
}

/**
 * Forwards the current body's chunks as they come (events, not an async iterator: a blob is
 * thousands of chunks and each await costs), and swaps in a reopened body when a read breaks.
 */
class ResumableBody extends Readable {
  readonly #reopen: RangeOpener;
  readonly #o: ResumeOptions;
  #current: Readable;
  #offset = 0;
  #resumes = 0;
  #ended = false;
  readonly #onData = (chunk: Buffer): void => {
    this.#offset += chunk.length;
    if (!this.push(chunk)) this.#current.pause();
  };
  readonly #onEnd = (): void => this.#end();

  constructor(first: Readable, reopen: RangeOpener, o: ResumeOptions) {
    super();
    this.#reopen = reopen;
    this.#o = o;
    this.#current = first;
    this.#follow(first);
    // A body that failed before it was handed over emits nothing more.
    const failed = first.errored;
    if (failed !== null) process.nextTick(() => this.#broken(first, failed));
  }

  override _read(): void {
    this.#current.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#current.destroy();
    callback(error);
  }

  #follow(body: Readable): void {
    body.on('data', this.#onData);
    body.once('end', this.#onEnd);
    body.on('error', (e: unknown) => this.#broken(body, e));
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.push(null);
  }

  #broken(body: Readable, e: unknown): void {
    // An error of a body already given up on, or after the end, changes nothing.
    if (body !== this.#current || this.#ended || this.destroyed) return;
    const { size, maxResumes, what, signal } = this.#o;
    if (signal?.aborted) {
      this.destroy(abortError(signal));
      return;
    }
    // Every byte arrived before the connection broke: nothing left to resume.
    if (size >= 0 && this.#offset === size && isRetryableNetworkError(e)) {
      this.#end();
      return;
    }
    if (!isRetryableNetworkError(e) || this.#resumes >= maxResumes) {
      this.destroy(
        e instanceof FerryError
          ? e
          : new FerryError(
              'REGISTRY_UNREACHABLE',
              `reading ${what} failed after ${this.#offset} bytes: ${(e as Error).message}`,
              {
                cause: e,
                details: { offset: this.#offset, resumes: this.#resumes },
              },
            ),
      );
      return;
    }
    this.#resumes++;
    body.off('data', this.#onData);
    body.off('end', this.#onEnd);
    body.destroy();
    this.#reopen(this.#offset).then(
      (next) => {
        if (this.destroyed) {
          next.destroy();
          return;
        }
        this.#current = next;
        this.#follow(next);
      },
      (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
