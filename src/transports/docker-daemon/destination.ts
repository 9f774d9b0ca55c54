/**
 * Writing an image into a Docker daemon (containers/image docker/daemon/daemon_dest.go): one
 * `POST /images/load?quiet=1` whose body is a docker archive made on the fly. Each blob becomes an
 * archive member as it arrives, straight from the copy's verified stream (layers as the source stores
 * them: the daemon decompresses, as `docker load` does); only a blob whose size is not known in advance
 * (a tar header needs it), or that its caller does not verify, is spooled to a private temp file first. manifest.json and the legacy entries
 * go last, at commit, which then waits for the daemon's answer: a JSON stream whose `errorDetail` or
 * `error` fails the commit. Without a commit the upload is cut off, and the daemon loads nothing.
 */
import { createReadStream } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { abortError, FerryError, isFerryError, throwIfAborted } from '../../errors.js';
import { readAllLimited } from '../../manifest/limits.js';
import { MediaType } from '../../manifest/mediatypes.js';
import type { DockerReference } from '../../reference/reference.js';
import { quoteInput } from '../../util/quote.js';
import { TarWriter } from '../tar/pack.js';
import { spoolBlob } from '../shared/blob-store.js';
import { readConfigBlob } from '../shared/config-blob.js';
import {
  ArchiveContents,
  configFileName,
  layerFileName,
  MEMBER_MODE,
  writeArchiveMetadata,
} from '../shared/docker-archive/writer.js';
import { makePrivateTempDir } from '../shared/temp-dir.js';
import { WriteSession } from '../shared/write-session.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type DockerDaemonDestinationOptions,
  type ImageDestination,
  type PutBlobOptions,
  type TryReusingBlobOptions,
} from '../types.js';
import { DaemonClient, type DaemonExchange, DEFAULT_DAEMON_HOST, daemonHostOf } from './client.js';
import type { DockerDaemonLocation } from './location.js';

const NO_LISTS = 'a docker daemon loads single images, not manifest lists';

/** The daemon's answer to a quiet load is a few lines; a progress stream is not kept whole past this. */
const MAX_LOAD_ANSWER = 4 * 1024 * 1024;

export class DockerDaemonDestination implements ImageDestination {
  readonly reference: DockerDaemonLocation;
  readonly capabilities: DestinationCapabilities;
  readonly #client: DaemonClient;
  readonly #tag: DockerReference;
  readonly #tar: TarWriter;
  readonly #load: DaemonExchange;
  /** Rejects as soon as the upload cannot go on (the connection broke, or the daemon answered with an error). */
  readonly #uploadFailed: Promise<never>;
  readonly #tmpDir: string | undefined;
  readonly #session: WriteSession;
  /** Blobs already in the archive. */
  readonly #contents: ArchiveContents;
  /** Members go into the tar one at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #spoolDir: string | undefined;
  /** Set once a member failed part-way: the archive is damaged and cannot be committed. */
  #broken: unknown;

