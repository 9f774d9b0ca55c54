/** Writing an image to a registry (containers/image docker/docker_image_dest.go). */
import type { Readable } from 'node:stream';
import type { BlobInfoCache, Candidate } from '../../blobinfocache/types.js';
import { type Digest, digestAlgorithm } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { manifestDigest } from '../../manifest/digest.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { ACCEPTED_MANIFEST_TYPES, layerCompressionOfMediaType } from '../../manifest/mediatypes.js';
import type { DockerReference } from '../../reference/reference.js';
import type { RegistryClient } from '../../registry-client/index.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type DockerDestinationOptions,
  type ImageDestination,
  type ImageReference,
  type PutBlobOptions,
  type ReusedBlob,
  type TryReusingBlobOptions,
} from '../types.js';
import { isSigstoreBlob, parseSigstoreBlob, type SigstoreSignature } from '../../signature/sigstore/format.js';
import { writeLookasideSignatures } from './lookaside.js';
import { loadSignatureConfig, type SignatureStorage, signatureStorage } from './signature-storage.js';
import { writeSigstoreAttachments } from './sigstore-attachments.js';
import { manifestRef, openRegistryClient } from './source.js';

const DOCKER_DESTINATION_CAPABILITIES: DestinationCapabilities = Object.freeze(
  destinationCapabilities({
    // A registry takes every manifest type Ferry reads, in the same order of preference
    // (OCI, schema2, schema1 signed, schema1, Docker list, OCI index).
    supportedManifestMIMETypes: ACCEPTED_MANIFEST_TYPES,
    desiredLayerCompression: 'compress',
    acceptsForeignLayerURLs: true,
    supportsMultipleImages: true,
    // Always: the lookaside has a built-in default location (upstream SupportsSignatures).
    supportsSignatures: true,
    hasThreadSafePutBlob: true,
  }),
);

export class DockerImageDestination implements ImageDestination {
  readonly capabilities = DOCKER_DESTINATION_CAPABILITIES;
  readonly #client: RegistryClient;
  readonly #repository: string;
  readonly #signatures: SignatureStorage;
  /** The digest of the top-level manifest put, which its signatures are stored by. */
  #manifestDigest: Digest | undefined;
  /** existingManifestDigest's answers not yet used by a putManifest, by tag or digest (see putManifest). */
  readonly #answered = new Map<string, Promise<Digest | undefined>>();
  #closed = false;

  private constructor(
    readonly reference: ImageReference & { readonly ref: DockerReference },
    client: RegistryClient,
    signatures: SignatureStorage,
  ) {
    this.#client = client;
    this.#repository = reference.ref.path;
    this.#signatures = signatures;
  }

  static async open(
    reference: ImageReference & { readonly ref: DockerReference },
    options: DockerDestinationOptions = {},
  ): Promise<DockerImageDestination> {
    throwIfAborted(options.signal);
    const signatures = signatureStorage(await loadSignatureConfig(options), {
      reference: reference.ref,
      write: true,
      options,
    });
    return new DockerImageDestination(reference, await openRegistryClient(reference.ref, options), signatures);
  }

