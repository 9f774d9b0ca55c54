/**
 * The vfs driver's layer contents (containers/storage drivers/vfs): a layer's directory holds its
 * whole file system, a copy of its parent's (hard links, owners, modes and times kept) with the
 * layer's diff applied by the rules of containers/storage's UnpackLayer (pkg/archive/diff.go):
 * `.wh.NAME` removes NAME, `.wh..wh..opq` empties its directory of everything this layer did not
 * itself put there, other `.wh..wh.*` names are skipped, an existing entry is replaced unless both
 * are directories, missing parents are created, directory times are set last.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { FerryError } from '../../errors.js';
import { overlayXattrName } from './overlay.js';
import { copyXattrs, setXattrs } from './xattr.js';
import { memberComponents, resolveInRoot } from './rootfs.js';
import type { TarMember } from './tar-split.js';

const run = promisify(execFile);

/** Creates a device node or FIFO with coreutils' mknod (Node has no mknod). */
async function makeNode(
  path: string,
  kind: 'c' | 'b' | 'p',
  major: number,
  minor: number,
  mode = '0600',
): Promise<void> {
  const args = kind === 'p' ? ['-m', mode, path, 'p'] : ['-m', mode, path, kind, String(major), String(minor)];
  try {
    await run('mknod', args);
  } catch (e) {
    throw new FerryError('NOT_IMPLEMENTED', `cannot create the device node or FIFO ${path}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Copies a parent layer's file system into a new layer directory (vfs CopyDir, hard links kept). */
export async function copyLayerTree(from: string, to: string): Promise<void> {
  const inodes = new Map<string, string>();
  const dirTimes: [string, Date, Date][] = [];
  const copied: [string, string][] = [];
  const rootSt = await lstat(from);
  await mkdir(to, { mode: 0o700 });
  const walk = async (src: string, dst: string): Promise<void> => {
    for (const name of await readdir(src)) {
      const s = join(src, name);
      const d = join(dst, name);
      const st = await lstat(s);
      if (st.isDirectory()) {
        await mkdir(d, { mode: 0o700 });
        await walk(s, d);
        await lchown(d, st.uid, st.gid);
        await chmod(d, st.mode & 0o7777);
        dirTimes.push([d, st.atime, st.mtime]);
        copied.push([s, d]);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? inodes.get(key) : undefined;
      if (first !== undefined) {
        await link(first, d);
        continue;
      }
      if (st.isSymbolicLink()) {
        await symlink(await readlink(s), d);
      } else if (st.isFile()) {
        await copyFile(s, d);
      } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
        const kind = st.isFIFO() ? 'p' : st.isCharacterDevice() ? 'c' : 'b';
        await makeNode(d, kind, Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
      } else {
        continue; // sockets are not copied (as vfs CopyDir)
      }
      await lchown(d, st.uid, st.gid);
      if (!st.isSymbolicLink()) await chmod(d, st.mode & 0o7777);
      await lutimes(d, st.atime, st.mtime);
      if (!st.isSymbolicLink()) copied.push([s, d]);
      if (st.nlink > 1) inodes.set(key, d);
    }
  };
  await walk(from, to);
  copied.push([from, to]);
  // After every chown (a chown clears security.capability); setting xattrs leaves mtimes alone.
  await copyXattrs(copied);
  for (const [d, a, m] of dirTimes.reverse()) await lutimes(d, a, m);
  await lchown(to, rootSt.uid, rootSt.gid);
  await chmod(to, rootSt.mode & 0o7777);
  await lutimes(to, rootSt.atime, rootSt.mtime);
}

const SELINUX_XATTR = 'security.selinux';
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const WHITEOUT_META_PREFIX = '.wh..wh.';

/**
 * Applies one layer's members to a layer directory: for vfs onto a copy of the parent, as
 * containers/storage's UnpackLayer; for overlay into an empty diff, where whiteouts become
 * character devices 0/0 and opaque markers the xattr `trusted.overlay.opaque=y`, rootless
 * `user.overlay.opaque=y` (archive's overlayWhiteoutConverter, GetOverlayXattrName). Members' own xattrs (pax SCHILY.xattr) are set in both.
 */
export class LayerApplier {
  readonly #root: string;
  readonly #overlay: boolean;
  readonly #xattrs: [string, string, Buffer][] = [];
  readonly #unpacked = new Set<string>();
  readonly #dirTimes: [string, number, number][] = [];
  readonly uids = new Set<number>();
  readonly gids = new Set<number>();

  constructor(root: string, driver: 'vfs' | 'overlay') {
    this.#root = root;
    this.#overlay = driver === 'overlay';
  }

  async apply(m: TarMember, contents: AsyncIterable<Buffer>): Promise<void> {
    this.uids.add(m.uid);
    this.gids.add(m.gid);
    const parts = memberComponents(m.name);
    if (parts.length === 0) {
      // The layer root itself: UnpackLayer (vfs) applies its attributes, Unpack (overlay) skips it.
      if (m.typeflag === '5' && !this.#overlay) await this.#setAttributes(this.#root, m, true);
      return;
    }
    const base = parts[parts.length - 1] as string;
    // A whiteout hides one name in its directory: `.wh.`, `.wh..` and `.wh...` would name the
    // directory itself or its parent (above the layer root at the top), so they are refused.
    const hiddenName = base.startsWith(WHITEOUT_PREFIX) ? base.slice(WHITEOUT_PREFIX.length) : undefined;
    if (hiddenName === '' || hiddenName === '.' || hiddenName === '..') {
      throw new FerryError(
        'UNSAFE_PATH',
        `layer member ${JSON.stringify(m.name)}: a whiteout must name an entry of its directory`,
        { details: { name: m.name } },
      );
    }
    const parent = await resolveInRoot(this.#root, parts.slice(0, -1), m.name);
    if (base.startsWith(WHITEOUT_PREFIX) && this.#overlay) {
      await mkdir(parent, { recursive: true, mode: 0o755 });
      if (base === OPAQUE) this.#xattrs.push([parent, overlayXattrName('opaque'), Buffer.from('y')]);
      else if (!base.startsWith(WHITEOUT_META_PREFIX)) {
        const hidden = join(parent, base.slice(WHITEOUT_PREFIX.length));
        await rm(hidden, { recursive: true, force: true });
        await makeNode(hidden, 'c', 0, 0, '0000');
        await lchown(hidden, m.uid, m.gid);
      }
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      if (base === OPAQUE) await this.#emptyOpaque(parent);
      else if (!base.startsWith(WHITEOUT_META_PREFIX))
        await rm(join(parent, base.slice(WHITEOUT_PREFIX.length)), { recursive: true, force: true });
      return;
    }
    await mkdir(parent, { recursive: true, mode: 0o755 });
    const path = join(parent, base);
    let existing: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      existing = await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (existing !== undefined && !(existing.isDirectory() && m.typeflag === '5')) {
      await rm(path, { recursive: true, force: true });
    }
    switch (m.typeflag) {
      case '5':
        if (existing === undefined || !existing.isDirectory()) await mkdir(path, { mode: 0o700 });
        break;
      case '0':
        await pipeline(Readable.from(contents), createWriteStream(path, { flags: 'wx', mode: 0o600 }));
        break;
      case '2':
        await symlink(m.linkname, path);
        break;
      case '1': {
        const refuse = (code: 'UNSAFE_PATH' | 'INVALID_ARCHIVE', why: string, cause?: unknown) =>
          new FerryError(code, `hard link ${JSON.stringify(m.name)} to ${JSON.stringify(m.linkname)}: ${why}`, {
            cause,
            details: { name: m.name },
          });
        let target: string[];
        try {
          target = memberComponents(m.linkname);
        } catch (e) {
          throw refuse('UNSAFE_PATH', 'the target climbs above the layer root', e);
        }
        if (target.length === 0) throw refuse('UNSAFE_PATH', 'the target is the layer root');
        const targetParent = await resolveInRoot(this.#root, target.slice(0, -1), m.linkname);
        // link(2) does not follow a symbolic link at the target: the link is to the symlink itself.
        await link(join(targetParent, target[target.length - 1] as string), path).catch((e: unknown) => {
          throw refuse('INVALID_ARCHIVE', `the layer holds no file there (${(e as NodeJS.ErrnoException).code})`, e);
        });
        break;
      }
      case '3':
      case '4':
      case '6':
        await makeNode(path, m.typeflag === '3' ? 'c' : m.typeflag === '4' ? 'b' : 'p', m.devmajor, m.devminor);
        break;
      default:
        throw new FerryError(
          'INVALID_ARCHIVE',
          `layer member ${JSON.stringify(m.name)} has tar type ${JSON.stringify(m.typeflag)}, which containers/storage does not unpack`,
        );
    }
    this.#unpacked.add(path);
    if (m.typeflag !== '1') await this.#setAttributes(path, m, m.typeflag === '5');
    for (const [name, value] of m.xattrs) {
      // A layer does not choose its own SELinux label (containers/storage pkg/archive xattrsToIgnore).
      if (name !== SELINUX_XATTR) this.#xattrs.push([path, name, value]);
    }
  }

  async #setAttributes(path: string, m: TarMember, isDir: boolean): Promise<void> {
    await lchown(path, m.uid, m.gid);
    if (m.typeflag !== '2') await chmod(path, m.mode & 0o7777);
    const atime = m.atime ?? m.mtime;
    if (isDir) this.#dirTimes.push([path, atime, m.mtime]);
    else await lutimes(path, atime, m.mtime);
  }

  async #emptyOpaque(dir: string): Promise<void> {
    const walk = async (d: string): Promise<void> => {
      let names: string[];
      try {
        names = await readdir(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
        throw e;
      }
      for (const name of names) {
        const p = join(d, name);
        if (!this.#unpacked.has(p)) await rm(p, { recursive: true, force: true });
        else if ((await lstat(p)).isDirectory()) await walk(p);
      }
    };
    await walk(dir);
  }

  /** Sets directory times last, innermost first (creating files in a directory changes its mtime). */
  async finish(): Promise<void> {
    // After every chown: a chown clears security.capability.
    const xattrs: [string, string, Buffer][] = [];
    for (const x of this.#xattrs) if (await this.#stillInside(x[0])) xattrs.push(x);
    await setXattrs(xattrs);
    for (const [path, atime, mtime] of this.#dirTimes.reverse())
      if (await this.#stillInside(path)) await lutimes(path, atime, mtime);
  }

  /**
   * Whether `path` (resolved when its member was applied) still names the same place: a later
   * member may have replaced one of its directories with a symbolic link, which the l* calls
   * would follow out of the layer. Such an entry is gone from the layer, so it is skipped.
   */
  async #stillInside(path: string): Promise<boolean> {
    const rel = relative(this.#root, path);
    if (rel === '') return true;
    const parts = rel.split(sep);
    const parent = await resolveInRoot(this.#root, parts.slice(0, -1), rel);
    return join(parent, parts[parts.length - 1] as string) === path;
  }
}
