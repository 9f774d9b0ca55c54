/**
 * What a dir: source or destination reads of its reference. DirReference (reference.ts) loads them
 * on first use, so they see it only through this shape: no import cycle, not even a type-only one.
 */
import type { ImageReference } from '../types.js';

export interface DirLocation extends ImageReference {
  /** Absolute path of the image directory. */
  readonly path: string;
}
