/**
 * The blob pipeline (containers/image copy/blob.go): source stream → digest/size check → compression
 * detection → optional diffID tap → compression step → destination. Bytes stream through once;
 * a failure anywhere (digest mismatch, destination error, abort) destroys every stage, so the
 * destination never keeps a partial or unverified blob.
 */
import {
  Readable,
  type Stream,
  Transform,
  type TransformCallback,
  Writable,
  pipeline as pipelineCb,
} from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfoCache, CompressorName } from '../blobinfocache/index.js';
import { compressStream, decompressStream } from '../compression/codecs.js';
import { type DetectedCompression, detectStreamCompression } from '../compression/detect.js';
import { type Digest, digestOf } from '../digest/digest.js';
import { Digester, DigestVerifier } from '../digest/verify.js';
import { FerryError } from '../errors.js';
import { MAX_CONFIG_SIZE, readAllLimited } from '../manifest/index.js';
import type { BlobInfo, ImageDestination, ImageSource } from '../transports/types.js';
import { type CompressionPlan, resultingCompression } from './compression-plan.js';
import type { ProgressReporter } from './progress.js';
import type { RedriveBudget } from './redrive.js';

export interface BlobContext {
  source: ImageSource;
  destination: ImageDestination;
  signal: AbortSignal;
  progress: ProgressReporter;
  /** The copy's blob-info cache (reuse candidates, and what this copy verified). */
  cache: BlobInfoCache;
  /** The copy's re-drive budget; without one a broken transfer fails at once. */
  redrive?: RedriveBudget;
}

export interface StreamBlobOptions {
  isConfig: boolean;
  /** Decides the compression step once the source's compression is known; undefined = bytes kept as they are. */
  plan?: (detected: DetectedCompression) => CompressionPlan;
  /** Also compute the digest of the uncompressed bytes (in the same pass). */
  computeDiffID: boolean;
}

export interface StreamedBlob {
  /** What the destination stored. */
  written: BlobInfo;
  /** Compression of the source bytes (`none` when detection was not needed). */
  detected: DetectedCompression;
  /** Compression of the stored bytes. */
  compression: DetectedCompression;
  /** Whether the stored bytes differ from the source's (compression changed). */
  changed: boolean;
  diffID?: Digest;
  /** The digest of the uncompressed bytes, when this copy computed or knows it. */
  uncompressedDigest?: Digest;
}

/**
 * Runs one whole transfer of a blob, again from the start (source re-opened, new upload) after a
 * transient failure, while the copy's budget lasts.
 */
function redriven<T>(ctx: BlobContext, info: BlobInfo, what: string, transfer: () => Promise<T>): Promise<T> {
  if (ctx.redrive === undefined) return transfer();
  const budget = ctx.redrive;
  return budget.run(
    `${what} ${info.digest}`,
    ctx.signal,
    ctx.source.blobsCrossNetwork === true,
    transfer,
    (next, delayMs, e) => {
      const reason = e instanceof Error ? e.message.slice(0, 300) : String(e);
      ctx.progress.emit({
        kind: 'message',
        text: `Warning: ${what} ${info.digest} failed, retrying in ${Math.round(delayMs / 100) / 10}s (attempt ${next} of ${budget.policy.attemptsPerBlob}): ${reason}`,
      });
    },
  );
}

/** Copies one blob from source to destination through the pipeline, re-driven on transient failures. */
export function streamBlob(ctx: BlobContext, info: BlobInfo, options: StreamBlobOptions): Promise<StreamedBlob> {
  // Announced once: a re-driven blob is the same blob starting over, not one more.
  ctx.progress.emit({ kind: 'blob-started', blob: info, isConfig: options.isConfig });
  return redriven(ctx, info, options.isConfig ? 'copying config' : 'copying blob', () =>
    streamBlobOnce(ctx, info, options),
  );
}

