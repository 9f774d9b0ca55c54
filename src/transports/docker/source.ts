/** Reading an image from a registry (containers/image docker/docker_image_src.go). */
import type { Digest } from '../../digest/digest.js';
import { throwIfAborted } from '../../errors.js';
import type { DockerReference } from '../../reference/reference.js';
import { type FetchedManifest, RegistryClient, type RegistryClientOptions, registryAPIHost } from '../../registry-client/index.js';
import { fetchExternalBlob } from '../shared/external-blob.js';
import type { BlobInfo, BlobStream, ImageOptions, ImageReference, ImageSource, RawManifest } from '../types.js';

/** The registry settings of an ImageOptions bag. */
export function registryClientOptions(options: ImageOptions): RegistryClientOptions {
  return {
    ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
    ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.registryToken === undefined ? {} : { registryToken: options.registryToken }),
    ...(options.noCreds === undefined ? {} : { noCreds: options.noCreds }),
  };
}

/** A client for the registry holding `ref`. */
export function openRegistryClient(ref: DockerReference, options: ImageOptions): Promise<RegistryClient> {
  return RegistryClient.create(registryAPIHost(ref.domain), registryClientOptions(options));
}

/** The tag or digest a reference names in its repository (a bare name never reaches here: `:latest` is added). */
export function manifestRef(ref: DockerReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export class DockerImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;
  readonly #client: RegistryClient;
  readonly #repository: string;
  readonly #topLevel: FetchedManifest;
  #closed = false;

  private constructor(
    readonly reference: ImageReference & { readonly ref: DockerReference },
    client: RegistryClient,
    topLevel: FetchedManifest,
  ) {
    this.#client = client;
    this.#repository = reference.ref.path;
    this.#topLevel = topLevel;
  }

  /** Opens the source and fetches the top-level manifest, so a missing image or bad credentials fail here. */
  static async open(reference: ImageReference & { readonly ref: DockerReference }, options: ImageOptions = {}): Promise<DockerImageSource> {
    throwIfAborted(options.signal);
    const client = await openRegistryClient(reference.ref, options);
    try {
      const topLevel = await client.getManifest(reference.ref.path, manifestRef(reference.ref), options.signal);
      return new DockerImageSource(reference, client, topLevel);
    } catch (e) {
      await client.close();
      throw e;
    }
  }

  /** The digest of the top-level manifest (as fetched and verified). */
  get manifestDigest(): Digest {
    return this.#topLevel.digest;
  }

  /** The registry client, for callers that need more than the contract (tags, inspect). */
  get client(): RegistryClient {
    return this.#client;
  }

  async getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest> {
    throwIfAborted(signal);
    if (instanceDigest === undefined || instanceDigest === this.#topLevel.digest) {
      return { bytes: this.#topLevel.bytes, mimeType: this.#topLevel.mimeType };
    }
    const m = await this.#client.getManifest(this.#repository, instanceDigest, signal);
    return { bytes: m.bytes, mimeType: m.mimeType };
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    if (info.urls !== undefined && info.urls.length > 0) {
      try {
        return await fetchExternalBlob(info, signal);
      } catch {
        // Foreign URLs failed: the registry may hold the layer after all.
      }
    }
    const { stream, size } = await this.#client.getBlob(this.#repository, info.digest, signal);
    return { stream, size: size >= 0 ? size : info.size };
  }

  async getSignatures(_instanceDigest?: Digest, _signal?: AbortSignal): Promise<Buffer[]> {
    return [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.close();
  }
}