  private constructor(
    reference: DockerDaemonLocation,
    tag: DockerReference,
    client: DaemonClient,
    mustMatchRuntimeOS: boolean,
    tmpDir: string | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.reference = reference;
    this.#tag = tag;
    this.#client = client;
    this.#tmpDir = tmpDir;
    this.#session = new WriteSession(reference.toString());
    this.#contents = new ArchiveContents(reference.toString());
    this.capabilities = destinationCapabilities({
      supportedManifestMIMETypes: [MediaType.DOCKER_V2_SCHEMA2],
      // As containers/image: layers go as they are; the daemon decompresses what it loads.
      desiredLayerCompression: 'preserve',
      acceptsForeignLayerURLs: false,
      supportsMultipleImages: false,
      supportsSignatures: false,
      hasThreadSafePutBlob: false,
      mustMatchRuntimeOS,
    });
    this.#tar = new TarWriter();
    this.#load = client.exchange({
      method: 'POST',
      path: '/images/load',
      query: { quiet: '1' },
      headers: { 'Content-Type': 'application/x-tar' },
      body: this.#tar.stream,
      signal,
    });
    this.#uploadFailed = new Promise<never>((_, reject) => {
      this.#load.sent.catch(reject);
      // An answer before the whole archive is sent can only be a refusal (its status, or its body at commit).
      this.#load.response.catch(reject);
    });
    this.#uploadFailed.catch(() => {});
  }

  static async open(
    reference: DockerDaemonLocation,
    options: DockerDaemonDestinationOptions = {},
  ): Promise<DockerDaemonDestination> {
    const tag = reference.ref;
    if (tag === undefined || tag.tag === undefined) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid destination ${quoteInput(reference.toString())}: a docker-daemon: destination must be NAME:TAG`,
        { details: { reference: reference.toString() } },
      );
    }
    const client = await DaemonClient.connect(options);
    // As containers/image: only the default local daemon is known to run the images it stores.
    const mustMatchRuntimeOS = daemonHostOf(options) === DEFAULT_DAEMON_HOST;
    return new DockerDaemonDestination(reference, tag, client, mustMatchRuntimeOS, options.tmpDir, options.signal);
  }

  /** Runs `write` after the members before it, failing as soon as the upload does. */
  #member<T>(write: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      if (this.#broken !== undefined) throw this.#brokenError();
      try {
        return await Promise.race([write(), this.#uploadFailed]);
      } catch (e) {
        // Part of a member may be in the archive already: nothing after it can be trusted.
        this.#broken ??= e;
        this.#cutOff(e);
        throw e;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #brokenError(): FerryError {
    return new FerryError(
      'UNSUPPORTED_OPERATION',
      `${this.reference.toString()}: an earlier blob failed part-way through the upload to the docker daemon at ${this.#client.endpoint.host}; the image cannot be completed`,
      { cause: this.#broken },
    );
  }

  /** Ends the upload without the archive's end: the daemon sees a broken request and loads nothing. */
  #cutOff(reason: unknown): void {
    const error = reason instanceof Error ? reason : new Error(String(reason));
    this.#load.abort(error);
    this.#tar.abort(error);
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    this.#session.assertOpen();
    return this.#session.track(this.#putBlob(stream, info, options));
  }

  async #putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    throwIfAborted(options.signal);
    const known = info.digest === undefined ? undefined : this.#contents.sizeOf(info.digest);
    if (info.digest !== undefined && known !== undefined) {
      stream.destroy();
      return { digest: info.digest, size: known };
    }
    if (options.isConfig) return this.#putConfig(stream, info, options);
    let digest = info.digest;
    let size = info.size;
    let spooled: string | undefined;
    if (digest === undefined || size < 0 || options.callerVerifiesDigest !== true) {
      // A tar header holds the member's size, and bytes sent cannot be taken back: a blob of unknown
      // size or digest, or one nobody has verified yet, goes through a checked temp copy first.
      this.#spoolDir ??= await makePrivateTempDir(this.#tmpDir, 'docker-daemon');
      const stored = await spoolBlob(stream, this.#spoolDir, info, options);
      ({ digest, size } = stored);
      spooled = stored.path;
      stream = createReadStream(spooled);
      if (this.#contents.sizeOf(digest) !== undefined) {
        stream.destroy();
        await unlink(spooled).catch(() => {});
        return { digest, size };
      }
    }
    // The copy engine's verified stream goes straight into the archive; if it fails (its bytes were
    // wrong), the upload is cut off and the image cannot be committed.
    const name = layerFileName(digest);
    const memberSize = size;
    const data = stream;
    try {
      await this.#member(() => this.#tar.addStream(name, data, memberSize, MEMBER_MODE));
    } finally {
      if (spooled !== undefined) await unlink(spooled).catch(() => {});
    }
    this.#contents.addBlob(digest, size);
    return { digest, size };
  }

  async #putConfig(
    stream: Readable,
    info: { digest?: Digest; size: number },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    const { digest, bytes } = await readConfigBlob(stream, info, `image config for ${this.reference.toString()}`);
    throwIfAborted(options.signal);
    if (this.#contents.sizeOf(digest) === undefined) {
      await this.#member(() => this.#tar.addBytes(configFileName(digest), bytes, MEMBER_MODE));
    }
    this.#contents.addConfig(digest, bytes);
    return { digest, size: bytes.length };
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    // Only what this archive already holds: the daemon's store is not searched (as containers/image).
    return this.#contents.reusable(info, options.isConfig);
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    this.#contents.putManifest(bytes, instanceDigest, NO_LISTS);
  }

  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, _signal?: AbortSignal): Promise<void> {
    this.#contents.putSignatures(signatures, instanceDigest, NO_LISTS, 'a docker daemon cannot store signatures');
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    await this.#session.settle();
    throwIfAborted(signal);
    const image = this.#contents.image();
    const aborted = new Promise<never>((_, reject) => {
      signal?.addEventListener('abort', () => reject(abortError(signal)), { once: true });
    });
    aborted.catch(() => {});
    try {
      await this.#member(() => writeArchiveMetadata(this.#tar, image, [this.#tag]));
      this.#tar.finish();
      const response = await Promise.race([this.#load.response, aborted]);
      await Promise.race([this.#load.sent, aborted]);
      await Promise.race([this.#checkLoadAnswer(response), aborted]);
    } catch (e) {
      this.#cutOff(e);
      throw e;
    }
    this.#session.markCommitted();
  }

  /** The daemon's JSON message stream: an `errorDetail` (or `error`) in it means the load failed. */
  async #checkLoadAnswer(response: IncomingMessage): Promise<void> {
    const host = this.#client.endpoint.host;
    let body: Buffer;
    try {
      body = await readAllLimited(response, MAX_LOAD_ANSWER, `the docker daemon's answer to an image load`);
    } catch (e) {
      if (isFerryError(e)) throw e;
      throw new FerryError(
        'DAEMON_UNREACHABLE',
        `reading the answer of the docker daemon at ${host} to an image load: ${(e as Error).message}`,
        {
          cause: e,
          details: { host },
        },
      );
    }
    for (const message of jsonStream(body.toString('utf8'))) {
      const error = loadError(message);
      if (error !== undefined) {
        throw new FerryError(
          'DAEMON_ERROR',
          `the docker daemon at ${host} did not load ${this.reference.toString()}: ${quoteInput(error)}`,
          {
            details: { host, daemonMessage: error },
          },
        );
      }
    }
  }

  /** Without a prior commit, cuts the upload off (the daemon loads nothing); removes any spool files. */
  async close(): Promise<void> {
    const rollBack = await this.#session.close();
    if (rollBack) this.#cutOff(new Error(`${this.reference.toString()} closed without a commit`));
    await this.#queue;
    if (this.#spoolDir !== undefined) await rm(this.#spoolDir, { recursive: true, force: true });
  }
}

/** The message of an error in one message of a load answer (docker's JSONMessage errorDetail / error). */
function loadError(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { errorDetail, error } = message as { errorDetail?: unknown; error?: unknown };
  if (typeof errorDetail === 'object' && errorDetail !== null) {
    const text = (errorDetail as { message?: unknown }).message;
    if (typeof text === 'string') return text;
  }
  if (typeof error === 'string' && error !== '') return error;
  return undefined;
}

/**
 * The JSON values of a stream of concatenated values (what Go's json.Decoder reads: docker writes one
 * object per line, podman without newlines). Text that is not JSON is one failed load answer.
 */
function* jsonStream(text: string): Generator<unknown> {
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) yield parseOrError(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c as string)) {
      yield { error: `unexpected text in the answer: ${text.slice(i, i + 200)}` };
      return;
    }
  }
  if (depth !== 0) yield { error: 'the answer ends inside a JSON value' };
}

function parseOrError(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { error: 'the answer holds a value that is not JSON' };
  }
}
