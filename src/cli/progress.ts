/**
 * `ferry copy` progress lines in skopeo's non-terminal style ("Copying blob sha256:…",
 * "Writing manifest to image destination", …). skopeo writes these to stdout; Ferry writes them
 * to stderr (PROGRESS_STREAM) so that stdout carries only results (digests, JSON) for scripts.
 * Progress bars are for later; `blob-bytes` events are ignored here.
 */
import type { ProgressEvent } from '../index.js';

/** Where progress goes: stderr, keeping stdout for results. */
export const PROGRESS_STREAM: NodeJS.WritableStream = process.stderr;

/** Returns an onProgress callback that prints skopeo-style lines through `write`. */
export function progressPrinter(write: (line: string) => void): (event: ProgressEvent) => void {
  let sawInstance = false;
  // A list copy gets the list's signatures, then each image's: a 'signatures-getting' directly
  // followed by another one was the list's, so the line waits for the next event.
  let pendingSignatures = false;
  return (event) => {
    if (pendingSignatures) {
      pendingSignatures = false;
      write(event.kind === 'signatures-getting' ? 'Getting image list signatures\n' : 'Getting image source signatures\n');
    }
    switch (event.kind) {
      case 'signatures-getting':
        pendingSignatures = true;
        break;
      case 'blob-started':
        write(`Copying ${event.isConfig ? 'config' : 'blob'} ${event.blob.digest}\n`);
        break;
      case 'blob-skipped': {
        const hex = event.blob.digest.slice(event.blob.digest.indexOf(':') + 1, event.blob.digest.indexOf(':') + 13);
        write(`Copying ${event.isConfig ? 'config' : 'blob'} ${hex} skipped: already exists\n`);
        break;
      }
      case 'manifest-writing':
        if (event.instanceDigest !== undefined) sawInstance = true;
        if (event.instanceDigest === undefined && sawInstance) {
          write('Writing manifest list to image destination\nStoring list signatures\n');
        } else {
          write('Writing manifest to image destination\nStoring signatures\n');
        }
        break;
      case 'message':
        write(`${event.text}\n`);
        break;
      default:
        // blob-bytes, blob-done, signatures-writing: nothing to print without progress bars.
        break;
    }
  };
}
