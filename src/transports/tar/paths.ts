/**
 * Archive member names are untrusted: every name and link target is checked lexically before it is
 * looked up or written, so nothing can address a file outside the archive (or its extraction dir).
 * `archive` names the archive in the error.
 */
import { posix } from 'node:path';
import { unsafeEntry } from './archive-error.js';

/**
 * The clean relative form of an entry name (`./a//b/` → `a/b`; `.` or `./` → `` for the root).
 * Throws UNSAFE_PATH for an absolute name, a `..` component or a NUL byte.
 */
export function safeEntryName(name: string, archive: string): string {
  if (name.includes('\0')) throw unsafeEntry(archive, name, 'the name contains a NUL byte');
  if (name.startsWith('/')) throw unsafeEntry(archive, name, 'absolute paths are not allowed');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafeEntry(archive, name, '".." components are not allowed');
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * Where a symbolic link stored as `entry` points, as a clean name relative to the archive root, in
 * the archive's own name space (no file system involved). Throws UNSAFE_PATH if the target is
 * absolute or climbs above the root.
 */
export function symlinkTarget(entry: string, linkname: string, archive: string): string {
  if (linkname.includes('\0')) throw unsafeEntry(archive, entry, 'the link target contains a NUL byte');
  if (linkname.startsWith('/')) throw unsafeEntry(archive, entry, `symbolic link to the absolute path "${linkname}"`);
  const joined = posix.normalize(posix.join(posix.dirname(entry), linkname));
  if (joined === '..' || joined.startsWith('../')) {
    throw unsafeEntry(archive, entry, `symbolic link "${linkname}" points outside the archive`);
  }
  return safeEntryName(joined, archive);
}

/**
 * The check for a symbolic link created on disk at `entry` (a location reached through real
 * directories only). Its target may climb with leading `..` no higher than the root, then only
 * descend: a `..` after a name could climb out of wherever that name, itself a link, leads
 * (`s -> .`, `t -> s/../x`), so it is refused. Absolute targets are refused: on disk they name the
 * host's files, whatever they meant inside the image. Dangling or not, the same rule applies.
 */
export function symlinkTargetFromLocation(entry: string, linkname: string, archive: string): void {
  symlinkTarget(entry, linkname, archive);
  let climbs = 0;
  let descended = false;
  for (const part of linkname.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') descended = true;
    else if (descended) throw unsafeEntry(archive, entry, `symbolic link "${linkname}" has ".." after a name`);
    else climbs++;
  }
  const depth = entry.split('/').length - 1;
  if (climbs > depth) throw unsafeEntry(archive, entry, `symbolic link "${linkname}" points outside the archive`);
}

/** Where a hard link stored as `entry` points (hard link targets are relative to the archive root). */
export function hardlinkTarget(entry: string, linkname: string, archive: string): string {
  try {
    return safeEntryName(linkname, archive);
  } catch {
    throw unsafeEntry(archive, entry, `hard link "${linkname}" points outside the archive`);
  }
}
