/**
 * A client for one registry host speaking the Distribution API
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md): a facade over the
 * layered transport (transport.ts) and the API modules (manifests, blobs, uploads, listing).
 */
import type { Readable } from 'node:stream';
import { loadTLSFilesFor } from '../config/certs.js';
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { blobExists, getBlob } from './blobs.js';
import { catalog, type ListOptions, listTags } from './listing.js';
import {
  deleteManifest,
  type FetchedManifest,
  getManifest,
  headManifest,
  type ManifestHead,
  putManifestDetailed,
} from './manifests.js';
import { DEFAULT_FALLBACK_CHUNK_SIZE, type RegistryClientOptions, registryTimeouts, USER_AGENT } from './options.js';
import { addToReferrersTagIndex, type ListReferrersOptions, listReferrers, type ReferrersList } from './referrers.js';
import { manifestSubject, referrerDescriptor } from '../manifest/referrer.js';
import { retryPolicy } from './retry.js';
import { HTTPTransport } from './transport.js';
import { mountBlob, type UploadBlobOptions, type UploadChunking, type UploadedBlob, uploadBlob } from './uploads.js';

export type {
  FetchedManifest,
  ListOptions,
  ListReferrersOptions,
  ManifestHead,
  ReferrersList,
  RegistryClientOptions,
  UploadBlobOptions,
  UploadedBlob,
};

export class RegistryClient {
  readonly host: string;
  readonly #transport: HTTPTransport;
  readonly #maxResumes: number;
  readonly #chunking: UploadChunking;

  private constructor(host: string, transport: HTTPTransport, options: RegistryClientOptions) {
    this.host = host;
    this.#transport = transport;
    this.#maxResumes = options.maxBlobResumes ?? 5;
    const chunk = options.uploadChunkSize;
    const chunkSize = chunk !== undefined && chunk > 0 ? Math.trunc(chunk) : undefined;
    this.#chunking = { chunkSize, fallbackChunkSize: chunkSize ?? DEFAULT_FALLBACK_CHUNK_SIZE };
  }

  /** A client for `host` (`HOST[:PORT]`); reads `certDir` or certs.d now, connects on first use. */
  static async create(host: string, options: RegistryClientOptions = {}): Promise<RegistryClient> {
    const tls =
      options.tls ??
      (await loadTLSFilesFor(options.certsHost ?? host, {
        ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
        ...(options.env === undefined ? {} : { env: options.env }),
      }));
    const transport = new HTTPTransport(host, {
      ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
      tls,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.registryToken === undefined ? {} : { registryToken: options.registryToken }),
      ...(options.noCreds === undefined ? {} : { noCreds: options.noCreds }),
      retry: retryPolicy(options.retry),
      userAgent: options.userAgent ?? USER_AGENT,
      ...registryTimeouts(options),
    });
    return new RegistryClient(host, transport, options);
  }

  /** Pings `/v2/` (once per client): https first, http only when tlsVerify is false. Returns the base URL. */
  async ping(signal?: AbortSignal): Promise<string> {
    return (await this.#transport.base(signal)).origin;
  }

  /**
   * Checks the client's credentials the way `login` does: an authenticated `GET /v2/` (for Bearer,
   * a token for no scope is fetched with them first). UNAUTHORIZED when the registry refuses them.
   */
  async checkCredentials(signal?: AbortSignal): Promise<void> {
    const what = `authenticating to ${this.host}`;
    const res = await this.#transport.send({ method: 'GET', url: '/v2/', scopes: [], signal });
    if (res.status === 200) {
      await res.body.dump();
      return;
    }
    const err = await this.#transport.failure(res, what, 'other');
    if (res.status === 401) {
      throw new FerryError('UNAUTHORIZED', `${what}: invalid username/password`, { cause: err, details: err.details });
    }
    throw err;
  }

  /** A manifest; a body cut short or damaged (a digest mismatch) is asked for again, within the retry policy. */
  getManifest(repository: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    return getManifest(this.#transport, repository, ref, signal);
  }

  /** The manifest's digest, type and size without its body; undefined when the registry has no such manifest. */
  headManifest(repository: string, ref: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    return headManifest(this.#transport, repository, ref, signal);
  }

  /**
   * Stores a manifest under a tag or its digest and returns its digest (MANIFEST_REJECTED when the format is refused).
   * A manifest with a `subject` that the registry did not process (no `OCI-Subject` in the answer) is
   * added to the subject's referrers tag index, as distribution-spec v1.1 asks of clients.
   */
  async putManifest(
    repository: string,
    ref: string,
    bytes: Buffer,
    mimeType: string,
    signal?: AbortSignal,
  ): Promise<Digest> {
    const put = await putManifestDetailed(this.#transport, repository, ref, bytes, mimeType, signal);
    const subject = manifestSubject(bytes);
    if (subject !== undefined && put.ociSubject === undefined) {
      const descriptor = referrerDescriptor(bytes, mimeType, put.digest);
      await addToReferrersTagIndex(this.#transport, repository, subject, descriptor, signal);
    }
    return put.digest;
  }

  /**
   * The manifests whose `subject` is `digest`: the referrers API (`GET /v2/<name>/referrers/<digest>`),
   * else (a 404: no API) the referrers tag schema index `<alg>-<hex>`.
   */
  listReferrers(repository: string, digest: Digest, options: ListReferrersOptions = {}): Promise<ReferrersList> {
    return listReferrers(this.#transport, repository, digest, options);
  }

  /** Deletes a manifest; a tag is first resolved to the digest it names (registries delete by digest only). */
  deleteManifest(repository: string, ref: string, signal?: AbortSignal): Promise<Digest> {
    return deleteManifest(this.#transport, repository, ref, signal);
  }

  /** The blob's size when the repository has it, undefined when it does not. */
  blobExists(repository: string, digest: Digest, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    return blobExists(this.#transport, repository, digest, signal);
  }

  /**
   * A blob as a stream (redirects to storage hosts followed without the registry's credentials).
   * A read that breaks is resumed with `Range`; the caller verifies the digest.
   */
  getBlob(repository: string, digest: Digest, signal?: AbortSignal): Promise<{ stream: Readable; size: number }> {
    return getBlob(this.#transport, repository, digest, this.#maxResumes, signal);
  }

  /** Uploads a blob (a mount first when asked); a failed upload is cancelled. */
  uploadBlob(repository: string, stream: Readable, options: UploadBlobOptions = {}): Promise<UploadedBlob> {
    return uploadBlob(this.#transport, repository, stream, options, this.#chunking);
  }

  /** Cross-repository mount: true when mounted; false when the registry opened an upload instead (cancelled). */
  mountBlob(repository: string, digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
    return mountBlob(this.#transport, repository, digest, from, signal);
  }

  /** Every tag of a repository, following `Link` pagination. */
  listTags(repository: string, options: ListOptions = {}): Promise<string[]> {
    return listTags(this.#transport, repository, options);
  }

  /** Every repository name of the registry (`/v2/_catalog`), following `Link` pagination. */
  catalog(options: ListOptions = {}): Promise<string[]> {
    return catalog(this.#transport, options);
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }
}
