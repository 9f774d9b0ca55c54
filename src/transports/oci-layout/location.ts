/**
 * What an oci: source, destination or delete reads of its reference. OciReference (reference.ts)
 * loads them on first use, so they see it only through this shape: no import cycle, not even a
 * type-only one.
 */
import type { ImageReference } from '../types.js';

export interface OciLocation extends ImageReference {
  /** Absolute path of the layout directory. */
  readonly dir: string;
  /** The ref.name to read or write; undefined = the only image (source) / no name (destination). */
  readonly image: string | undefined;
  /** Zero-based position in index.json (sources only); undefined when not given. */
  readonly sourceIndex: number | undefined;
}
