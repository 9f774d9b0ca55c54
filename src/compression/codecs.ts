/**
 * Streaming codecs: gzip through node:zlib, zstd through zstd-napi, xz (read only, as in
 * containers/image) through lzma-native. Decompression failures become CORRUPT_COMPRESSED_DATA (the
 * codec's error kept as `cause`); bzip2 is refused.
 */
import { PassThrough, pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { Gunzip, createGzip } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as ZstdNapi from 'zstd-napi';
import { FerryError } from '../errors.js';
import {
  type DecodableCompression,
  type DetectedCompression,
  detectStreamCompression,
  type StreamCompression,
} from './detect.js';

/** zlib's default 16 KiB output chunks measured about half as fast as 64 KiB ones. */
const ZLIB_CHUNK_SIZE = 64 * 1024;
/**
 * Decompressed output in 1 MiB chunks: every later stage (hashing, recompression, the writer) then
 * runs once per MiB. gunzip → sha256 → zstd → sha256 over 8 × 32 MiB layers: 1.5 s CPU with 64 KiB
 * chunks, 1.2 s with 256 KiB, 1.05 s with 1 MiB.
 */
const DECOMPRESSED_CHUNK_SIZE = 1024 * 1024;

function corrupt(algorithm: DecodableCompression, cause: unknown): FerryError {
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
    super({ chunkSize: DECOMPRESSED_CHUNK_SIZE });
  }

  // zlib reports codec failures by destroying the stream; errors from elsewhere in a pipeline pass unchanged.
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    super._destroy(isZlibCodecError(error) ? corrupt('gzip', error) : error, callback);
  }
}

/**
 * Streaming decompression that stops when the reader is full: a few bytes of zstd or xz can stand for
 * gigabytes (zstd RLE blocks, long LZMA matches), and the libraries' own streams decode each input
 * chunk whole into memory. A subclass decodes in bounded steps; this class feeds them and waits.
 */
abstract class BoundedDecompressor extends Transform {
  #input: Buffer = Buffer.alloc(0);
  #done: TransformCallback | undefined;
  #pumping = false;
  #yielding = false;
  #readWanted = false;
  #sinceYield = 0;

  /**
   * Decodes from the start of `input`: the bytes used, the bytes decoded, and whether more output may
   * be pending once the input is used up. Each step's output is bounded. Throws on corrupt data.
   */
  protected abstract step(input: Buffer): { consumed: number; output: Buffer[]; more: boolean };

  /** The output still held when the input has ended; throws when the data ends early. */
  protected abstract finish(): Buffer[];

  protected abstract readonly algorithm: DecodableCompression;

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
        const { consumed, output, more } = this.step(this.#input);
        this.#input = this.#input.subarray(consumed);
        let room = true;
        let produced = 0;
        for (const bytes of output) {
          room = this.push(bytes);
          produced += bytes.length;
        }
        if (produced > 0) this.#readWanted = false;
        if (this.#input.length === 0 && !more) break;
        this.#sinceYield += produced;
        if (this.#sinceYield >= DECODE_YIELD_BYTES) {
          this.#yield();
          return;
        }
        if (!room) return; // _read resumes
      }
    } catch (e) {
      this.#done = undefined;
      done(e instanceof FerryError ? e : corrupt(this.algorithm, e));
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
    let tail: Buffer[];
    try {
      tail = this.finish();
    } catch (e) {
      done(e instanceof FerryError ? e : corrupt(this.algorithm, e));
      return;
    }
    for (const bytes of tail) this.push(bytes);
    done();
  }
}

/** Output decoded between two turns of the event loop. */
const DECODE_YIELD_BYTES = 16 * 1024 * 1024;

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

/** zstd: one decompressStream call per step, at most one output buffer (zstd's own size) each. */
class ZstdDecompressor extends BoundedDecompressor {
  protected readonly algorithm = 'zstd';
  readonly #dctx = new (zstd().binding.DCtx)();
  readonly #outSize = zstd().binding.dStreamOutSize();
  #inFrame = false;

