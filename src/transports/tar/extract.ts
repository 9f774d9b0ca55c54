/**
 * Safe extraction of an untrusted tar stream into a private directory. Everything is checked before
 * anything is created: each parent of a member is walked component by component with lstat and must
 * be a real directory (a symbolic link is never traversed while creating); a symbolic link's target
 * must stay inside when resolved from its own location, dangling or not; a hard link may only name a
 * regular file already extracted. Files are created exclusively, never through an existing link.
 */
import { createWriteStream, type Stats } from 'node:fs';
import { link, lstat, mkdir, realpath, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArchive, unsafeEntry } from './archive-error.js';
import { hardlinkTarget, safeEntryName, symlinkTargetFromLocation } from './paths.js';
import { scanTar, type TarHeader } from './scan.js';

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

class Extraction {
  readonly #root: string;
  readonly #archive: string;

  constructor(root: string, archive: string) {
    this.#root = root;
    this.#archive = archive;
  }

  #unsafe(entry: string, rule: string) {
    return unsafeEntry(this.#archive, entry, rule);
  }

  /** Makes each parent directory of `name` that is missing; refuses a parent that is a link or a file. */
  async #parents(name: string): Promise<void> {
    const parts = name.split('/');
    let prefix = '';
    for (const part of parts.slice(0, -1)) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      const path = join(this.#root, prefix);
      const st = await lstatOrUndefined(path);
      if (st === undefined) await mkdir(path, { mode: 0o755 });
      else if (st.isSymbolicLink()) throw this.#unsafe(name, `its directory "${prefix}" is a symbolic link`);
      else if (!st.isDirectory()) throw this.#unsafe(name, `its directory "${prefix}" is not a directory`);
    }
  }

  /** Whether `name` is a regular file reached through real directories only (nothing is created). */
  async #isExtractedFile(name: string): Promise<boolean> {
    const parts = name.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const st = await lstatOrUndefined(join(this.#root, ...parts.slice(0, i)));
      if (st === undefined) return false;
      if (i < parts.length ? !st.isDirectory() : !st.isFile()) return false;
    }
    return true;
  }

  /** Clears `path` for a new member: a later member of the same name replaces the earlier one, as `tar x` does. */
  async #replace(path: string, keepDirectory: boolean): Promise<void> {
    const st = await lstatOrUndefined(path);
    if (st === undefined || (keepDirectory && st.isDirectory())) return;
    await rm(path, { recursive: st.isDirectory(), force: true });
  }

  async write(name: string, header: TarHeader, data: Readable): Promise<void> {
    switch (header.type) {
      case 'directory':
      case 'file':
      case 'contiguous-file':
      case 'symlink':
      case 'link':
        break;
      default:
        throw invalidArchive(
          this.#archive,
          `entry "${name}" is a ${header.type ?? 'member of unknown type'}: an image layout holds only files, directories and links`,
        );
    }
    // Checked before anything is created for this member.
    const linkname = header.linkname ?? '';
    const hardlinkSource = header.type === 'link' ? hardlinkTarget(name, linkname, this.#archive) : undefined;
    if (header.type === 'symlink') symlinkTargetFromLocation(name, linkname, this.#archive);
    await this.#parents(name);
    const target = join(this.#root, name);
    switch (header.type) {
      case 'directory':
        await this.#replace(target, true);
        if ((await lstatOrUndefined(target)) === undefined) await mkdir(target, { mode: 0o755 });
        return;
      case 'symlink':
        await this.#replace(target, false);
        await symlink(linkname, target);
        return;
      case 'link': {
        const source = hardlinkSource as string;
        if (source === name || !(await this.#isExtractedFile(source))) {
          throw this.#unsafe(name, `hard link to "${linkname}", which is not a regular file extracted before it`);
        }
        await this.#replace(target, false);
        await link(join(this.#root, source), target);
        return;
      }
      default:
        await this.#replace(target, false);
        await pipeline(data, createWriteStream(target, { flags: 'wx', mode: 0o644 }));
    }
  }
}

/**
 * Extracts the uncompressed tar `input` into `dir` (which must exist, be empty and private to the
 * caller). `archive` names the archive in errors: UNSAFE_PATH for an entry that would reach outside
 * `dir`, INVALID_ARCHIVE for a damaged tar or an entry that is not a file, directory or link.
 */
export async function extractTarSafely(
  input: Readable,
  dir: string,
  archive: string,
  signal?: AbortSignal,
): Promise<void> {
  const extraction = new Extraction(await realpath(dir), archive);
  await scanTar(
    input,
    archive,
    async (header, data) => {
      const name = safeEntryName(header.name, archive);
      if (name !== '') await extraction.write(name, header, data);
    },
    signal,
  );
}
