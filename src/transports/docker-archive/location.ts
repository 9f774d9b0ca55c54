/**
 * What a docker-archive: source or destination reads of its reference. DockerArchiveReference
 * (reference.ts) loads them on first use, so they see it only through this shape: no import cycle,
 * not even a type-only one.
 */
import type { DockerReference } from '../../reference/reference.js';
import type { ImageReference } from '../types.js';

export interface DockerArchiveLocation extends ImageReference {
  /** The archive file, as given. */
  readonly path: string;
  /** The image's name with a tag; undefined when none was given. */
  readonly ref: DockerReference | undefined;
  /** Position in manifest.json (sources only); undefined when not given. */
  readonly sourceIndex: number | undefined;
}