  protected step(input: Buffer): { consumed: number; output: Buffer[]; more: boolean } {
    const out = Buffer.allocUnsafe(this.#outSize);
    const [ret, produced, consumed] = this.#dctx.decompressStream(out, input);
    this.#inFrame = ret !== 0;
    // A full output buffer in an unfinished frame may leave decoded bytes inside zstd.
    return {
      consumed,
      output: produced > 0 ? [out.subarray(0, produced)] : [],
      more: produced === out.length && ret !== 0,
    };
  }

  protected finish(): Buffer[] {
    if (this.#inFrame) throw new Error('the data ends inside a frame');
    return [];
  }
}

/** lzma-native's binding of liblzma's lzma_stream: only what the decompressor below uses. */
interface LzmaStream {
  streamDecoder_(memlimit: number | null, flags: number): void;
  setBufsize(size: number): number;
  /** Decodes `input` whole (null: the input has ended), handing each output buffer to bufferHandler first. */
  code(input: Buffer | null, async: boolean): void;
  resetUnderlying(): void;
  bufferHandler: (buffer: Buffer | null | undefined, processedChunks: unknown, error: Error | null | undefined) => void;
}

interface LzmaBinding {
  Stream: new () => LzmaStream;
  CONCATENATED: number;
}

/** lzma-native (liblzma, a native addon), loaded on first xz use. */
let lzmaBinding: LzmaBinding | undefined;
function lzma(): LzmaBinding {
  if (lzmaBinding === undefined) {
    try {
      lzmaBinding = createRequire(import.meta.url)('lzma-native') as LzmaBinding;
    } catch (e) {
      // A platform without a prebuilt binary, where the install could not compile one.
      throw new FerryError(
        'UNSUPPORTED_COMPRESSION',
        `xz-compressed data cannot be read here: the lzma-native add-on did not load (${e instanceof Error ? e.message : String(e)})`,
        { cause: e, details: { algorithm: 'xz' } },
      );
    }
  }
  return lzmaBinding;
}

/**
 * Memory liblzma may use to decode one xz stream (mostly the dictionary the stream names): four times
 * what `xz -9` needs, so a hostile header cannot make every parallel layer copy allocate gigabytes.
 */
export const XZ_MEMORY_LIMIT = 256 * 1024 * 1024;
/**
 * Compressed bytes handed to liblzma per step. liblzma decodes whatever one call is given, and LZMA
 * reaches about 7000:1 on runs of one byte, so a step decodes at most ~7 MiB. A 2 GiB run of zeros
 * (312 KB of xz) read slowly peaked at 108 MiB RSS with 1 KiB steps, 571 MiB with 4 KiB ones.
 */
const XZ_STEP_INPUT = 1024;
/** liblzma's output buffers: 1 MiB ones cost 20% more CPU than 64 KiB ones with 1 KiB steps. */
const XZ_OUTPUT_BUFFER = 64 * 1024;

/**
 * xz (the .xz container with LZMA2, as containers/image reads it): concatenated streams and stream
 * padding are accepted, the integrity check of each block (CRC32, CRC64, SHA-256) is verified.
 */
class XzDecompressor extends BoundedDecompressor {
  protected readonly algorithm = 'xz';
  readonly #stream: LzmaStream;
  #output: Buffer[] = [];
  #error: Error | undefined;

  constructor() {
    super();
    const binding = lzma();
    this.#stream = new binding.Stream();
    this.#stream.streamDecoder_(XZ_MEMORY_LIMIT, binding.CONCATENATED);
    this.#stream.setBufsize(XZ_OUTPUT_BUFFER);
    this.#stream.bufferHandler = (buffer, _processed, error) => {
      if (error) this.#error ??= error;
      else if (buffer) this.#output.push(buffer);
    };
  }

  #code(input: Buffer | null): Buffer[] {
    this.#stream.code(input, false);
    const output = this.#output;
    this.#output = [];
    const error = this.#error;
    if (error === undefined) return output;
    if (error.name === 'LZMA_MEMLIMIT_ERROR') {
      throw new FerryError(
        'TOO_LARGE',
        `xz-compressed data needs more than ${XZ_MEMORY_LIMIT / 1024 / 1024} MiB of memory to decode (its dictionary is too large)`,
        { cause: error, details: { algorithm: 'xz', limit: XZ_MEMORY_LIMIT } },
      );
    }
    // liblzma's name (LZMA_DATA_ERROR, LZMA_BUF_ERROR for truncated data, ...) says more than its text.
    throw new Error(`${error.name}: ${error.message}`, { cause: error });
  }

  protected step(input: Buffer): { consumed: number; output: Buffer[]; more: boolean } {
    const consumed = Math.min(input.length, XZ_STEP_INPUT);
    return { consumed, output: consumed === 0 ? [] : this.#code(input.subarray(0, consumed)), more: false };
  }

  protected finish(): Buffer[] {
    return this.#code(null);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#stream.resetUnderlying();
    super._destroy(error, callback);
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

/** A decompressing stream (`none` passes bytes through); bzip2 throws UNSUPPORTED_COMPRESSION. */
export function decompressStream(algorithm: DetectedCompression): Transform {
  switch (algorithm) {
    case 'gzip':
      return new GzipDecompressor();
    case 'zstd':
      return new ZstdDecompressor();
    case 'xz':
      return new XzDecompressor();
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