async function streamBlobOnce(ctx: BlobContext, info: BlobInfo, options: StreamBlobOptions): Promise<StreamedBlob> {
  const { signal } = ctx;
  const { stream: raw, size: sourceSize } = await ctx.source.getBlob(info, signal, ctx.cache);
  const expectedSize = info.size >= 0 ? info.size : sourceSize;
  const verifier = new DigestVerifier(info.digest, expectedSize);
  // Every stage costs per chunk: the byte counter is there only for a progress listener, and the
  // last stage itself is what the destination reads.
  const counter = ctx.progress.enabled ? ctx.progress.byteCounter(info, options.isConfig, expectedSize) : undefined;
  const middle: Transform[] = counter === undefined ? [verifier] : [counter, verifier];
  const streams: Stream[] = [raw, ...middle];
  const tasks: Promise<unknown>[] = [];
  const failure = new FirstFailure(streams);
  const track = <T>(p: Promise<T>): Promise<T> => {
    const watched = p.catch((e: unknown) => {
      failure.record(e);
      throw e;
    });
    tasks.push(watched);
    return watched;
  };

  const needsDetection = options.plan !== undefined || options.computeDiffID;
  let detected: DetectedCompression = 'none';
  let plan: CompressionPlan = { op: 'keep' };
  let diffIDDigester: Digester | undefined;
  let putting: Promise<BlobInfo> | undefined;
  try {
    void track(pipeline([raw, ...middle], { signal }));
    let out: Readable = verifier;
    if (needsDetection) {
      const head = await detectStreamCompression(verifier);
      if (head.stream !== verifier) streams.push(head.stream);
      detected = head.algorithm;
      plan = options.plan?.(detected) ?? { op: 'keep' };
      const stages = compressionStages(detected, plan);
      // A recompression learns the uncompressed digest on the way (for the cache: a later copy can substitute).
      if (options.computeDiffID || plan.op === 'recompress') {
        diffIDDigester = new Digester();
        insertDiffIDTap(stages, detected, plan, diffIDDigester, track, streams);
      }
      streams.push(...stages);
      const last = stages.at(-1);
      if (last === undefined) {
        out = head.stream;
      } else {
        void track(pipeline([head.stream, ...stages], { signal }));
        out = last;
      }
    }
    const changed = plan.op !== 'keep';
    const putInfo = changed
      ? { digest: undefined, size: -1 }
      : {
          digest: info.digest,
          size: expectedSize,
          ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }),
        };
    // Unchanged bytes: the verifier above fails the stream on a digest or size mismatch, so the destination need not hash them again.
    putting = track(
      ctx.destination.putBlob(out, putInfo, {
        isConfig: options.isConfig,
        signal,
        cache: ctx.cache,
        ...(changed ? {} : { callerVerifiesDigest: true }),
      }),
    );
  } catch (e) {
    failure.record(e);
  }
  failure.quiet();
  await Promise.allSettled(tasks);
  failure.throwIfFailed();
  if (putting === undefined)
    throw new FerryError('UNSUPPORTED_OPERATION', `blob ${info.digest} was never handed to the destination`);
  const written = await putting;
  const changed = plan.op !== 'keep';
  if (!changed && written.digest !== info.digest) {
    throw new FerryError('DIGEST_MISMATCH', `destination stored blob ${info.digest} as ${written.digest}`, {
      details: { expected: info.digest, actual: written.digest },
    });
  }
  const result: StreamedBlob = { written, detected, compression: resultingCompression(detected, plan), changed };
  const uncompressed = diffIDDigester?.digest();
  if (uncompressed !== undefined && options.computeDiffID) result.diffID = uncompressed;
  if (needsDetection) {
    const known =
      uncompressed ?? (detected === 'none' ? info.digest : plan.op === 'decompress' ? written.digest : undefined);
    if (known !== undefined) result.uncompressedDigest = known;
    if (!options.isConfig) recordVerifiedBlob(ctx.cache, info.digest, result);
  }
  ctx.progress.emit({ kind: 'blob-done', blob: info, isConfig: options.isConfig, written });
  return result;
}

function compressorName(c: DetectedCompression): CompressorName | undefined {
  if (c === 'none') return 'uncompressed';
  return c === 'gzip' || c === 'zstd' ? c : undefined;
}

/**
 * Records what this copy verified about a layer: the source bytes matched their digest, the
 * destination digested what it stored, and detection looked at the bytes themselves.
 */
function recordVerifiedBlob(cache: BlobInfoCache, sourceDigest: Digest, blob: StreamedBlob): void {
  const sourceName = compressorName(blob.detected);
  if (sourceName !== undefined) cache.recordDigestCompressorName(sourceDigest, sourceName);
  const writtenName = compressorName(blob.compression);
  if (blob.written.digest !== sourceDigest && writtenName !== undefined)
    cache.recordDigestCompressorName(blob.written.digest, writtenName);
  const u = blob.uncompressedDigest;
  if (u === undefined) return;
  if (sourceDigest !== u) cache.recordDigestUncompressedPair(sourceDigest, u);
  if (blob.written.digest !== sourceDigest && blob.written.digest !== u)
    cache.recordDigestUncompressedPair(blob.written.digest, u);
}

function compressionStages(detected: DetectedCompression, plan: CompressionPlan): Transform[] {
  switch (plan.op) {
    case 'keep':
      return [];
    case 'decompress':
      return [decompressStream(detected)];
    case 'compress':
      return [compressStream(plan.algorithm, plan.level)];
    case 'recompress':
      return [decompressStream(detected), compressStream(plan.algorithm, plan.level)];
  }
}

/** Adds a diffID digester where the uncompressed bytes flow, or a side branch that decompresses a copy. */
function insertDiffIDTap(
  stages: Transform[],
  detected: DetectedCompression,
  plan: CompressionPlan,
  digester: Digester,
  track: <T>(p: Promise<T>) => Promise<T>,
  streams: Stream[],
): void {
  if (detected === 'none') {
    stages.unshift(digester);
  } else if (plan.op === 'decompress' || plan.op === 'recompress') {
    stages.splice(1, 0, digester);
  } else {
    const decompressor = decompressStream(detected);
    const sink = new Writable({ write: (_chunk, _enc, cb) => cb() });
    streams.push(decompressor, digester, sink);
    const sideDone = track(pipeline([decompressor, digester, sink]));
    stages.unshift(new SideTee(decompressor, sideDone));
  }
}

