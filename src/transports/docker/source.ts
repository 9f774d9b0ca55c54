/** Reading an image from a registry (containers/image docker/docker_image_src.go). */
import type { BlobInfoCache } from '../../blobinfocache/types.js';
import { type Digest, digestAlgorithm } from '../../digest/digest.js';
import { type Credentials, getCredentials } from '../../config/auth.js';
import {
  loadRegistriesConf,
  type PullSource,
  pullSources,
  pushDestination,
  type RegistriesConf,
} from '../../config/registries-conf.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { manifestDigest } from '../../manifest/digest.js';
import type { DockerReference } from '../../reference/reference.js';
import {
  type FetchedManifest,
  isManifestUnknown,
  RegistryClient,
  type RegistryClientOptions,
  registryAPIHost,
} from '../../registry-client/index.js';
import { fetchExternalBlob } from '../shared/external-blob.js';
import type {
  BlobInfo,
  BlobStream,
  DockerDestinationOptions,
  DockerSourceOptions,
  ImageReference,
  ImageSource,
  RawManifest,
  ReferrersListing,
  RegistriesConfOptions,
} from '../types.js';
import { readLookasideSignatures } from './lookaside.js';
import { loadSignatureConfig, type SignatureStorage, signatureStorage } from './signature-storage.js';
import { readSigstoreAttachments } from './sigstore-attachments.js';

/** The registry settings of a docker: reference's options that do not depend on the registry. */
export function registryClientOptions(options: DockerDestinationOptions): RegistryClientOptions {
  const retry = {
    ...(options.retryTimes === undefined ? {} : { maxAttempts: Math.max(0, Math.trunc(options.retryTimes)) + 1 }),
    ...(options.retryDelayMs === undefined ? {} : { initialDelayMs: options.retryDelayMs, fixedDelay: true }),
  };
  return {
    ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
    ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.registryToken === undefined ? {} : { registryToken: options.registryToken }),
    ...(options.noCreds === undefined ? {} : { noCreds: options.noCreds }),
    ...(Object.keys(retry).length === 0 ? {} : { retry }),
    ...(options.uploadChunkSize === undefined ? {} : { uploadChunkSize: options.uploadChunkSize }),
    ...(options.registryTimeoutMs === undefined
      ? {}
      : { headersTimeoutMs: options.registryTimeoutMs, bodyTimeoutMs: options.registryTimeoutMs }),
  };
}

/** registries.conf as the options name it (explicit path / dir, else CONTAINERS_REGISTRIES_CONF and the usual files). */
export function registriesConfFor(options: RegistriesConfOptions): Promise<RegistriesConf> {
  return loadRegistriesConf({
    ...(options.registriesConfPath === undefined ? {} : { path: options.registriesConfPath }),
    ...(options.registriesConfDir === undefined ? {} : { dir: options.registriesConfDir }),
  });
}

/**
 * A client for one endpoint (`endpoint.domain`), with the settings skopeo would use there:
 * TLS verification from the options, else off for an `insecure` registry; certs.d of the endpoint
 * (or `certDir`); credentials from the options (`credentials`, `registryToken`, `noCreds`), else from
 * the auth files and credential helpers (registries.conf `credential-helpers`).
 */
