/**
 * What a docker-daemon: source or destination reads of its reference. DockerDaemonReference
 * (reference.ts) loads them on first use, so they see it only through this shape: no import cycle.
 */
import type { Digest } from '../../digest/digest.js';
import type { DockerReference } from '../../reference/reference.js';
import type { ImageReference } from '../types.js';

export interface DockerDaemonLocation extends ImageReference {
  /** The image ID (config digest) named, when the reference is `sha256:HEX`. */
  readonly id: Digest | undefined;
  /** The name with a tag or a digest, when the reference is a name. */
  readonly ref: DockerReference | undefined;
}
