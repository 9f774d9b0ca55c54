/**
 * What a failure while reading an archive becomes: one FerryError naming the archive. Tar format
 * errors, decoder errors (a truncated gzip/zstd stream) and read errors are INVALID_ARCHIVE; an
 * abort is ABORTED; Ferry's own refusals (UNSAFE_PATH, DIGEST_MISMATCH, TOO_LARGE, ...) pass unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { abortError, FerryError, isFerryError } from '../../errors.js';

export function invalidArchive(archive: string, why: string, cause?: unknown): FerryError {
  return new FerryError('INVALID_ARCHIVE', `invalid archive "${archive}": ${why}`, {
    cause,
    details: { path: archive },
  });
}

export function unsafeEntry(archive: string, entry: string, rule: string): FerryError {
  return new FerryError('UNSAFE_PATH', `archive "${archive}": unsafe entry "${entry}": ${rule}`, {
    details: { path: archive, entry },
  });
}

/** `e`, raised while reading `archive` (`what`: which part, e.g. `member "x"`), as a FerryError. */
export function archiveError(archive: string, e: unknown, signal?: AbortSignal, what?: string): FerryError {
  if (signal?.aborted) return abortError(signal);
  if (isFerryError(e) && e.code !== 'CORRUPT_COMPRESSED_DATA') return e;
  const message = e instanceof Error ? e.message : String(e);
  const reason =
    message === 'Unexpected end of data' ? 'it is truncated (it ends inside a header or a member)' : message;
  return invalidArchive(archive, what === undefined ? reason : `${what}: ${reason}`, e);
}

/**
 * A pass-through stage to end a pipeline reading from `archive`: whatever error destroys it reaches
 * the reader as archiveError(...); with `size`, data that ends before `size` bytes is an error too.
 */
export class ArchiveErrors extends Transform {
  readonly #archive: string;
  readonly #what: string;
  readonly #signal: AbortSignal | undefined;
  readonly #size: number | undefined;
  #seen = 0;

  constructor(archive: string, what: string, signal?: AbortSignal, size?: number) {
    super();
    this.#archive = archive;
    this.#what = what;
    this.#signal = signal;
    this.#size = size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#size !== undefined && this.#seen < this.#size) {
      callback(invalidArchive(this.#archive, `${this.#what} ends after ${this.#seen} of ${this.#size} bytes`));
    } else callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(error === null ? null : archiveError(this.#archive, error, this.#signal, this.#what), callback);
  }
}