async function clientForEndpoint(
  endpoint: PullSource,
  conf: RegistriesConf,
  options: DockerDestinationOptions,
): Promise<RegistryClient> {
  const ref = endpoint.reference;
  const base = registryClientOptions(options);
  let credentials: Credentials | undefined = base.credentials;
  if (options.noCreds !== true && credentials === undefined && options.registryToken === undefined) {
    credentials = await getCredentials(`${ref.domain}/${ref.path}`, {
      ...(options.authFile === undefined ? {} : { authFile: options.authFile }),
      credentialHelpers: conf.credentialHelpers,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }
  return RegistryClient.create(registryAPIHost(ref.domain), {
    ...base,
    ...(options.tlsVerify === undefined && endpoint.insecure ? { tlsVerify: false } : {}),
    certsHost: ref.domain,
    ...(credentials === undefined ? {} : { credentials }),
  });
}

/**
 * A client for the registry holding `ref` as written (pushes, deletes, tag lists: no mirrors, no
 * rewrite, as containers/image does). REGISTRY_BLOCKED when registries.conf blocks it.
 */
export async function openRegistryClient(
  ref: DockerReference,
  options: DockerDestinationOptions,
): Promise<RegistryClient> {
  const conf = await registriesConfFor(options);
  return clientForEndpoint(pushDestination(conf, ref), conf, options);
}

/** Where a pull was served from: the client, the endpoint's reference (rewritten) and its manifest. */
interface PullEndpoint {
  client: RegistryClient;
  reference: DockerReference;
  topLevel: FetchedManifest;
  /** registries.conf marks the endpoint `insecure`. */
  insecure: boolean;
}

/**
 * Fetches the top-level manifest from the first endpoint that has it: the mirrors registries.conf
 * allows for this reference (in order), then the primary location. REGISTRY_BLOCKED when blocked;
 * when every endpoint fails, the last error, naming every endpoint's failure.
 */
async function openPullEndpoint(ref: DockerReference, options: DockerSourceOptions): Promise<PullEndpoint> {
  const conf = await registriesConfFor(options);
  const sources = pullSources(conf, ref);
  const failures: { endpoint: string; error: unknown }[] = [];
  for (const source of sources) {
    throwIfAborted(options.signal);
    let client: RegistryClient | undefined;
    try {
      client = await clientForEndpoint(source, conf, options);
      const topLevel = await client.getManifest(source.reference.path, manifestRef(source.reference), options.signal);
      return { client, reference: source.reference, topLevel, insecure: source.insecure };
    } catch (e) {
      await client?.close();
      if (options.signal?.aborted) throw e;
      failures.push({ endpoint: source.reference.toString(), error: e });
    }
  }
  const last = failures.at(-1)?.error;
  if (failures.length <= 1) throw last;
  const summary = failures
    .map((f) => `${f.endpoint}: ${f.error instanceof Error ? f.error.message : String(f.error)}`)
    .join('; ');
  const code = last instanceof FerryError ? last.code : 'REGISTRY_ERROR';
  throw new FerryError(code, `reading manifest of ${ref.toString()} failed from every endpoint: ${summary}`, {
    cause: last,
    details: { ...(last instanceof FerryError ? last.details : {}), endpoints: failures.map((f) => f.endpoint) },
  });
}

/** The tag or digest a reference names in its repository (a bare name never reaches here: `:latest` is added). */
export function manifestRef(ref: DockerReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export class DockerImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;
  readonly blobsCrossNetwork = true;
  readonly #client: RegistryClient;
  readonly #repository: string;
  readonly #topLevel: FetchedManifest;
  readonly #signatures: SignatureStorage;
  #closed = false;

  /** The reference on the endpoint that served the pull (a mirror or the rewritten primary location). */
  readonly endpoint: DockerReference;

  private constructor(
    readonly reference: ImageReference & { readonly ref: DockerReference },
    pulled: PullEndpoint,
    signatures: SignatureStorage,
  ) {
    this.#client = pulled.client;
    this.endpoint = pulled.reference;
    this.#repository = pulled.reference.path;
    this.#topLevel = pulled.topLevel;
    this.#signatures = signatures;
  }

  /**
   * Opens the source and fetches the top-level manifest, so a missing image or bad credentials fail
   * here. registries.conf mirrors are tried first, then the primary location; blobs and instances
   * are then read from the endpoint that served the manifest.
   */
  static async open(
    reference: ImageReference & { readonly ref: DockerReference },
    options: DockerSourceOptions = {},
  ): Promise<DockerImageSource> {
    throwIfAborted(options.signal);
    const config = await loadSignatureConfig(options);
    const pulled = await openPullEndpoint(reference.ref, options);
    // Signatures of the repository as accessed (a mirror's, when a mirror served the pull), as upstream.
    const signatures = signatureStorage(config, {
      reference: pulled.reference,
      write: false,
      insecure: pulled.insecure,
      options,
    });
    return new DockerImageSource(reference, pulled, signatures);
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

  async getBlob(info: BlobInfo, signal?: AbortSignal, cache?: BlobInfoCache): Promise<BlobStream> {
    throwIfAborted(signal);
    if (info.urls !== undefined && info.urls.length > 0) {
      try {
        return await fetchExternalBlob(info, signal);
      } catch {
        // Foreign URLs failed: the registry may hold the layer after all.
      }
    }
    const { stream, size } = await this.#client.getBlob(this.#repository, info.digest, signal);
    // Where it was found, so a copy to another repository of this registry can mount it.
    cache?.recordKnownLocation('docker', this.#client.host, info.digest, this.#repository);
    return { stream, size: size >= 0 ? size : info.size };
  }

  /**
   * The signatures of the top-level manifest or of an instance: the lookaside ones, then (with
   * `use-sigstore-attachments`) the sigstore attachments (containers/image GetSignaturesWithFormat).
   */
  async getSignatures(instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]> {
    throwIfAborted(signal);
    const digest = instanceDigest ?? this.#topLevelSHA256();
    const signatures = await readLookasideSignatures(
      this.#signatures.lookasideBase,
      digest,
      this.#signatures.http,
      signal,
    );
    if (this.#signatures.useSigstoreAttachments) {
      signatures.push(...(await readSigstoreAttachments(this.#client, this.#repository, digest, signal)));
    }
    return signatures;
  }

  /** OCI 1.1 referrers of a manifest of this repository: the referrers API, else the referrers tag schema. */
  async listReferrers(
    digest: Digest,
    options: { artifactType?: string; signal?: AbortSignal } = {},
  ): Promise<ReferrersListing> {
    throwIfAborted(options.signal);
    return this.#client.listReferrers(this.#repository, digest, options);
  }

  /** A manifest under `tag` in this repository (cosign attachments), or undefined when the tag does not exist. */
  async getTaggedManifest(tag: string, signal?: AbortSignal): Promise<(RawManifest & { digest: Digest }) | undefined> {
    throwIfAborted(signal);
    let m: FetchedManifest;
    try {
      m = await this.#client.getManifest(this.#repository, tag, signal);
    } catch (e) {
      if (isManifestUnknown(e)) return undefined;
      throw e;
    }
    return { bytes: m.bytes, mimeType: m.mimeType, digest: m.digest };
  }

  /** The top-level manifest's sha256 digest, which signatures are stored by (upstream manifestDigest()). */
  #topLevelSHA256(): Digest {
    const d = this.#topLevel.digest;
    return digestAlgorithm(d) === 'sha256' ? d : manifestDigest(this.#topLevel.bytes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.close();
  }
}
