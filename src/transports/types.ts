/**
 * The transport contract: every place an image can live implements these four interfaces
 * (containers/image's ImageTransport / ImageReference / ImageSource / ImageDestination).
 *
 * - A transport parses the text after `name:` into an ImageReference.
 * - A reference opens a source (read side) or a destination (write side), or deletes the image.
 * - Blobs always move as streams; manifests and configs are small and move as exact bytes
 *   (the bytes are the truth: digests are over them, never over re-serialised JSON).
 * - Every operation that touches disk or network takes an AbortSignal.
 * - The copy engine asks a destination's `capabilities`, never its transport name.
 *   Defaults for every capability live in one place: DEFAULT_DESTINATION_CAPABILITIES.
 * - The copy's blob-info cache reaches transports through getBlob and BlobCallOptions; using it is
 *   optional (only docker:// does: known locations, mounts, substitutes).
 */
import type { Readable } from 'node:stream';
import type { BlobInfoCache } from '../blobinfocache/types.js';
import type { Digest } from '../digest/digest.js';
import type { BlobInfo } from '../manifest/blob-info.js';
import type { Descriptor } from '../manifest/descriptor.js';
import type { DockerReference } from '../reference/reference.js';

export type { BlobInfo, Platform } from '../manifest/blob-info.js';

/** Compression algorithms Ferry can write; `bzip2`/`xz` are only ever detected (and refused). */
export type CompressionAlgorithmName = 'gzip' | 'zstd';

/** A blob being read: a stream and its size (-1 when the source does not know). */
export interface BlobStream {
  stream: Readable;
  size: number;
}

/** Raw manifest bytes with their MIME type (as stored by the source, or guessed from the bytes). */
export interface RawManifest {
  bytes: Buffer;
  mimeType: string;
}

/*
 * Options, split by concern (containers/image's SystemContext, cut into the parts a reader needs).
 * Each transport's open methods take only the concerns it reads, named below (`OciLayoutSourceOptions`,
 * `DockerSourceOptions`, ...): an object literal with an option the transport would ignore does not
 * compile (`ociRef.newImageSource({ tlsVerify: false })`). The generic ImageReference — what
 * parseImageReference returns, what the copy engine and the CLI hold — accepts `ImageOptions`, every
 * concern at once; each transport picks its own part of it. So the CLI builds one ImageOptions per
 * side, `copyImage(src, dst, { sourceOptions, destinationOptions })` passes it on, and no layer
 * between them needs to know which transport reads what.
 * Secrets here never reach logs or error messages.
 */

/** Every call: cancellation. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Local temp files: where archives are extracted or assembled. */
export interface TempDirOptions {
  /** Directory for big temp files; default `$TMPDIR`, else containers.conf's image_copy_tmp_dir, else /var/tmp. */
  tmpDir?: string;
}

/** Platform choice: which instance of a list an image view or a copy picks (`--override-os/arch/variant`). */
export interface PlatformChoiceOptions {
  os?: string;
  architecture?: string;
  variant?: string;
}

/** Registry TLS. */
export interface RegistryTLSOptions {
  /** false: skip TLS verification and allow plain http for this call's registries. */
  tlsVerify?: boolean;
  /** certs.d-style directory of CA certificates and client keys to use instead of the registries'. */
  certDir?: string;
}

/** Registry credentials. */
export interface RegistryAuthOptions {
  authFile?: string;
  credentials?: { username: string; password: string };
  registryToken?: string;
  noCreds?: boolean;
}

/** Which registries.conf a registry reference is resolved with (mirrors, blocked registries, insecure ones). */
export interface RegistriesConfOptions {
  /** registries.conf to read instead of CONTAINERS_REGISTRIES_CONF / the user's / the system's (no drop-ins unless registriesConfDir). */
  registriesConfPath?: string;
  /** registries.conf.d drop-in directory to read. */
  registriesConfDir?: string;
}

