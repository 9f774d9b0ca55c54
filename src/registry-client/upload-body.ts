/** An upload body that hashes the bytes it sends. */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Digest, DigestAlgorithm } from '../digest/digest.js';
import { FerryError } from '../errors.js';

/**
 * Chunks are handed to the socket in batches of about this many bytes: a blob read from another
 * registry arrives in 64 KiB pieces, and each socket write costs far more than copying a piece.
 */
const SEND_BATCH = 512 * 1024;

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
  const body = new UploadBody(source, algorithm === undefined ? undefined : createHash(algorithm), keep);
  return {
    body,
    taken: () => body.taken(),
    result(announced, what) {
      if (!body.sourceEnded && body.size !== announced) {
        throw new FerryError(
          'SIZE_MISMATCH',
          `${what}: the registry accepted ${body.size} bytes before the stream ended`,
          {
            details: { size: body.size },
          },
        );
      }
      if (!body.sourceEnded && body.hash !== undefined) source.destroy();
      return {
        digest: body.hash === undefined ? undefined : `${algorithm}:${body.hash.digest('hex')}`,
        size: body.size,
      };
    },
    /**
     * Resolves once the source has ended normally, rejects if it failed: where the caller verifies
     * the digest, its verdict arrives as the source's end or error, possibly after the registry answered.
     */
    async settled() {
      if (body.sourceEnded) return;
      body.release();
      const extra = (chunk: Buffer) => {
        body.size += chunk.length;
      };
      source.on('data', extra);
      source.resume();
      try {
        await finished(source, { writable: false });
      } finally {
        source.off('data', extra);
      }
      body.sourceEnded = true;
    },
  };
}

/**
 * Takes the source's chunks as they come (events: an async iterator costs a few promises per chunk)
 * and passes them on in batches. The source outlives an abandoned body: the caller may replay it
 * (after a 413), and destroys it otherwise.
 */
class UploadBody extends Readable {
  readonly #source: Readable;
  readonly hash: Hash | undefined;
  readonly #keep: number;
  /** Bytes taken from the source. */
  size = 0;
  sourceEnded = false;
  /** The bytes taken so far while they fit in `keep` (to replay them after a refusal). */
  #kept: Buffer[] | undefined;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #released = false;
  readonly #onData = (chunk: Buffer | string): void => {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.hash?.update(buf);
    this.size += buf.length;
    if (this.#kept !== undefined && this.size > this.#keep) this.#kept = undefined;
    this.#kept?.push(buf);
    this.#batch.push(buf);
    this.#batchBytes += buf.length;
    if (this.#batchBytes >= SEND_BATCH && !this.#sendBatch()) this.#source.pause();
  };
  readonly #onEnd = (): void => {
    this.sourceEnded = true;
    this.#sendBatch();
    this.push(null);
  };
  readonly #onError = (e: Error): void => {
    this.destroy(e);
  };

  constructor(source: Readable, hash: Hash | undefined, keep: number) {
    super({ highWaterMark: SEND_BATCH });
    this.#source = source;
    this.hash = hash;
    this.#keep = keep;
    this.#kept = keep > 0 ? [] : undefined;
    // A source that already failed (its digest check, while the upload was being opened) emits
    // nothing more: fail at once rather than wait for events that never come.
    if (source.errored !== null || (source.destroyed && !source.readableEnded)) {
      this.#released = true;
      const cause =
        source.errored ?? new FerryError('UNSUPPORTED_OPERATION', 'the blob stream was closed before its upload began');
      process.nextTick(() => this.destroy(cause));
      return;
    }
    if (source.readableEnded) {
      this.#released = true;
      this.sourceEnded = true;
      this.push(null);
      return;
    }
    source.on('data', this.#onData);
    source.once('end', this.#onEnd);
    source.once('error', this.#onError);
  }

  taken(): Buffer | undefined {
    return this.#kept === undefined ? undefined : Buffer.concat(this.#kept);
  }

  override _read(): void {
    if (!this.#released) this.#source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.release();
    callback(error);
  }

  /** Stops taking from the source and leaves it paused, whole from the next byte on. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    // A flowing stream keeps emitting without listeners: pause first.
    this.#source.pause();
    this.#source.off('data', this.#onData);
    this.#source.off('end', this.#onEnd);
    this.#source.off('error', this.#onError);
  }

  #sendBatch(): boolean {
    if (this.#batchBytes === 0) return true;
    const data = this.#batch.length === 1 ? (this.#batch[0] as Buffer) : Buffer.concat(this.#batch, this.#batchBytes);
    this.#batch = [];
    this.#batchBytes = 0;
    return this.push(data);
  }
}