  /** The registry client, for callers that need more than the contract. */
  get client(): RegistryClient {
    return this.#client;
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    const uploaded = await this.#client.uploadBlob(this.#repository, stream, {
      ...(info.digest === undefined ? {} : { digest: info.digest }),
      size: info.size,
      ...(options.callerVerifiesDigest === true ? { callerVerifiesDigest: true } : {}),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    this.#recordLocation(options.cache, uploaded.digest);
    return {
      digest: uploaded.digest,
      size: uploaded.size,
      ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }),
    };
  }

  /**
   * The primary digest in this repository (HEAD); then the cache's candidates: a known location in
   * another repository of this registry is mounted (a 202 means it is gone there: next candidate),
   * one in this repository or of unknown location is checked with HEAD.
   */
  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    const { cache, signal } = options;
    const required = options.requiredCompression;
    const primaryAcceptable =
      required === undefined ||
      (info.mediaType !== undefined && layerCompressionOfMediaType(info.mediaType) === required);
    if (primaryAcceptable) {
      const found = await this.#client.blobExists(this.#repository, info.digest, signal);
      if (found !== undefined) {
        this.#recordLocation(cache, info.digest);
        return { ...info, size: found.size >= 0 ? found.size : info.size };
      }
    }
    if (cache === undefined) return undefined;
    const candidates = cache.candidateLocations('docker', this.#client.host, info.digest, {
      canSubstitute: options.canSubstitute === true,
      ...(required === undefined ? {} : { requiredCompression: required }),
      ...(options.possibleManifestFormats === undefined
        ? {}
        : { possibleManifestFormats: options.possibleManifestFormats }),
    });
    for (const candidate of candidates) {
      const isPrimary = candidate.digest === info.digest;
      if (isPrimary ? !primaryAcceptable : !options.canSubstitute) continue;
      // A registry wants compressed layers: an uncompressed substitute would make every pull bigger.
      if (!isPrimary && candidate.compressorName === 'uncompressed') continue;
      const here = candidate.location === undefined || candidate.location === this.#repository;
      if (here && isPrimary) continue; // checked above
      let size: number | undefined;
      try {
        size = here
          ? await this.#sizeHere(candidate.digest, signal)
          : await this.#mount(candidate, isPrimary ? info.size : -1, signal);
      } catch (e) {
        // A stale or forbidden candidate is skipped: the cache is advice, never a reason to fail.
        if (signal?.aborted) throw e;
        continue;
      }
      if (size === undefined) continue;
      this.#recordLocation(cache, candidate.digest);
      if (isPrimary) return { ...info, size: size >= 0 ? size : info.size };
      const compression =
        candidate.compressorName === 'gzip' || candidate.compressorName === 'zstd'
          ? candidate.compressorName
          : undefined;
      if (compression === undefined) continue;
      return { digest: candidate.digest, size, compression };
    }
    return undefined;
  }

  /** The blob's size when this repository has it. */
  async #sizeHere(digest: Digest, signal?: AbortSignal): Promise<number | undefined> {
    return (await this.#client.blobExists(this.#repository, digest, signal))?.size;
  }

  /** Mounts a candidate from its repository; its size (`knownSize`, else a HEAD after the mount), or undefined when not mounted. */
  async #mount(candidate: Candidate, knownSize: number, signal?: AbortSignal): Promise<number | undefined> {
    const from = candidate.location as string;
    if (!(await this.#client.mountBlob(this.#repository, candidate.digest, from, signal))) return undefined;
    if (knownSize >= 0) return knownSize;
    return (await this.#sizeHere(candidate.digest, signal)) ?? -1;
  }

  #recordLocation(cache: BlobInfoCache | undefined, digest: Digest): void {
    cache?.recordKnownLocation('docker', this.#client.host, digest, this.#repository);
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    const mimeType = guessMIMEType(bytes);
    if (mimeType === '') {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `writing a manifest to ${this.reference.toString()}: its format is not recognised`,
      );
    }
    if (instanceDigest === undefined) this.#manifestDigest = manifestDigest(bytes);
    const ref = instanceDigest ?? manifestRef(this.reference.ref);
    if (!(await this.#namesOther(ref, bytes)) && (await this.#hasManifest(ref, bytes, signal))) return;
    await this.#client.putManifest(this.#repository, ref, bytes, mimeType, signal);
  }

  /**
   * Whether an earlier existingManifestDigest (the no-op check of this copy) found `ref` naming
   * something other than `bytes`, or nothing: the PUT is then due without asking again. Used once.
   * Only a skipped PUT needs a fresh answer (the tag may have changed while the copy ran); a stale
   * "other" answer can only cost a PUT of bytes the tag came to name meanwhile, which is harmless.
   */
  async #namesOther(ref: string, bytes: Buffer): Promise<boolean> {
    const answer = this.#answered.get(ref);
    if (answer === undefined) return false;
    this.#answered.delete(ref);
    let digest: Digest | undefined;
    try {
      digest = await answer;
    } catch {
      return false; // Not answered (aborted): asked again.
    }
    try {
      return digest === undefined || digest !== manifestDigest(bytes, digestAlgorithm(digest));
    } catch {
      return true; // A digest these bytes cannot be compared with names something else, as #hasManifest decides.
    }
  }

  /**
   * Stores a referrer by digest; the registry client adds it to the subject's referrers tag index when
   * the registry has no referrers API (registry-client/referrers.ts). Always put (a PUT by digest is
   * idempotent), so the tag index is completed even when an earlier copy stopped in between.
   */
  async putReferrerManifest(bytes: Buffer, digest: Digest, signal?: AbortSignal): Promise<void> {
    const mimeType = this.#mimeTypeOf(bytes);
    await this.#client.putManifest(this.#repository, digest, bytes, mimeType, signal);
  }

  /** Stores a manifest under a tag of this repository (cosign's `sha256-<hex>.sig`), unless the tag already names it. */
  async putTaggedManifest(bytes: Buffer, tag: string, signal?: AbortSignal): Promise<void> {
    const mimeType = this.#mimeTypeOf(bytes);
    if (await this.#hasManifest(tag, bytes, signal)) return;
    await this.#client.putManifest(this.#repository, tag, bytes, mimeType, signal);
  }

  #mimeTypeOf(bytes: Buffer): string {
    const mimeType = guessMIMEType(bytes);
    if (mimeType === '') {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `writing a manifest to ${this.reference.toString()}: its format is not recognised`,
      );
    }
    return mimeType;
  }

  /**
   * The Docker-Content-Digest of a HEAD of the destination's tag or digest (or of `instanceDigest`),
   * sent with the full Accept list (Distribution answers a HEAD without the OCI types with 404 for an
   * OCI manifest, and rewrites a schema2 one to schema1). Undefined when absent or on any error.
   */
  existingManifestDigest(instanceDigest?: Digest, signal?: AbortSignal): Promise<Digest | undefined> {
    const ref = instanceDigest ?? manifestRef(this.reference.ref);
    const answer = this.#headDigest(ref, signal);
    // Kept for putManifest, which then need not ask again (#namesOther).
    this.#answered.set(ref, answer);
    return answer;
  }

  async #headDigest(ref: string, signal?: AbortSignal): Promise<Digest | undefined> {
    try {
      return (await this.#client.headManifest(this.#repository, ref, signal))?.digest;
    } catch (e) {
      if (signal?.aborted) throw e;
      return undefined;
    }
  }

  /** Whether `ref` already names exactly these bytes (a re-copy then writes nothing); any doubt means no. */
  async #hasManifest(ref: string, bytes: Buffer, signal?: AbortSignal): Promise<boolean> {
    try {
      const head = await this.#client.headManifest(this.#repository, ref, signal);
      return head?.digest !== undefined && head.digest === manifestDigest(bytes, digestAlgorithm(head.digest));
    } catch (e) {
      if (signal?.aborted) throw e;
      return false;
    }
  }

  /**
   * Stores signatures of the top-level manifest (after putManifest) or of an instance: sigstore ones
   * as sigstore attachments (an error unless `use-sigstore-attachments` is set), the others in the
   * lookaside (a file: location; an http(s) one needs a `lookaside-staging`), as containers/image
   * PutSignaturesWithFormat. Signatures are stored by the manifest's digest, so none is visible through
   * the registry itself.
   */
  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    throwIfAborted(signal);
    if (signatures.length === 0) return;
    const digest = instanceDigest ?? this.#manifestDigest;
    if (digest === undefined) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `writing signatures to ${this.reference.toString()}: the manifest must be written before its signatures (its digest is not known)`,
      );
    }
    const sigstore: SigstoreSignature[] = [];
    const others: Buffer[] = [];
    for (const sig of signatures) {
      if (isSigstoreBlob(sig)) sigstore.push(parseSigstoreBlob(sig));
      else others.push(sig);
    }
    if (sigstore.length > 0) {
      if (!this.#signatures.useSigstoreAttachments) {
        throw new FerryError(
          'UNSUPPORTED_OPERATION',
          `writing sigstore signatures to ${this.reference.toString()}: writing sigstore attachments is disabled by configuration (set use-sigstore-attachments: true in registries.d)`,
        );
      }
      await writeSigstoreAttachments(this.#client, this.#repository, digest, sigstore, signal);
    }
    await writeLookasideSignatures(this.#signatures.lookasideBase, digest, others, signal);
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
