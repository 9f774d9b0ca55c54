/**
 * Digesting and verifying streams: blobs are hashed as they flow, never held whole in memory.
 */
import { createHash, type Hash } from 'node:crypto';
import { addAbortSignal, type Readable, Transform, type TransformCallback } from 'node:stream';
import { abortError, FerryError } from '../errors.js';
import { noteBytesStreamed } from '../util/young-garbage.js';
import { type Digest, type DigestAlgorithm, digestAlgorithm, parseDigest } from './digest.js';

/** A pass-through stream that hashes and counts the bytes it forwards. */
export class Digester extends Transform {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  #size = 0;
  #digest: Digest | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** The digest of every byte seen; only available once the stream has ended. */
  digest(): Digest {
    if (this.#digest === undefined) {
      throw new FerryError('UNSUPPORTED_OPERATION', 'Digester.digest() called before the stream ended');
    }
    return this.#digest;
  }

  /** Bytes seen so far (the final size once the stream has ended). */
  size(): number {
    return this.#size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.#digest = `${this.algorithm}:${this.#hash.digest('hex')}`;
    callback();
  }
}

/**
 * A pass-through stream that fails with SIZE_MISMATCH as soon as more than `expectedSize` bytes
 * arrive (or at the end if fewer did), and with DIGEST_MISMATCH at the end if the digest differs.
 * `expectedSize` -1 means unknown (only the digest is checked).
 */
export class DigestVerifier extends Digester {
  readonly expected: Digest;
  readonly expectedSize: number;

  constructor(expected: Digest, expectedSize = -1) {
    super(digestAlgorithm(parseDigest(expected)));
    this.expected = expected;
    this.expectedSize = expectedSize;
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, callback: TransformCallback): void {
    const seen = this.size() + chunk.length;
    if (this.expectedSize >= 0 && seen > this.expectedSize) {
      callback(sizeMismatch(this.expected, this.expectedSize, seen, 'at least '));
      return;
    }
    // Every blob a copy reads passes here: the one place that sees all the read buffers go by.
    noteBytesStreamed(chunk.length);
    super._transform(chunk, encoding, callback);
  }

  // Bytes stream through before the check: the error at flush fails the whole pipeline, and writers discard their temp files on error.
  override _flush(callback: TransformCallback): void {
    super._flush((err) => {
      if (err) return callback(err);
      if (this.expectedSize >= 0 && this.size() !== this.expectedSize) {
        return callback(sizeMismatch(this.expected, this.expectedSize, this.size(), ''));
      }
      const actual = this.digest();
      if (actual !== this.expected) {
        return callback(
          new FerryError('DIGEST_MISMATCH', `digest mismatch: expected ${this.expected}, got ${actual}`, {
            details: { expected: this.expected, actual },
          }),
        );
      }
      callback();
    });
  }
}

function sizeMismatch(digest: Digest, expected: number, actual: number, qualifier: string): FerryError {
  return new FerryError(
    'SIZE_MISMATCH',
    `size mismatch for ${digest}: expected ${expected} bytes, got ${qualifier}${actual}`,
    { details: { expected, actual } },
  );
}

/** Hashes a whole stream (e.g. a decompressed layer, to compute its diffID), consuming it. */
export async function digestStream(
  readable: Readable,
  algorithm: DigestAlgorithm = 'sha256',
  signal?: AbortSignal,
): Promise<{ digest: Digest; size: number }> {
  const hash = createHash(algorithm);
  let size = 0;
  if (signal !== undefined) addAbortSignal(signal, readable);
  try {
    for await (const chunk of readable) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      hash.update(bytes);
      size += bytes.length;
    }
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw e;
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}
