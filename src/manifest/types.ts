/**
 * The typed view of manifests every other part of Ferry uses. Implementations live beside this
 * file (one per format); the raw bytes stay the truth: `digest` is over the bytes a manifest was
 * parsed from, and `serialize()` of an unmodified manifest returns those same bytes.
 */
import type { Digest } from '../digest/digest.js';
import type { BlobInfo, Platform } from './blob-info.js';

/** A layer or config as a manifest lists it, with the facts conversion needs. */
export interface LayerInfo extends BlobInfo {
  /** True for Docker schema1 "throwaway" (empty) layers and v2s2/OCI layers marked as such in history. */
  emptyLayer?: boolean;
}

/** Edits the copy engine may apply to a single-image manifest (all optional). */
export interface ManifestUpdate {
  /** New layer infos, same count and order as `layers` (digest/size/mediaType after recompression). */
  layers?: LayerInfo[];
  /** New config info (after conversion the config bytes change). */
  config?: BlobInfo;
}

/** Common surface of Docker schema1, Docker schema2 and OCI image manifests. */
export interface ImageManifest {
  readonly kind: 'image';
  readonly mimeType: string;
  /** Digest of the bytes this manifest was parsed from (schema1 signed: of the JWS payload). */
  readonly digest: Digest;
  /** The exact bytes (unchanged manifests are written back byte for byte). */
  readonly bytes: Buffer;
  /** The config blob; undefined for schema1 (its config lives in the manifest). */
  configInfo(): BlobInfo | undefined;
  /** Layers, base first (schema1's newest-first fsLayers are reversed; throwaway layers included, marked). */
  layerInfos(): LayerInfo[];
  /** A new manifest with the edits applied (never mutates this one). */
  withUpdates(update: ManifestUpdate): ImageManifest;
  /** OCI artifact: config media type is not an image config. Such manifests cannot be converted or inspected. */
  isArtifact(): boolean;
}

/** One entry of a Docker manifest list or OCI index. */
export interface ListInstance {
  digest: Digest;
  size: number;
  mediaType: string;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

/** Common surface of Docker manifest lists and OCI indexes. */
export interface ListManifest {
  readonly kind: 'list';
  readonly mimeType: string;
  readonly digest: Digest;
  readonly bytes: Buffer;
  instances(): ListInstance[];
  /** A new list holding only these instances (digests, in this order), for sparse copies. */
  withInstances(instances: ListInstance[]): ListManifest;
}

export type Manifest = ImageManifest | ListManifest;

/** What the platform matcher wants; unset fields come from the running machine. */
export interface PlatformWanted {
  os?: string;
  architecture?: string;
  variant?: string;
}
