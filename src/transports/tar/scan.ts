/**
 * Reading a tar stream member by member. Every failure (tar format, decoder, read, the caller's own
 * handler, an abort) ends the scan as one FerryError naming the archive, and only after the handler
 * of the current member has settled, so the caller may clean up at once.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { archiveError, invalidArchive } from './archive-error.js';

/** What tar-stream hands out for a member's data: a streamx Readable, not a Node one. */
interface EntryStream {
  on(event: 'data', listener: (chunk: Buffer) => void): void;
  on(event: 'end' | 'close', listener: () => void): void;
  on(event: 'error', listener: (e: Error) => void): void;
  pause(): void;
  resume(): void;
}

/** Bytes of a member buffered ahead of its reader (Node's default 16 KiB cost a pause per tar chunk). */
const MEMBER_BUFFER = 1024 * 1024;

/**
 * A member's data as a Node stream. Every listener is attached as the member appears: Node's
 * stream helpers cannot tell that a streamx stream has already failed, and would wait forever.
 */
class Member {
  readonly data: Readable;
  readonly #entry: EntryStream;
  readonly #settled: Promise<void>;
  #draining = false;

  constructor(entry: EntryStream) {
    this.#entry = entry;
    let ended = false;
    this.data = new Readable({ highWaterMark: MEMBER_BUFFER, read: () => entry.resume() });
    entry.on('data', (chunk) => {
      if (!this.#draining && !this.data.push(chunk)) entry.pause();
    });
    this.#settled = new Promise<void>((resolve) => {
      entry.on('end', () => {
        ended = true;
        this.data.push(null);
        resolve();
      });
      entry.on('error', (e) => this.data.destroy(e)); // the archive's error, also reported by the scan
      entry.on('close', () => {
        if (!ended) this.data.destroy(new Error('the archive ends inside this member'));
        resolve();
      });
    });
    this.data.on('error', () => {}); // whoever reads the data sees the error; the scan reports it once
  }

  /** Reads what the handler left of the member; resolves once it has ended or failed. */
  drain(): Promise<void> {
    this.#draining = true;
    this.#entry.resume();
    return this.#settled;
  }
}

/**
 * Members read from one archive at most: an image archive has a few per layer, while a hostile one
 * (a compressed stream of empty headers) could otherwise fill memory with an index or a disk with files.
 */
export const MAX_MEMBERS = 65536;

export type TarHeader = tar.Header;

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
  let members = 0;
  extract.on('entry', (header, stream, next) => {
    const member = new Member(stream as unknown as EntryStream);
    if (++members > MAX_MEMBERS) {
      failure ??= invalidArchive(archive, `it has more than ${MAX_MEMBERS} members`);
      member.drain();
      next(new Error('too many members'));
      return;
    }
    current = onEntry(header, member.data).then(
      async () => {
        await member.drain();
        next();
      },
      (e: unknown) => {
        failure ??= e;
        member.drain();
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
