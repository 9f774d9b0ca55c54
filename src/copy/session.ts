/** What one copyImage call shares between its single-image and list steps. */
import type { BlobInfoCache } from '../blobinfocache/index.js';
import type { DetectedCompression } from '../compression/detect.js';
import type { Digest } from '../digest/digest.js';
import type { BlobInfo, ImageDestination, ImageSource } from '../transports/types.js';
import type { BlobContext } from './blob.js';
import type { Semaphore } from './limit.js';
import type { CopySigning } from './sign.js';
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
  /** The signatures to add to each manifest written, when signing was asked for. */
  signing?: CopySigning;
  /** The digest the destination names now, asked for early (copy/noop.ts); undefined: not asked. */
  existingDigest?: Promise<Digest | undefined>;
}

/** What copying one layer gave (copy/layers.ts); kept here, with the session that caches it. */
export interface LayerResult {
  /** The layer as stored (digest and size may differ from the source's after a compression change). */
  written: BlobInfo;
  /** Compression of the stored bytes; undefined when unknown (a reused or passed-through layer of unknown type). */
  compression: DetectedCompression | undefined;
  /** Whether the stored bytes differ from the source's. */
  changed: boolean;
  /** True when a foreign layer was left at its URLs (not copied). */
  foreignPassedThrough: boolean;
  diffID?: Digest;
}

/** What the blob stages of this copy read: the two ends, the signal, progress, the cache and the re-drive budget. */
export function blobContext(session: CopySession, signal: AbortSignal): BlobContext {
  return {
    source: session.source,
    destination: session.destination,
    signal,
    progress: session.progress,
    cache: session.blobInfoCache,
    redrive: session.redrive,
  };
}
