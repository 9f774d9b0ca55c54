/**
 * Streaming codecs: gzip through node:zlib, zstd through zstd-napi. Decompression failures become
 * CORRUPT_COMPRESSED_DATA (the codec's error kept as `cause`); bzip2/xz are refused.
 */
import { PassThrough, pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { Gunzip, createGzip } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as ZstdNapi from 'zstd-napi';
import { FerryError } from '../errors.js';
import { type DetectedCompression, detectStreamCompression, type StreamCompression } from './detect.js';

/** zlib's default 16 KiB output chunks measured about half as fast as 64 KiB ones. */
const ZLIB_CHUNK_SIZE = 64 * 1024;
/**
 * Decompressed output in 1 MiB chunks: every later stage (hashing, recompression, the writer) then
 * runs once per MiB. gunzip → sha256 → zstd → sha256 over 8 × 32 MiB layers: 1.5 s CPU with 64 KiB
 * chunks, 1.2 s with 256 KiB, 1.05 s with 1 MiB.
 */
const ZLIB_DECOMPRESS_CHUNK_SIZE = 1024 * 1024;

function corrupt(algorithm: StreamCompression, cause: unknown): FerryError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new FerryError('CORRUPT_COMPRESSED_DATA', `${algorithm}-compressed data is corrupt or truncated: ${reason}`, {
    cause,
    details: { algorithm },
  });
}

/** Errors zlib raises from the codec itself carry a numeric errno and a `Z_…` code. */
function isZlibCodecError(e: Error | null): e is Error {
  const { errno, code } = (e ?? {}) as { errno?: unknown; code?: unknown };
  return typeof errno === 'number' && typeof code === 'string' && code.startsWith('Z_');
}

class GzipDecompressor extends Gunzip {
  constructor() {
    super({ chunkSize: ZLIB_DECOMPRESS_CHUNK_SIZE });
  }

  // zlib reports codec failures by destroying the stream; errors from elsewhere in a pipeline pass unchanged.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(isZlibCodecError(error) ? corrupt('gzip', error) : error, callback);
  }
}

/** zstd-napi's native context: only what the decompressor below uses. */
interface ZstdBinding {
  DCtx: new () => { decompressStream(dst: Uint8Array, src: Uint8Array): [number, number, number] };
  dStreamOutSize(): number;
}

/** zstd-napi (a native addon), loaded on first zstd use so that importing Ferry does not pay for it. */
let zstdCodecs: { CompressStream: typeof ZstdNapi.CompressStream; binding: ZstdBinding } | undefined;
function zstd(): NonNullable<typeof zstdCodecs> {
  if (zstdCodecs === undefined) {
    const require = createRequire(import.meta.url);
    const { CompressStream } = require('zstd-napi') as typeof ZstdNapi;
    zstdCodecs = { CompressStream, binding: require('zstd-napi/binding') as ZstdBinding };
  }
  return zstdCodecs;
}

/** Output decoded between two turns of the event loop. */
const ZSTD_YIELD_BYTES = 16 * 1024 * 1024;

/**
 * Streaming zstd decompression that stops when the reader is full: a few bytes of zstd can stand for
 * gigabytes (RLE blocks), and zstd-napi's own stream decodes each input chunk whole into memory.
 */
