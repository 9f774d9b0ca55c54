/**
 * `ferry copy` progress, on stderr (output.ts's, guarded) so that stdout carries only results (digests,
 * JSON) for scripts; skopeo writes these lines to stdout.
 * - Off a terminal (CI, pipes): skopeo's lines ("Copying blob sha256:…", "Writing manifest to image
 *   destination", …), a line when each blob is done, and an aggregate line at most every 5 s while
 *   bytes move.
 * - On a terminal: one bar per blob and a final summary (progress-tty.ts, which loads cli-progress
 *   only then, keeping start-up lean).
 * Events carry digests and sizes only: nothing here can print a credential.
 */
import { printStderr, stderr } from './output.js';
import {
  type CopyProgress,
  type ProgressPrinterOptions,
  type ProgressStream,
  progressPrinter,
} from './progress-lines.js';

export {
  AGGREGATE_INTERVAL_MS,
  type CopyProgress,
  type ProgressPrinterOptions,
  type ProgressStream,
  progressPrinter,
} from './progress-lines.js';

export interface CopyProgressOptions extends Omit<ProgressPrinterOptions, 'blobLines'> {
  /** Default stderr. */
  stream?: ProgressStream;
  /** Draw bars (default: whether the stream is a terminal). */
  tty?: boolean;
}

/** Picks the display for `stream`: bars on a terminal, lines elsewhere. */
export async function createCopyProgress(options: CopyProgressOptions = {}): Promise<CopyProgress> {
  const stream = options.stream ?? stderr();
  if (options.tty ?? stream.isTTY === true) {
    const { TtyCopyProgress } = await import('./progress-tty.js');
    return new TtyCopyProgress(stream, options.now ?? Date.now, options.signing === true);
  }
  const given = options.stream;
  const onProgress = progressPrinter(given === undefined ? printStderr : (line) => given.write(line), options);
  return { onProgress, finish: () => {}, fail: () => {} };
}
