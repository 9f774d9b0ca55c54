/**
 * Random access into an uncompressed tar file: one sequential scan records where each member's data
 * starts, then members are read as byte ranges of the file (never buffered whole).
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { decompressStream } from '../../compression/codecs.js';
import type tar from 'tar-stream';
import { type DetectedCompression, detectCompression, MAGIC_LENGTH } from '../../compression/detect.js';
import { readAllLimited } from '../../manifest/limits.js';
import { ArchiveErrors, archiveError, invalidArchive } from './archive-error.js';
import { MemberOffsets } from './offsets.js';
import { hardlinkTarget, safeEntryName, symlinkTarget } from './paths.js';
import { scanTar } from './scan.js';

export type TarEntryType = 'file' | 'symlink' | 'hardlink' | 'directory' | 'other';

export interface TarEntry {
  /** The clean name (see safeEntryName). */
  name: string;
  type: TarEntryType;
  size: number;
  /** Byte offset of the member's data in the tar file. */
  offset: number;
  linkname?: string;
}

/** Symbolic-link hops followed before a lookup gives up (a loop, or an absurd chain). */
const MAX_LINK_HOPS = 16;

function entryType(type: tar.Header['type'] | undefined): TarEntryType {
  switch (type) {
    case 'file':
    case 'contiguous-file':
    case undefined:
      return 'file';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'directory':
      return 'directory';
    default:
      return 'other';
  }
}

export class TarIndex {
  /** The archive as the user named it (errors name it). */
  readonly archive: string;
  /** The uncompressed tar file read (the archive itself, or a decompressed temp copy). */
  readonly path: string;
  readonly #entries: ReadonlyMap<string, TarEntry>;

  private constructor(archive: string, path: string, entries: ReadonlyMap<string, TarEntry>) {
    this.archive = archive;
    this.path = path;
    this.#entries = entries;
  }

  /**
   * Scans the uncompressed tar at `path` (`archive`: the name errors give it). Every name and link
   * target is checked: an absolute name, a `..` component or a link pointing outside the archive fails
   * with UNSAFE_PATH; a damaged tar with INVALID_ARCHIVE.
   */
  static async build(path: string, signal?: AbortSignal, archive: string = path): Promise<TarIndex> {
    const entries = new Map<string, TarEntry>();
    const offsets = new MemberOffsets(path, archive);
    try {
      await scanTar(
        createReadStream(path),
        archive,
        async (header) => {
          const name = safeEntryName(header.name, archive);
          const type = entryType(header.type);
          const size = header.size ?? 0;
          const offset = await offsets.next(header.name, size, header.type === 'directory');
          const entry: TarEntry = { name, type, size, offset };
          if (type === 'symlink' || type === 'hardlink') {
            const linkname = header.linkname ?? '';
            // Validate now so a hostile link fails the whole archive, whether or not it is used.
            if (type === 'symlink') symlinkTarget(name, linkname, archive);
            else hardlinkTarget(name, linkname, archive);
            entry.linkname = linkname;
          }
          // The first member of a name wins, as in containers/image's reader.
          if (name !== '' && !entries.has(name)) entries.set(name, entry);
        },
        signal,
      );
    } finally {
      await offsets.close();
    }
    return new TarIndex(archive, path, entries);
  }

  /** Every member name, in archive order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** The member stored under `name` itself (links not followed). */
  entry(name: string): TarEntry | undefined {
    return this.#entries.get(safeEntryName(name, this.archive));
  }

  /**
   * The regular file `name` designates, following symbolic and hard links inside the archive.
   * Undefined when there is no such member; INVALID_ARCHIVE when it is not a regular file.
   */
  resolveFile(name: string): TarEntry | undefined {
    let current = safeEntryName(name, this.archive);
    for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
      const entry = this.#entries.get(current);
      if (entry === undefined) return undefined;
      switch (entry.type) {
        case 'file':
          return entry;
        case 'symlink':
          current = symlinkTarget(entry.name, entry.linkname ?? '', this.archive);
          break;
        case 'hardlink':
          current = hardlinkTarget(entry.name, entry.linkname ?? '', this.archive);
          break;
        default:
          throw invalidArchive(this.archive, `"${name}" is not a regular file`);
      }
    }
    throw invalidArchive(this.archive, `too many links resolving "${name}"`);
  }

  /**
   * The data of a regular-file member, as a stream of a byte range of the tar file. A read error or a
   * file now shorter than the member fails the stream with INVALID_ARCHIVE.
   */
  open(entry: TarEntry, signal?: AbortSignal): Readable {
    const checked = new ArchiveErrors(this.archive, `member "${entry.name}"`, signal, entry.size);
    if (entry.size === 0) return Readable.from([]).pipe(checked);
    const range = createReadStream(this.path, { start: entry.offset, end: entry.offset + entry.size - 1, signal });
    return pipeline(range, checked, () => {});
  }

  /** A member's data decompressed (as it is when not compressed); decoder errors are INVALID_ARCHIVE. */
  async openDecompressed(entry: TarEntry, signal?: AbortSignal): Promise<Readable> {
    const algorithm = await this.compressionOf(entry);
    if (algorithm === 'none') return this.open(entry, signal);
    const decompressor = decompressStream(algorithm);
    const checked = new ArchiveErrors(this.archive, `member "${entry.name}"`, signal);
    return pipeline(this.open(entry, signal), decompressor, checked, () => {});
  }

  /** The compression of a member's data, from its first bytes. */
  async compressionOf(entry: TarEntry): Promise<DetectedCompression> {
    const length = Math.min(MAGIC_LENGTH, entry.size);
    if (length === 0) return 'none';
    try {
      const fh = await open(this.path, 'r');
      try {
        const head = Buffer.alloc(length);
        const { bytesRead } = await fh.read(head, 0, length, entry.offset);
        return detectCompression(head.subarray(0, bytesRead));
      } finally {
        await fh.close();
      }
    } catch (e) {
      throw archiveError(this.archive, e, undefined, `member "${entry.name}"`);
    }
  }

  /** A whole (small) member in memory: manifest.json, a config. Fails with TOO_LARGE past `limit`. */
  async read(entry: TarEntry, limit: number, signal?: AbortSignal): Promise<Buffer> {
    return readAllLimited(this.open(entry, signal), limit, `member "${entry.name}" of archive "${this.archive}"`);
  }
}
