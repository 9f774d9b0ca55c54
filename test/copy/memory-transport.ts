/**
 * An in-memory transport for copy-engine tests: its destination's capabilities and failure modes
 * are set per test (which manifest types it rejects, whether it stores signatures, ...), so
 * behaviours no on-disk transport exhibits can be checked. Nothing is visible before commit.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest } from '../../src/digest/digest.js';
import { FerryError } from '../../src/errors.js';
import {
  type ImageOptions,
  type BlobInfo,
  type BlobStream,
  type DestinationCapabilities,
  destinationCapabilities,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
  type ImageTransport,
  type PutBlobOptions,
  type RawManifest,
  type ReusedBlob,
  type TryReusingBlobOptions,
} from '../../src/transports/types.js';
import { guessMIMEType } from '../../src/manifest/index.js';
import { type Image, openImage } from '../../src/image/image.js';

export interface MemoryImage {
  manifests: Map<string, RawManifest>;
  blobs: Map<Digest, Buffer>;
  signatures: Map<string, Buffer[]>;
}

export interface MemoryBehaviour {
  capabilities?: Partial<DestinationCapabilities>;
  /** Manifest types putManifest refuses with MANIFEST_REJECTED. */
  rejectManifestTypes?: string[];
  threadSafeGetBlob?: boolean;
  /** Delay per blob chunk read from the source, in ms (to observe concurrency and abort). */
  chunkDelayMs?: number;
  /** Destination: the blob tryReusingBlob offers for a digest when substitution is allowed (stored on commit). */
  substitutes?: Map<Digest, { blob: ReusedBlob; bytes: Buffer }>;
}

/** One tryReusingBlob call as the destination saw it. */
export interface ReuseCall {
  image: string;
  digest: Digest;
  options: Omit<TryReusingBlobOptions, 'signal' | 'cache'> & { hasCache: boolean };
}

const TOP = 'top';

export function emptyImage(): MemoryImage {
  return { manifests: new Map(), blobs: new Map(), signatures: new Map() };
}

function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export class MemoryTransport implements ImageTransport {
  readonly name = 'memory';
  readonly images = new Map<string, MemoryImage>();
  readonly behaviour = new Map<string, MemoryBehaviour>();
  /** Highest number of getBlob streams open at once, per image name. */
  readonly maxConcurrentReads = new Map<string, number>();
  /** Every blob digest read from the source, per image name. */
  readonly reads = new Map<string, Digest[]>();
  /** Every tryReusingBlob call, in order. */
  readonly reuseCalls: ReuseCall[] = [];

  parseReference(within: string): ImageReference {
    return new MemoryReference(this, within);
  }
}

class MemoryReference implements ImageReference {
  constructor(
    readonly transport: MemoryTransport,
    readonly name: string,
  ) {}
  stringWithinTransport(): string {
    return this.name;
  }
  toString(): string {
    return `memory:${this.name}`;
  }
  dockerReference(): undefined {
    return undefined;
  }
  /** Scoped by name, as a path transport is by its path. */
  policyConfigurationIdentity(): string {
    return this.name;
  }
  policyConfigurationNamespaces(): string[] {
    return [];
  }
  /** Opens the image for reading as a typed view (manifest, config, inspect, ...). */
  newImage(options: ImageOptions = {}): Promise<Image> {
    return openImage(this, options);
  }

  async newImageSource(): Promise<ImageSource> {
    const image = this.transport.images.get(this.name);
    if (image === undefined) throw new FerryError('IMAGE_NOT_FOUND', `no memory image ${this.name}`);
    return new MemorySource(this, image, this.transport.behaviour.get(this.name) ?? {});
  }
  async newImageDestination(): Promise<ImageDestination> {
    return new MemoryDestination(this, this.transport.behaviour.get(this.name) ?? {});
  }
  async deleteImage(): Promise<void> {
    this.transport.images.delete(this.name);
  }
}

