/**
 * A containers/storage store on disk, as containers/storage 1.43 lays it out (vfs shown; overlay
 * keeps a layer in GRAPHROOT/overlay/ID/{diff,link,lower,work,merged} and GRAPHROOT/overlay/l/LINK):
 *
 *   GRAPHROOT/vfs-layers/layers.json       layer records (JSON array), lock: layers.lock
 *   GRAPHROOT/vfs-layers/ID.tar-split.gz   how to rebuild the layer's tar byte for byte
 *   GRAPHROOT/vfs/dir/ID/                  the layer's full file system (parent copied, diff applied)
 *   GRAPHROOT/vfs-images/images.json       image records, lock: images.lock
 *   GRAPHROOT/vfs-images/ID/KEY            big data (manifest, config, signatures); KEY as makeBigDataBaseName
 *   GRAPHROOT/vfs-containers/containers.json, containers.lock
 *   RUNROOT/vfs-layers/mountpoints.json, mountpoints.lock
 *
 * Records are kept as the JSON objects read, so fields Ferry does not model survive a rewrite.
 * JSON files are written as containers/storage writes them: compact, temp file + rename, mode 0600.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, digestHex } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { isNotFound, readFileLimited } from '../shared/files.js';
import { acquireStoreLocks, type HeldLocks, type LockRequest } from './lock.js';
import type { StoreSpec } from './location.js';
import { resolveStore } from './store-spec.js';

/** Drivers Ferry writes and reads so far. */
export const SUPPORTED_DRIVERS = ['vfs', 'overlay'] as const;

export interface LayerRecord {
  id: string;
  names?: string[];
  parent?: string;
  created?: string;
  'compressed-diff-digest'?: Digest;
  'compressed-size'?: number;
  'diff-digest'?: Digest;
  'diff-size'?: number;
  compression?: number;
  uidset?: number[];
  gidset?: number[];
  flags?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface ImageRecord {
  id: string;
  digest?: Digest;
  names?: string[];
  'names-history'?: string[];
  layer?: string;
  'mapped-layers'?: string[];
  metadata?: string;
  'big-data-names'?: string[];
  'big-data-sizes'?: Record<string, number>;
  'big-data-digests'?: Record<string, Digest>;
  created?: string;
  flags?: Record<string, unknown>;
  [other: string]: unknown;
}

export interface ContainerRecord {
  id: string;
  image?: string;
  layer?: string;
  [other: string]: unknown;
}

/** containers/storage archive.Compression values recorded in layers.json. */
export const COMPRESSION_CODE = { none: 0, gzip: 2, zstd: 4 } as const;

/**
 * Largest images.json/layers.json/containers.json Ferry reads. Each is read whole into memory; a
 * record is a few hundred bytes to a few KiB (names, big-data sizes and digests), so 256 MiB holds
 * some 100k images or layers, far past any real store, while a crafted multi-GiB file is refused
 * before it exhausts memory.
 */
export const MAX_RECORDS_FILE = 256 * 1024 * 1024;

/** Largest big-data item (manifest, config, signatures) Ferry reads. */
export const MAX_BIG_DATA = 64 * 1024 * 1024;

/** The flag containers/storage sets on a layer record before its contents are complete. */
export const INCOMPLETE_FLAG = 'incomplete';

export class Store {
  constructor(
    readonly driver: string,
    readonly graphRoot: string,
    readonly runRoot: string,
    /** Driver options (`overlay.mount_program=...`), as storage.conf or the reference gives them. */
    readonly options: readonly string[] = [],
  ) {}

  /** Resolves the store of a reference: the brackets' parts, the rest from storage.conf. */
  static async resolve(spec: StoreSpec, what: string): Promise<Store> {
    const { driver, graphRoot, runRoot, options } = resolveStore(spec);
    if (!(SUPPORTED_DRIVERS as readonly string[]).includes(driver)) {
      throw new FerryError(
        'NOT_IMPLEMENTED',
        `${what}: the ${JSON.stringify(driver)} storage driver is not supported yet (Ferry writes and reads the vfs and overlay drivers)`,
        { details: { driver, graphRoot } },
      );
    }
    return new Store(driver, graphRoot, runRoot, options);
  }

