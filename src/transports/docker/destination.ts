/** Writing an image to a registry (containers/image docker/docker_image_dest.go). */
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { ACCEPTED_MANIFEST_TYPES } from '../../manifest/mediatypes.js';
import type { DockerReference } from '../../reference/reference.js';
import type { RegistryClient } from '../../registry-client/index.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type ImageDestination,
  type ImageOptions,
  type ImageReference,
  type PutBlobOptions,
} from '../types.js';
import { manifestRef, openRegistryClient } from './source.js';

const DOCKER_DESTINATION_CAPABILITIES: DestinationCapabilities = Object.freeze(
  destinationCapabilities({
    // A registry takes every manifest type Ferry reads, in the same order of preference
    // (OCI, schema2, schema1 signed, schema1, Docker list, OCI index).
    supportedManifestMIMETypes: ACCEPTED_MANIFEST_TYPES,
    desiredLayerCompression: 'compress',
    acceptsForeignLayerURLs: true,
    supportsMultipleImages: true,
    hasThreadSafePutBlob: true,
  }),
);

export class DockerImageDestination implements ImageDestination {
  readonly capabilities = DOCKER_DESTINATION_CAPABILITIES;
  readonly #client: RegistryClient;
  readonly #repository: string;
  #closed = false;

  private constructor(
    readonly reference: ImageReference & { readonly ref: DockerReference },
    client: RegistryClient,
  ) {
    this.#client = client;
    this.#repository = reference.ref.path;
  }

  static async open(reference: ImageReference & { readonly ref: DockerReference }, options: ImageOptions = {}): Promise<DockerImageDestination> {
    throwIfAborted(options.signal);
    return new DockerImageDestination(reference, await openRegistryClient(reference.ref, options));
  }

  /** The registry client, for callers that need more than the contract. */
  get client(): RegistryClient {
    return this.#client;
  }

  async putBlob(stream: Readable, info: { digest?: Digest; size: number; mediaType?: string }, options: PutBlobOptions): Promise<BlobInfo> {
    const uploaded = await this.#client.uploadBlob(this.#repository, stream, {
      ...(info.digest === undefined ? {} : { digest: info.digest }),
      size: info.size,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    return { digest: uploaded.digest, size: uploaded.size, ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }) };
  }

  async tryReusingBlob(info: BlobInfo, options: PutBlobOptions): Promise<BlobInfo | undefined> {
    const found = await this.#client.blobExists(this.#repository, info.digest, options.signal);
    if (found === undefined) return undefined;
    return { ...info, size: found.size >= 0 ? found.size : info.size };
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    const mimeType = guessMIMEType(bytes);
    if (mimeType === '') {
      throw new FerryError('UNSUPPORTED_MANIFEST_TYPE', `writing a manifest to ${this.reference.toString()}: its format is not recognised`);
    }
    const ref = instanceDigest ?? manifestRef(this.reference.ref);
    await this.#client.putManifest(this.#repository, ref, bytes, mimeType, signal);
  }

  async putSignatures(signatures: Buffer[], _instanceDigest?: Digest, _signal?: AbortSignal): Promise<void> {
    if (signatures.length === 0) return;
    throw new FerryError('UNSUPPORTED_OPERATION', `${this.reference.toString()}: storing signatures in a registry is not supported yet`);
  }

  async commit(_signal?: AbortSignal): Promise<void> {
    // Registry writes are visible as they happen; the manifest PUT is the commit point.
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.close();
  }
}
