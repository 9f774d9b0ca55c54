/**
 * Progress as skopeo's lines, and the shapes both displays share (progress.ts picks a display;
 * progress-tty.ts draws bars and uses the printer for the other lines).
 */
import type { ProgressEvent } from '../index.js';
import { CopyTally, formatBytes, formatRate, shortDigest } from './progress-format.js';

/** What the displays write to: stderr, or a fake in tests (a TTY one needs `isTTY` and `columns`). */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

/** Least time between two aggregate lines off a terminal. */
export const AGGREGATE_INTERVAL_MS = 5000;

export interface ProgressPrinterOptions {
  /** Clock in ms (default Date.now). */
  now?: () => number;
  /** Least time between aggregate "Progress: …" lines (default 5 s); they appear only while bytes move. */
  aggregateIntervalMs?: number;
  /** Print the per-blob and aggregate lines (default true); the terminal display draws bars instead. */
  blobLines?: boolean;
  /** The copy signs what it writes: "Storing signatures" then follows the "Creating signature" lines, as in skopeo. */
  signing?: boolean;
}

/** Returns an onProgress callback that prints skopeo-style lines through `write`. */
export function progressPrinter(
  write: (line: string) => void,
  options: ProgressPrinterOptions = {},
): (event: ProgressEvent) => void {
  const now = options.now ?? Date.now;
  const interval = options.aggregateIntervalMs ?? AGGREGATE_INTERVAL_MS;
  const blobLines = options.blobLines ?? true;
  const tally = new CopyTally();
  let lastAggregate = { at: now(), bytes: 0 };
  let sawInstance = false;
  let storingLine = '';
  // A list copy gets the list's signatures, then each image's: a 'signatures-getting' directly
  // followed by another one was the list's, so the line waits for the next event.
  let pendingSignatures = false;
  return (event) => {
    if (pendingSignatures) {
      pendingSignatures = false;
      write(
        event.kind === 'signatures-getting' ? 'Getting image list signatures\n' : 'Getting image source signatures\n',
      );
    }
    switch (event.kind) {
      case 'signatures-getting':
        pendingSignatures = true;
        break;
      case 'blob-started':
        tally.blobStarted(event.blob.digest, event.blob.size);
        if (blobLines) write(`Copying ${event.isConfig ? 'config' : 'blob'} ${event.blob.digest}\n`);
        break;
      case 'blob-bytes': {
        tally.blobBytes(event.blob.digest, event.bytes, event.total);
        const at = now();
        if (blobLines && at - lastAggregate.at >= interval) {
          const bytes = tally.bytes;
          write(
            `Progress: ${tally.done}/${tally.started} blobs, ${formatBytes(bytes)} / ${formatBytes(tally.total)}, ` +
              `${formatRate(bytes - lastAggregate.bytes, at - lastAggregate.at)}\n`,
          );
          lastAggregate = { at, bytes };
        }
        break;
      }
      case 'blob-done':
        tally.blobDone(event.blob.digest);
        if (blobLines) write(`Copying ${event.isConfig ? 'config' : 'blob'} ${event.blob.digest} done\n`);
        break;
      case 'blob-skipped':
        tally.blobSkipped();
        if (blobLines)
          write(
            `Copying ${event.isConfig ? 'config' : 'blob'} ${shortDigest(event.blob.digest)} skipped: already exists\n`,
          );
        break;
      case 'manifest-writing':
        if (event.instanceDigest !== undefined) sawInstance = true;
        if (event.instanceDigest === undefined && sawInstance) {
          write('Writing manifest list to image destination\n');
          storingLine = 'Storing list signatures\n';
        } else {
          write('Writing manifest to image destination\n');
          storingLine = 'Storing signatures\n';
        }
        if (options.signing !== true) write(storingLine);
        break;
      case 'signatures-writing':
        if (options.signing === true) write(storingLine);
        break;
      case 'message':
        write(`${event.text}\n`);
        break;
      default:
        // without signing, signatures-writing was announced with the manifest ("Storing signatures").
        break;
    }
  };
}

/** The progress display of one `ferry copy`. */
export interface CopyProgress {
  onProgress(event: ProgressEvent): void;
  /** The copy succeeded: stop the bars and print the summary (terminal only). */
  finish(): void;
  /** The copy failed or was aborted: stop the bars so that the error prints on a line of its own. */
  fail(): void;
}