/** Where registry images' signatures live (containers-registries.d(5): lookaside storage, sigstore attachments). */
export interface RegistriesDOptions {
  /** The registries.d directory to read, alone (`--registries.d`); default `~/.config/containers/registries.d`, else `/etc/containers/registries.d`. */
  registriesDDir?: string;
}

/** Registry retries and timeouts. */
export interface RegistryRetryOptions {
  /** Retries per registry request, and per blob transfer, after the first try (`--retry-times`); default 4. */
  retryTimes?: number;
  /** Fixed delay between retries in ms (`--retry-delay`); default exponential backoff from 1 s. */
  retryDelayMs?: number;
  /**
   * Longest wait for a registry's response headers and between two body chunks, in ms (default
   * 120 s / 60 s, or FERRY_REGISTRY_TIMEOUT_MS); a stall past it is re-driven like a reset.
   */
  registryTimeoutMs?: number;
}

/** Registry uploads. */
export interface RegistryUploadOptions {
  /** Upload blobs in PATCHes of this many bytes (Content-Range); default one PATCH, chunks after a 413. */
  uploadChunkSize?: number;
}

/** Everything reading from a registry needs: TLS, credentials, registries.conf, retries. */
export interface RegistryAccessOptions
  extends CallOptions,
    RegistryTLSOptions,
    RegistryAuthOptions,
    RegistriesConfOptions,
    RegistryRetryOptions {}

/** Local paths of an OCI layout. */
export interface SharedBlobDirOptions {
  /** oci: a blob directory shared between layouts (`--src/--dest-shared-blob-dir`). */
  sharedBlobDir?: string;
}

/** Copy behaviour an OCI layout destination offers. */
export interface OciLayoutWriteBehaviour {
  /** Accept uncompressed layers instead of asking for compression. */
  ociAcceptUncompressedLayers?: boolean;
}

/** Copy behaviour a docker-archive destination offers. */
export interface DockerArchiveWriteBehaviour {
  /** Extra `name:tag` references to record (`--additional-tag`). */
  additionalTags?: string[];
}

/**
 * Where a Docker daemon listens (docker-daemon:). Its TLS settings are RegistryTLSOptions' `certDir`
 * (ca.pem, cert.pem, key.pem) and `tlsVerify`, as skopeo's --cert-dir/--tls-verify serve a registry and a daemon alike.
 */
export interface DockerDaemonHostOptions {
  /** `unix:///PATH`, `tcp://HOST:PORT` (TLS), `https://HOST:PORT`, `http://HOST:PORT`; default $DOCKER_HOST, else unix:///var/run/docker.sock. */
  daemonHost?: string;
}

// What each built-in transport reads; its reference's open methods take these.
export interface DockerSourceOptions extends RegistryAccessOptions, RegistriesDOptions {}
export interface DockerDestinationOptions extends RegistryAccessOptions, RegistryUploadOptions, RegistriesDOptions {}
export interface OciLayoutSourceOptions extends CallOptions, SharedBlobDirOptions {}
export interface OciLayoutDestinationOptions extends OciLayoutSourceOptions, OciLayoutWriteBehaviour {}
export interface OciArchiveSourceOptions extends CallOptions, TempDirOptions {}
export interface OciArchiveDestinationOptions extends OciArchiveSourceOptions, OciLayoutWriteBehaviour {}
export interface DockerArchiveSourceOptions extends CallOptions, TempDirOptions {}
export interface DockerArchiveDestinationOptions extends DockerArchiveSourceOptions, DockerArchiveWriteBehaviour {}
export interface DirOptions extends CallOptions {}
export interface DockerDaemonSourceOptions
  extends CallOptions,
    TempDirOptions,
    RegistryTLSOptions,
    DockerDaemonHostOptions {}
export interface DockerDaemonDestinationOptions extends DockerDaemonSourceOptions {}
export interface TarballSourceOptions extends CallOptions, TempDirOptions {}

/**
 * Every concern at once: what a reference of unknown transport accepts (and what the CLI builds).
 * A transport reads its part and ignores the rest.
 */
