/**
 * What a containers-storage: source, destination or delete reads of its reference. The reference
 * class (reference.ts) loads them on first use, so they see it only through this shape.
 */
import type { DockerReference } from '../../reference/reference.js';
import type { ImageReference } from '../types.js';

/** The store part of a reference, `[DRIVER@GRAPHROOT+RUNROOT:OPTIONS]`; what is absent comes from storage.conf. */
export interface StoreSpec {
  driver?: string;
  graphRoot?: string;
  runRoot?: string;
  options?: string[];
}

export interface StorageLocation extends ImageReference {
  readonly store: StoreSpec;
  /** The image name, tagged (`:latest` when no tag or digest was given), or undefined for `@ID` alone. */
  readonly named: DockerReference | undefined;
  /** A full image ID (64 hex), a short ID prefix to look up, or undefined. */
  readonly id: string | undefined;
  /** True when `id` is only a prefix (resolved against the store when opened). */
  readonly idIsPrefix: boolean;
  /** A bare `NAME` that may also be an ID prefix (containers/image tries the ID first). */
  readonly maybeIdPrefix: string | undefined;
}
