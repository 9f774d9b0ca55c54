/**
 * Paths inside a layer's file system, resolved the way a chroot would: symbolic links met on the
 * way are followed, but an absolute target starts at the layer root and `..` stops at it, so no
 * name in an untrusted layer reaches outside the root (containers/storage unpacks in a chroot).
 */
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '../../errors.js';

const MAX_LINKS = 255;

function unsafe(name: string, why: string): FerryError {
  return new FerryError('UNSAFE_PATH', `layer member ${JSON.stringify(name)}: ${why}`, { details: { name } });
}

/** The clean components of a member name (`./a//b/` → [a, b]); `..` that climbs above the root is refused. */
export function memberComponents(name: string): string[] {
  if (name.includes('\0')) throw unsafe(name, 'the name contains a NUL byte');
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw unsafe(name, 'it climbs above the layer root');
      parts.pop();
      continue;
    }
    parts.push(p);
  }
  return parts;
}

/**
 * Resolves `components` (all of them: callers pass a parent directory) below `root`, following
 * symbolic links in chroot fashion. Returns the host path; components that do not exist are kept
 * as they are (the caller creates them).
 */
export async function resolveInRoot(root: string, components: readonly string[], what: string): Promise<string> {
  const todo = [...components];
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    let st: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      st = await lstat(host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st?.isSymbolicLink()) {
      if (++links > MAX_LINKS) throw unsafe(what, 'too many levels of symbolic links');
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/'));
      continue;
    }
    done.push(part);
  }
  return join(root, ...done);
}