/** Passes bytes on unchanged while also writing them to `side` (with its back-pressure); ends when `side` is done. */
class SideTee extends Transform {
  readonly #side: Writable;
  readonly #sideDone: Promise<unknown>;

  constructor(side: Writable, sideDone: Promise<unknown>) {
    super();
    this.#side = side;
    this.#sideDone = sideDone;
    sideDone.catch((e: unknown) => this.destroy(e instanceof Error ? e : new Error(String(e))));
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.#side.write(chunk)) callback(null, chunk);
    else this.#side.once('drain', () => callback(null, chunk));
  }

  override _flush(callback: TransformCallback): void {
    this.#side.end();
    this.#sideDone.then(
      () => callback(),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }
}

function ignore(): void {}

/** Remembers the first error of a set of stages and tears every stage down with it. */
function isPrematureClose(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

class FirstFailure {
  #error: { value: unknown } | undefined;
  readonly #streams: Stream[];

  constructor(streams: Stream[]) {
    this.#streams = streams;
  }

  record(e: unknown): void {
    if (this.#error !== undefined) {
      // A stage closed early is usually the consequence of another stage's failure: report the cause.
      if (isPrematureClose(this.#error.value) && !isPrematureClose(e)) this.#error = { value: e };
      return;
    }
    this.#error = { value: e };
    const err = e instanceof Error ? e : new Error(String(e));
    for (const s of this.#streams) (s as Readable).destroy(err);
  }

  /** Errors are collected through the pipelines' promises; a late one on a finished stage must not be "unhandled". */
  quiet(): void {
    for (const s of this.#streams) if (!s.listeners('error').includes(ignore)) s.on('error', ignore);
  }

  throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error.value;
  }
}

/** Reads a source blob that is held in memory (the config), verifying digest and size; bounded by MAX_CONFIG_SIZE. */
export async function readBlobBytes(ctx: BlobContext, info: BlobInfo, what: string): Promise<Buffer> {
  if (info.size > MAX_CONFIG_SIZE) {
    throw new FerryError(
      'TOO_LARGE',
      `${what} ${info.digest} is ${info.size} bytes, more than the ${MAX_CONFIG_SIZE}-byte limit`,
    );
  }
  return redriven(ctx, info, `reading ${what}`, () => readBlobBytesOnce(ctx, info, what));
}

async function readBlobBytesOnce(ctx: BlobContext, info: BlobInfo, what: string): Promise<Buffer> {
  const { stream, size } = await ctx.source.getBlob(info, ctx.signal, ctx.cache);
  const verifier = new DigestVerifier(info.digest, info.size >= 0 ? info.size : size);
  pipelineCb(stream, verifier, () => {});
  return readAllLimited(verifier, MAX_CONFIG_SIZE, `${what} ${info.digest}`);
}

/**
 * Copies a blob byte for byte (no compression plan, no substitute): skipped when the destination
 * already holds that very digest, else streamed and verified.
 */
export async function copyBlobAsIs(ctx: BlobContext, info: BlobInfo, isConfig: boolean): Promise<void> {
  const reused = await ctx.destination.tryReusingBlob(info, { isConfig, signal: ctx.signal, cache: ctx.cache });
  if (reused !== undefined && reused.digest === info.digest) {
    ctx.progress.emit({ kind: 'blob-skipped', blob: info, isConfig, reason: 'already-exists' });
    return;
  }
  await streamBlob(ctx, info, { isConfig, computeDiffID: false });
}

/** Stores bytes held in memory (a converted config, an extra blob), unless the destination has them already. */
export async function putBytes(
  ctx: BlobContext,
  bytes: Buffer,
  mediaType: string | undefined,
  isConfig: boolean,
): Promise<BlobInfo> {
  const info: BlobInfo = {
    digest: digestOf(bytes),
    size: bytes.length,
    ...(mediaType === undefined ? {} : { mediaType }),
  };
  // Bytes made here (a converted config, an extra blob) are never substituted: their digest is the one the manifest names.
  const reused = await ctx.destination.tryReusingBlob(info, { isConfig, signal: ctx.signal, cache: ctx.cache });
  if (reused !== undefined) {
    ctx.progress.emit({ kind: 'blob-skipped', blob: info, isConfig, reason: 'already-exists' });
    return reused;
  }
  ctx.progress.emit({ kind: 'blob-started', blob: info, isConfig });
  // The digest was just computed from these very bytes.
  const written = await redriven(ctx, info, isConfig ? 'writing config' : 'writing blob', () =>
    ctx.destination.putBlob(
      Readable.from([bytes]),
      { digest: info.digest, size: info.size, ...(mediaType === undefined ? {} : { mediaType }) },
      { isConfig, signal: ctx.signal, cache: ctx.cache, callerVerifiesDigest: true },
    ),
  );
  ctx.progress.emit({ kind: 'blob-bytes', blob: info, isConfig, bytes: bytes.length, total: bytes.length });
  ctx.progress.emit({ kind: 'blob-done', blob: info, isConfig, written });
  return written;
}
