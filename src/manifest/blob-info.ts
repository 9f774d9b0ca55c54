/**
 * What is known about a blob, and a platform: the shapes manifests describe. They live on the
 * manifest floor so the format code needs nothing above it; the transport contract re-exports them.
 */
import type { Digest } from '../digest/digest.js';

/** What is known about a blob. `size` is -1 when unknown. */
export interface BlobInfo {
  digest: Digest;
  size: number;
  mediaType?: string;
  /** Foreign (non-distributable) layer locations. */
  urls?: string[];
  annotations?: Record<string, string>;
}

/** A platform as the OCI image-spec writes it (Go names: amd64, arm64, linux, ...). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: string[];
}