export interface ImageOptions
  extends RegistryAccessOptions,
    RegistryUploadOptions,
    RegistriesDOptions,
    TempDirOptions,
    PlatformChoiceOptions,
    SharedBlobDirOptions,
    OciLayoutWriteBehaviour,
    DockerArchiveWriteBehaviour,
    DockerDaemonHostOptions {}

export interface ImageTransport {
  /** The prefix before the first `:`, e.g. `oci`, `docker` (written `docker://`). */
  readonly name: string;
  /** Parses the text after `name:` (for docker, after `docker:`, so it starts with `//`). */
  parseReference(within: string): ImageReference;
  /**
   * Its sources list OCI 1.1 referrers (`ImageSource.listReferrers`). Stated here so that listing
   * refuses another transport before opening a source (for some, exporting a whole image).
   */
  readonly listsReferrers?: boolean;
}

/**
 * A typed view of one image over an open source (src/image/ implements it, adding inspect and
 * more). Close it to release the source.
 */
export interface ImageView {
  /** The top-level manifest, exact bytes (may be a list/index). */
  manifest(): Promise<RawManifest>;
  /** The digest of the top-level manifest. */
  digest(): Promise<Digest>;
  /** The config blob of the image (for a list: of the instance chosen for the wanted platform). */
  config(): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

export interface ImageReference {
  readonly transport: ImageTransport;
  /** The text after `transport.name:`; `parseReference` of it gives back an equal reference. */
  stringWithinTransport(): string;
  /** `transport:within`, e.g. `oci:/tmp/layout:app`, `docker://docker.io/library/fedora:latest`. */
  toString(): string;
  /** The named Docker reference this image is known by, if the transport has one. */
  dockerReference(): DockerReference | undefined;
  /**
   * The scope policy.json looks up first for this image (containers/image PolicyConfigurationIdentity):
   * docker: `name:tag` / `name@digest`; dir:, oci:, oci-archive:: the absolute path with symlinks
   * resolved; `""` when the transport scopes images by nothing but its default (docker-archive:, tarball:).
   */
  policyConfigurationIdentity(): string;
  /**
   * The scopes looked up next, most specific first (PolicyConfigurationNamespaces); the transport's `""`
   * and the global `default` always follow. docker: the repository, its parents, `*.domain` wildcards;
   * dir:: parent directories; oci:, oci-archive:: the path itself, then its parents (never `/`).
   */
  policyConfigurationNamespaces(): string[];
  newImageSource(options?: ImageOptions): Promise<ImageSource>;
  /** Opens the image for reading as a typed view (manifest, config, ...). */
  newImage(options?: ImageOptions): Promise<ImageView>;
  newImageDestination(options?: ImageOptions): Promise<ImageDestination>;
  deleteImage(options?: ImageOptions): Promise<void>;
}

export interface ImageSource {
  readonly reference: ImageReference;
  /**
   * The manifest: the top-level one (which may be a list/index) when `instanceDigest` is undefined,
   * otherwise the instance with that digest. Sources verify an instance's bytes against its digest.
   */
  getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest>;
  /**
   * A blob as a stream. Sources may verify as they go; the copy engine always verifies digest and
   * size at the end of the stream regardless. A source may record in `cache` where it found the
   * blob (docker: its repository), so a later copy can mount it from there.
   */
  getBlob(info: BlobInfo, signal?: AbortSignal, cache?: BlobInfoCache): Promise<BlobStream>;
  /** Raw signatures of the top-level manifest or of an instance (empty when unsupported). */
  getSignatures(instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]>;
  /**
   * Optional (containers/image ImageSource.LayerInfosForCopy): the layers this source can actually
   * serve for the image (or instance), in manifest order, when they differ from what its manifest
   * lists — containers-storage keeps layers uncompressed, so it serves them by diffID, uncompressed.
   * The copy engine then copies these and writes the manifest updated to them (refused when the
   * manifest must not change). Undefined, or absent: the manifest's layers are served as listed.
   */
  layerInfosForCopy?(instanceDigest?: Digest, signal?: AbortSignal): Promise<BlobInfo[] | undefined>;
  /** Whether getBlob may be called concurrently. */
  readonly hasThreadSafeGetBlob: boolean;
  /** Blobs come over a network, where bytes can be damaged in transit: a digest mismatch is worth a re-fetch. */
  readonly blobsCrossNetwork?: boolean;
  /**
   * OCI 1.1 referrers of a manifest in this source (the manifests whose `subject` is `digest`).
   * Present exactly when the transport says `listsReferrers` (docker://, oci:).
   */
  listReferrers?(digest: Digest, options?: { artifactType?: string; signal?: AbortSignal }): Promise<ReferrersListing>;
  /** A manifest stored under a tag next to the image (cosign's `sha256-<hex>.sig`), or undefined when there is none. */
  getTaggedManifest?(tag: string, signal?: AbortSignal): Promise<(RawManifest & { digest: Digest }) | undefined>;
  close(): Promise<void>;
}

/** The referrers of one manifest (distribution-spec v1.1 "Listing Referrers"). */
export interface ReferrersListing {
  subject: Digest;
  /** One descriptor per referrer manifest (mediaType, digest, size, artifactType, annotations). */
  manifests: Descriptor[];
  /**
   * `api`: the registry's referrers API answered; `tag-schema`: the fallback tag index was read;
   * `layout`: the manifests of an OCI layout's index.json were read.
   */
  source: 'api' | 'tag-schema' | 'layout';
  /** Whether the registry applied the artifactType filter itself (`OCI-Filters-Applied`). */
  filtersApplied: boolean;
}

/** How a destination wants layers compressed. */
export type LayerCompressionDesire = 'preserve' | 'compress' | 'decompress';

export interface DestinationCapabilities {
  /** Manifest MIME types accepted, most preferred first; `undefined` = any type. */
  supportedManifestMIMETypes: readonly string[] | undefined;
  desiredLayerCompression: LayerCompressionDesire;
  /** Compression algorithms it can store; `undefined` = any. (docker-archive: none at all.) */
  supportedCompressionAlgorithms: readonly CompressionAlgorithmName[] | undefined;
  /** Whether layers with `urls` may be left out and referenced (OCI non-distributable / Docker foreign). */
  acceptsForeignLayerURLs: boolean;
  /** Whether it can hold a list/index and its instances as a group (`--all`). */
  supportsMultipleImages: boolean;
  supportsSignatures: boolean;
  /** Whether putBlob may be called concurrently. */
  hasThreadSafePutBlob: boolean;
  /** Whether the image must be for the running OS (docker daemon); only logged by the copy engine. */
  mustMatchRuntimeOS: boolean;
  /** Whether it ignores the name embedded in a schema1 manifest. */
  ignoresEmbeddedDockerReference: boolean;
}

/** Defaults in one place: a transport states only what differs. */
export const DEFAULT_DESTINATION_CAPABILITIES: Readonly<DestinationCapabilities> = Object.freeze({
  supportedManifestMIMETypes: undefined,
  desiredLayerCompression: 'preserve',
  supportedCompressionAlgorithms: undefined,
  acceptsForeignLayerURLs: false,
  supportsMultipleImages: false,
  supportsSignatures: false,
  hasThreadSafePutBlob: false,
  mustMatchRuntimeOS: false,
  ignoresEmbeddedDockerReference: false,
});

export function destinationCapabilities(overrides: Partial<DestinationCapabilities>): DestinationCapabilities {
  return { ...DEFAULT_DESTINATION_CAPABILITIES, ...overrides };
}

/** What putBlob and tryReusingBlob are both told. */
export interface BlobCallOptions {
  /** True for the image config (some destinations store it apart from layers). */
  isConfig: boolean;
  signal?: AbortSignal;
  /**
   * The blob-info cache of this copy: a destination may look up reuse candidates in it
   * (tryReusingBlob) and record where blobs now are. Absent: no cache (look at the primary digest only).
   */
  cache?: BlobInfoCache;
}

export interface PutBlobOptions extends BlobCallOptions {
  /**
   * The caller itself checks the stream's bytes against `info.digest` and `info.size`
   * (the copy engine's DigestVerifier) and makes the stream fail — an error, never a normal end —
   * when they differ. The destination then need not hash the same bytes a second time, on one rule:
   * it must not keep or commit a blob unless the stream ended normally (a stream that errored leaves
   * nothing behind). Without this flag, or without `info.digest`, the destination computes the
   * digest itself and checks it against `info.digest` when given.
   */
  callerVerifiesDigest?: boolean;
}

export interface TryReusingBlobOptions extends BlobCallOptions {
  /**
   * Whether a blob with the same uncompressed content but another digest may be returned (the copy
   * engine allows it only when the manifest may change). Default false.
   */
  canSubstitute?: boolean;
  /** The compression a reused blob must have (the primary digest included); undefined = any. */
  requiredCompression?: CompressionAlgorithmName;
  /** Manifest MIME types the copy may write (a zstd substitute needs one that can express zstd). */
  possibleManifestFormats?: readonly string[];
}

/**
 * A blob tryReusingBlob found. When its digest differs from the one asked for (a substitute),
 * `compression` says how it is compressed (`none`: uncompressed), so the manifest can be updated.
 */
export interface ReusedBlob extends BlobInfo {
  compression?: CompressionAlgorithmName | 'none';
}

export interface ImageDestination {
  readonly reference: ImageReference;
  readonly capabilities: DestinationCapabilities;
  /**
   * Stores a blob from a stream. `info.digest` may be undefined when the copy engine changed the
   * compression and does not know it yet: the destination computes it. Returns the stored blob's
   * digest and size. A blob is only visible after `commit` (temp files until then).
   */
  putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo>;
  /**
   * If the destination already has this blob, returns its info without moving bytes; else undefined.
   * With `options.cache` it may also use a known copy elsewhere (docker: a cross-repository mount)
   * and, with `canSubstitute`, another blob of the same uncompressed content (a `ReusedBlob` with
   * another digest). Destinations that ignore the cache just check the primary digest.
   */
  tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined>;
  /** Stores a manifest: the top-level one, or an instance of a list (`instanceDigest`). */
  putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void>;
  /**
   * Optional, for destinations that can answer cheaply: the digest of the manifest the destination
   * names now (its tag or digest; an instance of a list by `instanceDigest`), undefined when there
   * is none or the answer is unsure. A registry answers with one HEAD. The copy engine uses it to
   * end a copy that would write nothing (copy/noop.ts); a registry's putManifest reuses an answer
   * that names other bytes (the tag is written without asking again).
   */
  existingManifestDigest?(instanceDigest?: Digest, signal?: AbortSignal): Promise<Digest | undefined>;
  putSignatures(signatures: Buffer[], instanceDigest?: Digest, signal?: AbortSignal): Promise<void>;
  /**
   * Stores a manifest that refers to another (OCI 1.1 `subject`) by its digest, keeping whatever index
   * of referrers the destination has up to date. Absent: the destination cannot hold referrers.
   */
  putReferrerManifest?(bytes: Buffer, digest: Digest, signal?: AbortSignal): Promise<void>;
  /** Stores a manifest under a tag next to the image (cosign's `sha256-<hex>.sig`); present with putReferrerManifest. */
  putTaggedManifest?(bytes: Buffer, tag: string, signal?: AbortSignal): Promise<void>;
  /** Makes the image visible, atomically. Before commit, nothing written is visible as an image. */
  commit(signal?: AbortSignal): Promise<void>;
  /** Releases resources; without a prior commit, discards everything written. Safe to call twice. */
  close(): Promise<void>;
}
