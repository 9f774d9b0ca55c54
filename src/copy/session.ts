/** What one copyImage call shares between its single-image and list steps. */
import type { BlobInfoCache } from '../blobinfocache/index.js';
import type { ImageDestination, ImageSource } from '../transports/types.js';
import type { LayerResult } from './layers.js';
import type { Semaphore } from './limit.js';
import type { ProgressReporter } from './progress.js';
import type { RedriveBudget } from './redrive.js';
import type { CopyOptions } from './types.js';

export interface CopySession {
  source: ImageSource;
  destination: ImageDestination;
  options: CopyOptions;
  progress: ProgressReporter;
  /** The destination as the user named it, for messages. */
  destinationName: string;
  /** Layers already copied by this call (instances of a list share layers), by source digest and plan. */
  layerCache: Map<string, Promise<LayerResult>>;
  /** Layer copies in flight across the whole call (the instances of a list are copied at once). */
  blobSlots: Semaphore;
  /** The blob-info cache: reuse candidates in, verified facts out. */
  blobInfoCache: BlobInfoCache;
  /** Blob re-drives this call may still spend. */
  redrive: RedriveBudget;
}