  get layersDir(): string {
    return join(this.graphRoot, `${this.driver}-layers`);
  }
  get imagesDir(): string {
    return join(this.graphRoot, `${this.driver}-images`);
  }
  get containersDir(): string {
    return join(this.graphRoot, `${this.driver}-containers`);
  }
  get layersLock(): string {
    return join(this.layersDir, 'layers.lock');
  }
  get imagesLock(): string {
    return join(this.imagesDir, 'images.lock');
  }
  get containersLock(): string {
    return join(this.containersDir, 'containers.lock');
  }
  /** Where layer ID's files are: vfs `vfs/dir/ID` (the whole file system), overlay `overlay/ID/diff` (the diff). */
  layerDir(id: string): string {
    return this.driver === 'overlay'
      ? join(this.graphRoot, 'overlay', id, 'diff')
      : join(this.graphRoot, this.driver, 'dir', id);
  }
  /** Everything the driver keeps for layer ID (overlay: diff, link, lower, work, merged). */
  layerHome(id: string): string {
    return this.driver === 'overlay' ? join(this.graphRoot, 'overlay', id) : this.layerDir(id);
  }
  tarSplitPath(id: string): string {
    return join(this.layersDir, `${id}.tar-split.gz`);
  }
  imageDataDir(id: string): string {
    return join(this.imagesDir, id);
  }
  bigDataPath(imageID: string, key: string): string {
    return join(this.imageDataDir(imageID), bigDataBaseName(key));
  }
  /**
   * Reads big-data item `key` of image `imageID`, undefined when absent. Neither the image's
   * directory nor the file may be a symbolic link (a crafted store must not serve a host file as
   * an image's config); the file must be a regular file of at most MAX_BIG_DATA bytes.
   */
  async readBigData(imageID: string, key: string, what: string): Promise<Buffer | undefined> {
    const dir = this.imageDataDir(imageID);
    try {
      if (!(await lstat(dir)).isDirectory()) {
        throw new FerryError('INVALID_LAYOUT', `${what}: ${dir} is not a directory (a symbolic link is not followed)`, {
          details: { path: dir },
        });
      }
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    return readStoreFile(this.bigDataPath(imageID, key), MAX_BIG_DATA, what);
  }
  /** Where Ferry keeps blobs of an unfinished copy (GRAPHROOT/tmp, as containers/storage's own temp dir). */
  get tempRoot(): string {
    return join(this.graphRoot, 'tmp');
  }

  /** Creates the directories and lock files containers/storage expects in a new store. */
  async ensureLayout(): Promise<void> {
    for (const dir of [
      this.layersDir,
      this.imagesDir,
      this.containersDir,
      this.driver === 'overlay' ? join(this.graphRoot, 'overlay', 'l') : join(this.graphRoot, this.driver, 'dir'),
      this.tempRoot,
      join(this.runRoot, `${this.driver}-layers`),
      join(this.runRoot, `${this.driver}-containers`),
    ]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    // As the overlay driver's Init: a store used with a mount program (fuse-overlayfs) says so in
    // overlay/.has-mount-program, so a later run without one does not mount it with the kernel's overlay.
    if (this.driver === 'overlay' && this.mountProgram !== undefined) {
      await writeFileAtomic(join(this.graphRoot, 'overlay', '.has-mount-program'), 'true', 0o600);
    }
  }

  /** The overlay `mount_program` option (`overlay.mount_program=` or the older bare `mount_program=`), if set. */
  get mountProgram(): string | undefined {
    let found: string | undefined;
    for (const o of this.options) {
      const m = /^(?:overlay2?\.)?mount_program=(.+)$/.exec(o.trim());
      if (m !== null) found = m[1];
    }
    return found;
  }

  /** Takes the store locks in containers/storage's order (layers, images, containers). */
  async lock(
    modes: { layers?: 'read' | 'write'; images?: 'read' | 'write'; containers?: 'read' | 'write' },
    signal?: AbortSignal,
  ): Promise<HeldLocks> {
    const requests: LockRequest[] = [];
    if (modes.layers) requests.push({ path: this.layersLock, mode: modes.layers });
    if (modes.images) requests.push({ path: this.imagesLock, mode: modes.images });
    if (modes.containers) requests.push({ path: this.containersLock, mode: modes.containers });
    return acquireStoreLocks(requests, signal);
  }

  async readLayers(): Promise<LayerRecord[]> {
    return readRecords<LayerRecord>(join(this.layersDir, 'layers.json'));
  }
  async writeLayers(layers: readonly LayerRecord[]): Promise<void> {
    await writeFileAtomic(join(this.layersDir, 'layers.json'), JSON.stringify(layers), 0o600);
  }
  async readImages(): Promise<ImageRecord[]> {
    return readRecords<ImageRecord>(join(this.imagesDir, 'images.json'));
  }
  async writeImages(images: readonly ImageRecord[]): Promise<void> {
    await writeFileAtomic(join(this.imagesDir, 'images.json'), JSON.stringify(images), 0o600);
  }
  async readContainers(): Promise<ContainerRecord[]> {
    return readRecords<ContainerRecord>(join(this.containersDir, 'containers.json'));
  }

  toString(): string {
    return `[${this.driver}@${this.graphRoot}+${this.runRoot}]`;
  }
}

/** The one known driver that already has a `DRIVER-layers` directory in the graph root, if exactly one does. */
async function readRecords<T extends { id: string }>(path: string): Promise<T[]> {
  const bytes = await readStoreFile(path, MAX_RECORDS_FILE, path);
  if (bytes === undefined) return [];
  const text = bytes.toString('utf8');
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FerryError('INVALID_LAYOUT', `${path}: not valid JSON (${(e as Error).message})`, {
      details: { path },
    });
  }
  if (!Array.isArray(value) || !value.every((r) => r !== null && typeof r === 'object' && typeof r.id === 'string')) {
    throw new FerryError('INVALID_LAYOUT', `${path}: not a JSON array of records with an "id"`, { details: { path } });
  }
  for (const r of value as T[]) {
    if (!/^[a-f0-9]{64}$/.test(r.id) && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(r.id)) {
      throw new FerryError('INVALID_LAYOUT', `${path}: record ID ${JSON.stringify(r.id)} is not a valid ID`, {
        details: { path },
      });
    }
  }
  return value as T[];
}

/**
 * Reads a file of the store whole, undefined when absent: a symbolic link or anything but a regular
 * file is INVALID_LAYOUT, more than `limit` bytes TOO_LARGE (shared/files.ts, regularFileOnly).
 */
function readStoreFile(path: string, limit: number, what: string): Promise<Buffer | undefined> {
  return readFileLimited(path, limit, `${what}: ${path}`, { regularFileOnly: true });
}

/**
 * The file name of a big-data item: the key itself when it is only `.`, digits and lowercase
 * letters, else `=` and its standard base64 (containers/storage makeBigDataBaseName).
 */
export function bigDataBaseName(key: string): string {
  return /^[.0-9a-z]*$/.test(key) ? key : `=${Buffer.from(key, 'utf8').toString('base64')}`;
}

/**
 * The ID containers/image gives the layer holding `diffID` on top of `parent`: the diffID's hex for
 * a base layer, else sha256 of `PARENT+DIFFIDHEX` (storage/storage_dest.go commitLayer).
 */
export function chainedLayerID(parent: string | undefined, diffID: Digest): string {
  if (parent === undefined) return digestHex(diffID);
  return createHash('sha256')
    .update(`${parent}+${digestHex(diffID)}`)
    .digest('hex');
}

/** containers/image's key for a manifest's big data: `manifest-DIGEST`. */
export function manifestKey(digest: Digest): string {
  return `manifest-${digest}`;
}
/** containers/image's key for a manifest's signatures: `signature-HEX`. */
export function signatureKey(digest: Digest): string {
  return `signature-${digestHex(digest)}`;
}

/** Go's time.Time JSON form for now: RFC 3339 with nanoseconds, trailing zeros dropped, UTC. */
export function goTimeNow(): string {
  const ms = Date.now();
  const base = new Date(ms).toISOString().slice(0, 19);
  const nanos = String((ms % 1000) * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n)).padStart(9, '0');
  const frac = nanos.replace(/0+$/, '');
  return `${base}${frac === '' ? '' : `.${frac}`}Z`;
}