class MemorySource implements ImageSource {
  #open = 0;
  readonly hasThreadSafeGetBlob: boolean;
  constructor(
    readonly reference: MemoryReference,
    readonly image: MemoryImage,
    readonly behaviour: MemoryBehaviour,
  ) {
    this.hasThreadSafeGetBlob = behaviour.threadSafeGetBlob ?? true;
  }
  async getManifest(instanceDigest?: Digest): Promise<RawManifest> {
    const m = this.image.manifests.get(instanceDigest ?? TOP);
    if (m === undefined) throw new FerryError('IMAGE_NOT_FOUND', `no manifest ${instanceDigest ?? TOP}`);
    return m;
  }
  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    const bytes = this.image.blobs.get(info.digest);
    if (bytes === undefined) throw new FerryError('BLOB_NOT_FOUND', `no blob ${info.digest}`);
    const t = this.reference.transport;
    const name = this.reference.name;
    t.reads.set(name, [...(t.reads.get(name) ?? []), info.digest]);
    this.#open++;
    t.maxConcurrentReads.set(name, Math.max(t.maxConcurrentReads.get(name) ?? 0, this.#open));
    const delay = this.behaviour.chunkDelayMs ?? 0;
    const chunk = 16 * 1024;
    const close = (): void => {
      this.#open--;
    };
    async function* gen(data: Buffer): AsyncGenerator<Buffer> {
      try {
        for (let i = 0; i < data.length; i += chunk) {
          if (delay > 0) await new Promise((r) => setTimeout(r, delay));
          if (signal?.aborted) throw new Error('aborted');
          yield data.subarray(i, i + chunk);
        }
      } finally {
        close();
      }
    }
    return { stream: Readable.from(gen(bytes)), size: bytes.length };
  }
  async getSignatures(instanceDigest?: Digest): Promise<Buffer[]> {
    return this.image.signatures.get(instanceDigest ?? TOP) ?? [];
  }
  async close(): Promise<void> {}
}

class MemoryDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities;
  readonly #staged = emptyImage();
  #committed = false;
  constructor(
    readonly reference: MemoryReference,
    readonly behaviour: MemoryBehaviour,
  ) {
    this.capabilities = destinationCapabilities({
      supportsMultipleImages: true,
      supportsSignatures: true,
      hasThreadSafePutBlob: true,
      ...behaviour.capabilities,
    });
  }
  #existing(): MemoryImage | undefined {
    return this.reference.transport.images.get(this.reference.name);
  }
  async putBlob(stream: Readable, info: { digest?: Digest; size: number }, options: PutBlobOptions): Promise<BlobInfo> {
    const chunks: Buffer[] = [];
    for await (const c of stream) {
      if (options.signal?.aborted) throw new FerryError('ABORTED', 'aborted');
      chunks.push(c as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const digest = sha256(bytes);
    if (info.digest !== undefined && info.digest !== digest)
      throw new FerryError('DIGEST_MISMATCH', `put ${info.digest} got ${digest}`);
    this.#staged.blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }
  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    const { signal: _signal, cache, ...rest } = options;
    this.reference.transport.reuseCalls.push({
      image: this.reference.name,
      digest: info.digest,
      options: { ...rest, hasCache: cache !== undefined },
    });
    const bytes = this.#staged.blobs.get(info.digest) ?? this.#existing()?.blobs.get(info.digest);
    if (bytes !== undefined) return { digest: info.digest, size: bytes.length };
    const substitute = options.canSubstitute === true ? this.behaviour.substitutes?.get(info.digest) : undefined;
    if (substitute === undefined) return undefined;
    this.#staged.blobs.set(substitute.blob.digest, substitute.bytes);
    return substitute.blob;
  }
  async putManifest(bytes: Buffer, instanceDigest?: Digest): Promise<void> {
    const mimeType = guessMIMEType(bytes);
    if (this.behaviour.rejectManifestTypes?.includes(mimeType)) {
      throw new FerryError('MANIFEST_REJECTED', `memory destination rejects ${mimeType}`);
    }
    this.#staged.manifests.set(instanceDigest ?? TOP, { bytes, mimeType });
  }
  async putSignatures(signatures: Buffer[], instanceDigest?: Digest): Promise<void> {
    this.#staged.signatures.set(instanceDigest ?? TOP, signatures);
  }
  async commit(): Promise<void> {
    const target = this.#existing() ?? emptyImage();
    for (const [k, v] of this.#staged.blobs) target.blobs.set(k, v);
    for (const [k, v] of this.#staged.manifests) target.manifests.set(k, v);
    for (const [k, v] of this.#staged.signatures) target.signatures.set(k, v);
    this.reference.transport.images.set(this.reference.name, target);
    this.#committed = true;
  }
  async close(): Promise<void> {
    if (!this.#committed) this.#staged.blobs.clear();
  }
}
