/** Small filesystem helpers shared by the on-disk transports (oci, dir, and the archives built on them). */
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rmdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { FerryError } from '../../errors.js';
import { readAllLimited } from '../../manifest/limits.js';
import type { BlobStream } from '../types.js';

/** True for "no such file or directory" (and "not a directory" on a path component). */
export function isNotFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Fails unless `path` is an existing directory: IMAGE_NOT_FOUND when absent, INVALID_LAYOUT when not a directory. */
export async function requireImageDirectory(path: string, what: string): Promise<void> {
  let isDir: boolean;
  try {
    isDir = (await stat(path)).isDirectory();
  } catch (e) {
    if (isNotFound(e))
      throw new FerryError('IMAGE_NOT_FOUND', `${what}: ${path} does not exist`, { cause: e, details: { path } });
    throw e;
  }
  if (!isDir) throw new FerryError('INVALID_LAYOUT', `${what}: ${path} is not a directory`, { details: { path } });
}

/** Size of a regular file, or undefined when there is none. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export interface ReadFileLimitedOptions {
  /**
   * Refuse, as INVALID_LAYOUT, a symbolic link (opened with O_NOFOLLOW: never followed) and anything
   * but a regular file (checked on the open handle; O_NONBLOCK, so a FIFO does not block the open),
   * and, as TOO_LARGE, a file whose size already passes `limit` before reading it: for a store that
   * other programs write (containers-storage). Default: the path is opened as given.
   */
  regularFileOnly?: boolean;
}

/**
 * Reads a small file (manifest, index.json, signature) whole, failing with TOO_LARGE as soon as it
 * reads past `limit`. Returns undefined when the file does not exist.
 */
export async function readFileLimited(
  path: string,
  limit: number,
  what: string,
  options: ReadFileLimitedOptions = {},
): Promise<Buffer | undefined> {
  const strict = options.regularFileOnly === true;
  let fh: FileHandle;
  try {
    fh = await open(path, strict ? constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK : 'r');
  } catch (e) {
    if (isNotFound(e)) return undefined;
    if (strict && (e as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new FerryError('INVALID_LAYOUT', `${what} is a symbolic link, which is not followed`, {
        cause: e,
        details: { path },
      });
    }
    throw e;
  }
  try {
    if (strict) {
      const st = await fh.stat();
      if (!st.isFile()) throw new FerryError('INVALID_LAYOUT', `${what} is not a regular file`, { details: { path } });
      if (st.size > limit) {
        throw new FerryError('TOO_LARGE', `${what} is larger than the ${limit}-byte limit`, {
          details: { path, limit, size: st.size },
        });
      }
    }
    return await readAllLimited(fh.createReadStream({ autoClose: false }), limit, what);
  } finally {
    await fh.close();
  }
}

/** Blob reads in 1 MiB chunks: read+sha256 measured 776 MB/s against 479 with the 64 KiB default. */
export const BLOB_READ_HIGH_WATER_MARK = 1024 * 1024;

/** Opens a file as a blob stream with its size; undefined when it does not exist. */
export async function openFileStream(path: string): Promise<BlobStream | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        throw new FerryError('INVALID_LAYOUT', `${path} is not a regular file`);
      }
      return { stream: fh.createReadStream({ highWaterMark: BLOB_READ_HIGH_WATER_MARK }), size: st.size };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Remembers the directories it had to create, so that a rolled-back write can remove them again
 * (deepest first, and only while they are empty).
 */
export class CreatedDirs {
  readonly #dirs: string[] = [];

  async ensure(dir: string): Promise<void> {
    const first = await mkdir(dir, { recursive: true, mode: 0o755 });
    if (first === undefined) return;
    // mkdir -p created `first` and everything below it down to `dir`.
    const chain = [first];
    const rest = relative(first, dir);
    if (rest !== '') {
      let cur = first;
      for (const part of rest.split(/[\\/]/)) {
        cur = join(cur, part);
        chain.push(cur);
      }
    }
    this.#dirs.push(...chain);
  }

  /** Removes the directories created (deepest first) if they are empty; never fails. */
  async removeEmpty(): Promise<void> {
    const byDepth = [...new Set(this.#dirs)].sort((a, b) => b.length - a.length);
    for (const d of byDepth) {
      await rmdir(d).catch(() => {});
    }
    this.#dirs.length = 0;
  }
}
