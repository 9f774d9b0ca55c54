/**
 * The overlay driver's layer layout (containers/storage drivers/overlay, 1.43): GRAPHROOT/overlay/ID
 * holds `diff/` (this layer's files only), `link` (a 26-character short name), `work/`, `merged/`,
 * `empty/` for a base layer or `lower` (`l/PARENTLINK:l/GRANDPARENTLINK...`) for a child, and
 * GRAPHROOT/overlay/l/LINK is a symbolic link to `../ID/diff`. In a diff, a whiteout is a character
 * device 0/0 and an opaque directory carries the xattr `trusted.overlay.opaque=y` (rootless:
 * `user.overlay.opaque=y`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from './store.js';

const LINK_LENGTH = 26;

/**
 * An overlay xattr's name as containers/storage's GetOverlayXattrName: `trusted.overlay.NAME`, or
 * `user.overlay.NAME` in the user namespace of a rootless command (src/cli/userns.ts; the kernel
 * overlay is then mounted with userxattr), where trusted.* cannot be set.
 */
export function overlayXattrName(name: string): string {
  return `${process.env._CONTAINERS_USERNS_CONFIGURED === undefined ? 'trusted' : 'user'}.overlay.${name}`;
}

/** A short link name as containers/storage's generateID: base32 (A-Z, 2-7) of random bytes, 26 characters. */
function newLinkName(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(LINK_LENGTH);
  return [...bytes].map((b) => alphabet[b & 31]).join('');
}

/** Creates layer ID's directories, short link and lower chain (overlay create). */
export async function createOverlayLayer(store: Store, id: string, parent: string | undefined): Promise<void> {
  const home = store.layerHome(id);
  const overlay = join(store.graphRoot, 'overlay');
  await mkdir(join(overlay, 'l'), { recursive: true, mode: 0o755 });
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { mode: 0o700 });
  const mode = parent === undefined ? 0o555 : (await stat(store.layerDir(parent))).mode & 0o7777;
  await mkdir(join(home, 'diff'), { mode });
  const link = newLinkName();
  await symlink(join('..', id, 'diff'), join(overlay, 'l', link));
  await writeFile(join(home, 'link'), link, { mode: 0o644 });
  await mkdir(join(home, 'work'), { mode: 0o700 });
  await mkdir(join(home, 'merged'), { mode: 0o700 });
  if (parent === undefined) {
    await mkdir(join(home, 'empty'), { mode: 0o700 });
    return;
  }
  const parentHome = store.layerHome(parent);
  const lowers = [join('l', (await readFile(join(parentHome, 'link'), 'utf8')).trim())];
  try {
    lowers.push(...(await readFile(join(parentHome, 'lower'), 'utf8')).split(':').filter((s) => s !== ''));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await writeFile(join(home, 'lower'), lowers.join(':'), { mode: 0o666 });
}

/** Removes layer ID's directories and its short link. */
export async function removeOverlayLayer(store: Store, id: string): Promise<void> {
  const home = store.layerHome(id);
  try {
    const link = (await readFile(join(home, 'link'), 'utf8')).trim();
    if (/^[A-Z2-7]+$/.test(link)) await rm(join(store.graphRoot, 'overlay', 'l', link), { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await rm(home, { recursive: true, force: true });
}
