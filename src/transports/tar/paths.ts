/**
 * Archive member names are untrusted: every name and link target is checked lexically before it is
 * looked up or written, so nothing can address a file outside the archive (or its extraction dir).
 */
import { posix } from 'node:path';
import { FerryError } from '../../errors.js';

function unsafe(entry: string, rule: string): FerryError {
  return new FerryError('UNSAFE_PATH', `unsafe archive entry "${entry}": ${rule}`, { details: { entry } });
}

/**
 * The clean relative form of an entry name (`./a//b/` → `a/b`; `.` or `./` → `` for the root).
 * Throws UNSAFE_PATH for an absolute name, a `..` component or a NUL byte.
 */
export function safeEntryName(name: string): string {
  if (name.includes('\0')) throw unsafe(name, 'the name contains a NUL byte');
  if (name.startsWith('/')) throw unsafe(name, 'absolute paths are not allowed');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafe(name, '".." components are not allowed');
    parts.push(part);
  }
  return parts.join('/');
}

/**
 * Where a symbolic link stored as `entry` points, as a clean name relative to the archive root.
 * Throws UNSAFE_PATH if the target is absolute or climbs above the root.
 */
export function symlinkTarget(entry: string, linkname: string): string {
  if (linkname.includes('\0')) throw unsafe(entry, 'the link target contains a NUL byte');
  if (linkname.startsWith('/')) throw unsafe(entry, `symbolic link to the absolute path "${linkname}"`);
  const joined = posix.normalize(posix.join(posix.dirname(entry), linkname));
  if (joined === '..' || joined.startsWith('../')) {
    throw unsafe(entry, `symbolic link "${linkname}" points outside the archive`);
  }
  return safeEntryName(joined);
}

/** Where a hard link stored as `entry` points (hard link targets are relative to the archive root). */
export function hardlinkTarget(entry: string, linkname: string): string {
  try {
    return safeEntryName(linkname);
  } catch {
    throw unsafe(entry, `hard link "${linkname}" points outside the archive`);
  }
}