class ZstdDecompressor extends Transform {
  readonly #dctx = new (zstd().binding.DCtx)();
  readonly #outSize = zstd().binding.dStreamOutSize();
  #input: Buffer = Buffer.alloc(0);
  #done: TransformCallback | undefined;
  #inFrame = false;
  #pumping = false;
  #yielding = false;
  #readWanted = false;
  #sinceYield = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#input = chunk;
    this.#done = done;
    this.#pump();
  }

  override _read(_size: number): void {
    this.#readWanted = true;
    if (this.#done !== undefined && !this.#pumping && !this.#yielding) this.#pump();
    this.#answerRead();
  }

  /**
   * A read that the decoder answered with no data (its chunk ended) still has to be answered:
   * Transform's own _read lets the next chunk in. Without it the stream waits forever.
   */
  #answerRead(): void {
    if (this.#done !== undefined || !this.#readWanted) return;
    this.#readWanted = false;
    super._read(0);
  }

  /** Decodes the current chunk until it is used up, or until push() says the reader is full. */
  #pump(): void {
    const done = this.#done as TransformCallback;
    this.#pumping = true;
    try {
      for (;;) {
        const out = Buffer.allocUnsafe(this.#outSize);
        const [ret, produced, consumed] = this.#dctx.decompressStream(out, this.#input);
        this.#input = this.#input.subarray(consumed);
        this.#inFrame = ret !== 0;
        let room = true;
        if (produced > 0) {
          room = this.push(out.subarray(0, produced));
          this.#readWanted = false;
        }
        if (this.#input.length === 0 && (produced < out.length || ret === 0)) break;
        this.#sinceYield += produced;
        if (this.#sinceYield >= ZSTD_YIELD_BYTES) {
          this.#yield();
          return;
        }
        if (!room) return; // _read resumes
      }
    } catch (e) {
      this.#done = undefined;
      done(corrupt('zstd', e));
      return;
    } finally {
      this.#pumping = false;
    }
    this.#done = undefined;
    done();
    this.#answerRead();
  }

  /** Lets timers, signals and I/O run: decoding alone never waits, however much it produces. */
  #yield(): void {
    this.#sinceYield = 0;
    this.#yielding = true;
    setImmediate(() => {
      this.#yielding = false;
      if (this.#done !== undefined && !this.destroyed) this.#pump();
    });
  }

  override _flush(done: TransformCallback): void {
    done(this.#inFrame ? corrupt('zstd', new Error('the data ends inside a frame')) : null);
  }
}

function invalidLevel(algorithm: StreamCompression, level: number, cause?: unknown): FerryError {
  return new FerryError('INVALID_ARGUMENT', `invalid ${algorithm} compression level ${level}`, { cause });
}

/** A compressing stream; `level` defaults to the codec's own default (gzip 6, zstd 3). */
export function compressStream(algorithm: StreamCompression, level?: number): Transform {
  if (level !== undefined && !Number.isInteger(level)) throw invalidLevel(algorithm, level);
  switch (algorithm) {
    case 'gzip':
      if (level !== undefined && (level < -1 || level > 9)) throw invalidLevel(algorithm, level);
      return createGzip({ chunkSize: ZLIB_CHUNK_SIZE, ...(level === undefined ? {} : { level }) });
    case 'zstd':
      try {
        return new (zstd().CompressStream)(level === undefined ? {} : { compressionLevel: level });
      } catch (e) {
        throw invalidLevel(algorithm, level ?? 0, e);
      }
    default:
      throw unsupported(algorithm);
  }
}

function unsupported(algorithm: string): FerryError {
  return new FerryError('UNSUPPORTED_COMPRESSION', `${algorithm}-compressed layers are not supported`, {
    details: { algorithm },
  });
}

/** A decompressing stream (`none` passes bytes through); bzip2 and xz throw UNSUPPORTED_COMPRESSION. */
export function decompressStream(algorithm: DetectedCompression): Transform {
  switch (algorithm) {
    case 'gzip':
      return new GzipDecompressor();
    case 'zstd':
      return new ZstdDecompressor();
    case 'none':
      return new PassThrough();
    default:
      throw unsupported(algorithm);
  }
}

/**
 * Detects the compression of `readable` and returns its decompressed bytes (the bytes as they are
 * for `none`). Errors of `readable` reach the returned stream; destroying it destroys `readable`.
 */
export async function autoDecompressStream(
  readable: Readable,
): Promise<{ stream: Readable; algorithm: DetectedCompression }> {
  const { algorithm, stream } = await detectStreamCompression(readable);
  if (algorithm === 'none') return { stream, algorithm };
  let decompressor: Transform;
  try {
    decompressor = decompressStream(algorithm);
  } catch (e) {
    stream.destroy();
    throw e;
  }
  // pipeline destroys every stage with the first error, so the consumer of `decompressor` sees it.
  pipeline(stream, decompressor, () => {});
  return { stream: decompressor, algorithm };
}
