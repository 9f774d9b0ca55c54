/**
 * What an oci-archive: source or destination reads of its reference. OciArchiveReference
 * (reference.ts) loads them on first use, so they see it only through this shape: no import cycle,
 * not even a type-only one.
 */
import type { ImageReference } from '../types.js';

export interface OciArchiveLocation extends ImageReference {
  /** The archive file, as given. */
  readonly path: string;
  /** The ref.name to read or write; undefined = the only image (source) / no name (destination). */
  readonly image: string | undefined;
}
