/**
 * Writing tar files: deterministic headers (mtime 0, uid/gid 0, fixed modes), members streamed from
 * disk with their size known up front, and the whole file written atomically (temp + rename).
 */
import { createReadStream, createWriteStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { FerryError } from '../../errors.js';
import { atomicTempPrefix, streamToFileAtomic } from '../../util/atomic.js';
import { removeStaleTemps } from '../../util/temp.js';

const EPOCH = new Date(0);

type HeaderArgument = Partial<tar.Header> & { name: string };

export class TarWriter {
  readonly #pack = tar.pack();

  /** The archive's bytes, for the caller to write somewhere. */
  get stream(): Readable {
    return this.#pack as unknown as Readable;
  }

  #header(name: string, type: tar.Header['type'], size: number, mode: number, linkname?: string): HeaderArgument {
    const h: HeaderArgument = { name, type, size, mode, mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '' };
    if (linkname !== undefined) h.linkname = linkname;
    return h;
  }

  #entry(header: HeaderArgument, bytes?: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (bytes === undefined) this.#pack.entry(header, done);
      else this.#pack.entry(header, bytes, done);
    });
  }

  addBytes(name: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
    return this.#entry(this.#header(name, 'file', bytes.length, mode), Buffer.from(bytes));
  }

  /** Appends `size` bytes from `stream`; tar-stream fails the member if the count differs. */
  async addStream(name: string, stream: Readable, size: number, mode = 0o644): Promise<void> {
    let entryError: unknown;
    await new Promise<void>((resolve, reject) => {
      const entry = this.#pack.entry(this.#header(name, 'file', size, mode), (err) => {
        if (err) {
          entryError = err;
          reject(err);
        } else resolve();
      });
      pipeline(stream, entry).catch((e: unknown) => reject(entryError ?? e));
    });
  }

  addFile(name: string, sourcePath: string, size: number, mode = 0o644): Promise<void> {
    return this.addStream(name, createReadStream(sourcePath), size, mode);
  }

  addSymlink(name: string, target: string): Promise<void> {
    return this.#entry(this.#header(name, 'symlink', 0, 0o777, target));
  }

  addDirectory(name: string, mode = 0o755): Promise<void> {
    return this.#entry(this.#header(name, 'directory', 0, mode));
  }

  /** Writes the end-of-archive marker. */
  finish(): void {
    this.#pack.finalize();
  }

  /** Abandons the archive: the stream fails with `reason`. */
  abort(reason: unknown): void {
    this.stream.destroy(reason instanceof Error ? reason : new Error(String(reason)));
  }
}

/**
 * Checks, before any work, that an archive can be written at `target`: its directory exists and it is
 * not itself a directory. Returns what is there now, if anything.
 */
export async function checkArchiveTarget(target: string): Promise<Stats | undefined> {
  const existing = await stat(target).catch(() => undefined);
  if (existing?.isDirectory()) {
    throw new FerryError('INVALID_ARGUMENT', `cannot write an archive to "${target}": it is a directory`);
  }
  if (existing === undefined && !(await stat(dirname(target)).catch(() => undefined))?.isDirectory()) {
    throw new FerryError('INVALID_ARGUMENT', `cannot write an archive to "${target}": its directory does not exist`);
  }
  return existing;
}

/**
 * Writes a tar to `target` with `fill`: into a temp file beside it, fsynced and renamed into place,
 * so `target` is either untouched or complete. An existing non-regular target (`/dev/stdout`, a FIFO)
 * is written directly, since it cannot be replaced.
 */
export async function writeTarFile(
  target: string,
  fill: (writer: TarWriter) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const existing = await checkArchiveTarget(target);
  // The temp file a killed run left beside `target` (a stopped one removes its own).
  await removeStaleTemps(dirname(target), [atomicTempPrefix(target)]);
  const writer = new TarWriter();
  const writing =
    existing !== undefined && !existing.isFile()
      ? pipeline(writer.stream, createWriteStream(target, { flags: 'w' }), { signal })
      : streamToFileAtomic(target, writer.stream, [], signal);
  // A failed write ends the race at once, whatever member `fill` is waiting on.
  const writeFailed = writing.then(
    () => new Promise<never>(() => {}),
    (e: unknown) => Promise.reject(e),
  );
  try {
    await Promise.race([fill(writer), writeFailed]);
    writer.finish();
  } catch (e) {
    writer.abort(e);
    await writing.catch(() => {});
    throw e;
  }
  await writing;
}
