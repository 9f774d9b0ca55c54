/**
 * Safe extraction of an untrusted tar stream into a private directory: names and link targets are
 * checked lexically, every write goes to a path whose real parent lies inside the directory, files are
 * created exclusively (never through an existing link), and links are re-checked physically at the end.
 */
import { createWriteStream } from 'node:fs';
import { link, lstat, mkdir, realpath, rm, symlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { FerryError } from '../../errors.js';
import { hardlinkTarget, safeEntryName, symlinkTarget } from './paths.js';

function unsafe(entry: string, rule: string): FerryError {
  return new FerryError('UNSAFE_PATH', `unsafe archive entry "${entry}": ${rule}`, { details: { entry } });
}

function isInside(root: string, p: string): boolean {
  return p === root || p.startsWith(root + sep);
}

/** Creates `dir` (relative to root) and checks that its real location is inside root. */
async function ensureDirInside(root: string, dir: string, entry: string): Promise<string> {
  const abs = join(root, dir);
  await mkdir(abs, { recursive: true, mode: 0o755 });
  const real = await realpath(abs);
  if (!isInside(root, real)) throw unsafe(entry, 'its directory resolves outside the archive');
  return real;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    const st = await lstat(path);
    await rm(path, { recursive: st.isDirectory(), force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

async function writeMember(root: string, name: string, header: tar.Header, stream: Readable): Promise<string | undefined> {
  const slash = name.lastIndexOf('/');
  const parent = await ensureDirInside(root, slash === -1 ? '' : name.slice(0, slash), name);
  const target = join(parent, name.slice(slash + 1));
  switch (header.type) {
    case 'directory':
      await ensureDirInside(root, name, name);
      return undefined;
    case 'file':
    case 'contiguous-file':
      await removeIfPresent(target); // a later member of the same name replaces the earlier one, as `tar x` does
      await pipeline(stream, createWriteStream(target, { flags: 'wx', mode: 0o644 }));
      return undefined;
    case 'symlink': {
      const linkname = header.linkname ?? '';
      symlinkTarget(name, linkname);
      await removeIfPresent(target);
      await symlink(linkname, target);
      return target;
    }
    case 'link': {
      const source = join(root, hardlinkTarget(name, header.linkname ?? ''));
      const real = await realpath(source).catch(() => {
        throw unsafe(name, `hard link to "${header.linkname}", which is not in the archive`);
      });
      if (!isInside(root, real)) throw unsafe(name, `hard link "${header.linkname}" resolves outside the archive`);
      await removeIfPresent(target);
      await link(real, target);
      return undefined;
    }
    default:
      return undefined; // devices, FIFOs: never part of an image layout; skipped
  }
}

/**
 * Extracts the uncompressed tar `input` into `dir` (which must exist and be private to the caller).
 * Throws UNSAFE_PATH for an absolute name, a `..` component, or a link that leads outside `dir`.
 */
export async function extractTarSafely(input: Readable, dir: string, signal?: AbortSignal): Promise<void> {
  const root = await realpath(dir);
  const symlinks: { name: string; path: string }[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    let name: string;
    try {
      name = safeEntryName(header.name);
    } catch (e) {
      stream.on('error', () => {}); // the failure is reported once, by the pipeline
      stream.resume();
      next(e as Error);
      return;
    }
    if (name === '') {
      stream.on('end', () => next());
      stream.resume();
      return;
    }
    const ended = new Promise<void>((resolve) => stream.on('end', () => resolve()));
    writeMember(root, name, header, stream as unknown as Readable).then(
      (linkPath) => {
        if (linkPath !== undefined) symlinks.push({ name, path: linkPath });
        stream.resume(); // members not written (links, directories, devices) still have to be drained
        ended.then(() => next());
      },
      (e: unknown) => {
        stream.on('error', () => {}); // the failure is reported once, by the pipeline
        stream.resume();
        next(e as Error);
      },
    );
  });
  try {
    await pipeline(input, extract, { signal });
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (signal?.aborted) throw new FerryError('ABORTED', 'operation aborted', { cause: signal.reason });
    throw new FerryError('INVALID_ARCHIVE', `invalid tar archive: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
    });
  }
  // A link that is lexically inside can still lead out through another link (`a -> .`, `b -> a/..`).
  for (const { name, path } of symlinks) {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      continue; // dangling inside the directory: harmless
    }
    if (!isInside(root, real)) throw unsafe(name, `symbolic link resolves outside the archive (${relative(root, real)})`);
  }
}
