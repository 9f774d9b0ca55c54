/**
 * Reading a tar stream member by member. Every failure (tar format, decoder, read, the caller's own
 * handler, an abort) ends the scan as one FerryError naming the archive, and only after the handler
 * of the current member has settled, so the caller may clean up at once.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { archiveError } from './archive-error.js';

export type TarHeader = tar.Header & { byteOffset?: number };

/**
 * Calls `onEntry` for each member in order, with its header and data (the handler may leave the data
 * unread: it is drained). `archive` names the archive in errors.
 */
export async function scanTar(
  input: Readable,
  archive: string,
  onEntry: (header: TarHeader, data: Readable) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const extract = tar.extract();
  let failure: unknown;
  let current: Promise<void> = Promise.resolve();
  extract.on('entry', (header, stream, next) => {
    const data = stream as unknown as Readable;
    data.on('error', () => {}); // a member's data fails with the archive, which is reported once, below
    const ended = new Promise<void>((resolve) => {
      data.on('end', resolve);
      data.on('close', resolve);
    });
    current = onEntry(header, data).then(
      async () => {
        data.resume();
        await ended;
        next();
      },
      (e: unknown) => {
        failure ??= e;
        data.resume();
        next(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
  try {
    await pipeline(input, extract, { signal });
  } catch (e) {
    failure ??= e;
  }
  await current; // without an end-of-archive marker the scan can end while the last handler still runs
  if (failure !== undefined) throw archiveError(archive, failure, signal);
}
