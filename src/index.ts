/**
 * Ferry's public API: re-exports only, plus the registration of the built-in transports.
 * Everything a user (and the CLI in src/cli/) may import comes from here.
 */
// Transports are imported through their reference modules (parsing only): a transport's source and
// destination, and the heavy modules they use (tar-stream, ...), load when an image is first opened.
import { containersStorageTransport } from './transports/containers-storage/reference.js';
import { dirTransport } from './transports/dir/reference.js';
import { dockerTransport } from './transports/docker/reference.js';
import { ociTransport } from './transports/oci-layout/reference.js';
import { dockerArchiveTransport } from './transports/docker-archive/reference.js';
import { dockerDaemonTransport } from './transports/docker-daemon/reference.js';
import { ociArchiveTransport } from './transports/oci-archive/reference.js';
import { setImageOpener } from './transports/reference-base.js';
import { registerTransport } from './transports/registry.js';
import { tarballTransport } from './transports/tarball/reference.js';
import { openImage as openImageView } from './image/image.js';

export { FerryError, isFerryError, abortError, throwIfAborted } from './errors.js';
export type { FerryErrorCode, FerryErrorOptions } from './errors.js';

export {
  DIGEST_HEX_LENGTH,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  isDigestAlgorithm,
  parseDigest,
} from './digest/digest.js';
export type { Digest, DigestAlgorithm } from './digest/digest.js';

export { DEFAULT_DESTINATION_CAPABILITIES, destinationCapabilities } from './transports/types.js';
export type {
  BlobCallOptions,
  BlobInfo,
  BlobStream,
  CallOptions,
  CompressionAlgorithmName,
  DestinationCapabilities,
  DirOptions,
  DockerArchiveDestinationOptions,
  DockerArchiveSourceOptions,
  DockerArchiveWriteBehaviour,
  DockerDaemonDestinationOptions,
  DockerDaemonHostOptions,
  DockerDaemonSourceOptions,
  DockerDestinationOptions,
  DockerSourceOptions,
  ImageDestination,
  ImageOptions,
  ImageReference,
  ImageSource,
  ImageTransport,
  ImageView,
  LayerCompressionDesire,
  OciArchiveDestinationOptions,
  OciArchiveSourceOptions,
  OciLayoutDestinationOptions,
  OciLayoutSourceOptions,
  OciLayoutWriteBehaviour,
  Platform,
  PlatformChoiceOptions,
  PutBlobOptions,
  RawManifest,
  RegistriesConfOptions,
  RegistriesDOptions,
  RegistryAccessOptions,
  RegistryAuthOptions,
  RegistryRetryOptions,
  RegistryTLSOptions,
  RegistryUploadOptions,
  ReusedBlob,
  SharedBlobDirOptions,
  TarballSourceOptions,
  TempDirOptions,
  TryReusingBlobOptions,
} from './transports/types.js';

export { getTransport, parseImageReference, registerTransport, transportNames } from './transports/registry.js';

export { dockerReferenceNamespaces } from './reference/namespaces.js';
export {
  DockerReference,
  parseDockerReference,
  parseNormalizedNamed,
  parseNamed,
  familiarName,
  familiarString,
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
} from './reference/reference.js';

export { Digester, DigestVerifier, digestStream } from './digest/verify.js';
export { detectCompression, detectStreamCompression } from './compression/detect.js';
export type { DetectedCompression, StreamCompression } from './compression/detect.js';
export { compressStream, decompressStream, autoDecompressStream } from './compression/codecs.js';

export * from './manifest/index.js';
export * from './config/index.js';
export * from './blobinfocache/index.js';

// Built-in transports, one folder each.
export { dockerTransport, DockerImageReference, parseDockerImageReference } from './transports/docker/reference.js';
export { getRepositoryTags } from './transports/docker/tags.js';
export type { RepositoryTagsOptions } from './transports/docker/tags.js';
export {
  RegistryClient,
  registryAPIHost,
  repositoryScope,
  parseChallenges,
  parseRegistryErrors,
} from './registry-client/index.js';
export { forgetRegistryPings } from './registry-client/index.js';
export type {
  AuthChallenge,
  FetchedManifest,
  ListOptions,
  ManifestHead,
  RegistryClientOptions,
  RegistryErrorEntry,
  RetryOptions,
  UploadBlobOptions,
  UploadedBlob,
} from './registry-client/index.js';
export { ociTransport, OciReference, parseOciReference, isValidOciRefName } from './transports/oci-layout/reference.js';
export { dirTransport, DirReference, parseDirReference } from './transports/dir/reference.js';
export { DIR_VERSION } from './transports/dir/layout.js';
export { tarballTransport, newTarballReference, TarballReference } from './transports/tarball/reference.js';
export type { TarballOptions } from './transports/tarball/reference.js';
export { containersStorageTransport } from './transports/containers-storage/reference.js';
export {
  dockerArchiveTransport,
  DockerArchiveReference,
  parseDockerArchiveReference,
} from './transports/docker-archive/reference.js';
export { listArchiveTags } from './transports/docker-archive/tags.js';
export {
  dockerDaemonTransport,
  DockerDaemonReference,
  parseDockerDaemonReference,
} from './transports/docker-daemon/reference.js';
export {
  ociArchiveTransport,
  OciArchiveReference,
  parseOciArchiveReference,
} from './transports/oci-archive/reference.js';

registerTransport(dockerTransport);
registerTransport(ociTransport);
registerTransport(dirTransport);
registerTransport(tarballTransport);
registerTransport(containersStorageTransport);
registerTransport(ociArchiveTransport);
registerTransport(dockerArchiveTransport);
registerTransport(dockerDaemonTransport);
// Every reference's newImage opens src/image/'s typed view (the image floor sits above the transports).
setImageOpener(openImageView);

// image (its index.ts is the list), copy
export * from './image/index.js';
export { copyImage } from './copy/index.js';
export type { ReferrersListing } from './transports/types.js';
export { referrersTag } from './registry-client/index.js';
export {
  parseShard,
  parseSemverConstraint,
  parseSyncConfig,
  planSync,
  readSyncConfig,
  shardOf,
  syncImages,
} from './sync/index.js';
export type {
  SemverConstraint,
  SemVersion,
  SyncDestinationKind,
  SyncImageResult,
  SyncImageStatus,
  SyncOptions,
  SyncPlan,
  SyncPlanEntry,
  SyncPlanOptions,
  SyncRegistryConfig,
  SyncResult,
  SyncShard,
  SyncSourceKind,
} from './sync/index.js';

// For the CLI (src/cli/ imports Ferry only from here): NODE_EXTRA_CA_CERTS handed over by bin/ferry,
// and the removal of this process's temp files on a second Ctrl-C.
export { deferExtraCACertificates } from './config/extra-ca.js';
export { removeOwnTempsSync } from './util/temp.js';
export type {
  CopyOptions,
  CopyResult,
  DestinationCompressionOptions,
  ImageListSelection,
  ProgressEvent,
  SigningOptions,
} from './copy/index.js';
export * from './signature/policy/index.js';
export * from './signature/simple/index.js';
export * from './signature/sigstore/index.js';
export * from './signature/verifier.js';
export { describeStoredSignature, parseStoredSignature, type SignatureDescription } from './signature/stored.js';
