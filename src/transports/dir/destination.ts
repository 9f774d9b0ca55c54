/**
 * Writing an image into a `dir:` directory (containers/image directory/directory_dest.go), atomically:
 * everything goes into a fresh temp directory beside PATH, and commit swaps it into place (a
 * previous dir: image at PATH is moved aside, then deleted). close() without commit deletes the
 * temp directory and leaves PATH untouched. A non-empty PATH that is not a dir: image is refused.
 */
import { chmod, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { atomicTempPrefix, writeFileAtomic } from '../../util/atomic.js';
import { makeTempDirIn, removeStaleTemps, tempName } from '../../util/temp.js';
import { WriteSession } from '../shared/write-session.js';
import { putStoredFile, reuseStoredFile } from '../shared/defaults.js';
import { CreatedDirs, isNotFound, pathExists } from '../shared/files.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type DirOptions,
  type ImageDestination,
  type PutBlobOptions,
  type TryReusingBlobOptions,
} from '../types.js';
import { blobPath, DIR_VERSION, manifestPath, readVersion, signaturePath, versionPath } from './layout.js';
import type { DirLocation } from './location.js';

/** What is at the target path now: nothing, an empty directory, or a previous dir: image. */
async function targetState(target: string, what: string): Promise<'absent' | 'empty' | 'image'> {
  let isDir: boolean;
  try {
    isDir = (await stat(target)).isDirectory();
  } catch (e) {
    if (isNotFound(e)) return 'absent';
    throw e;
  }
  if (!isDir) {
    throw new FerryError('DESTINATION_NOT_EMPTY', `${what}: ${target} exists and is not a directory`, {
      details: { path: target },
    });
  }
  if ((await readdir(target)).length === 0) return 'empty';
  if ((await readVersion(target)) === 'match') return 'image';
  throw new FerryError(
    'DESTINATION_NOT_EMPTY',
    `${what}: ${target} is not empty and is not a dir: image (no ${JSON.stringify(DIR_VERSION.trim())} version file); refusing to overwrite it`,
    { details: { path: target } },
  );
}

/** Commits racing on one PATH retry the swap this many times before giving up. */
const MAX_SWAP_ATTEMPTS = 8;

/** rename() onto a directory another writer has just filled. */
function isTaken(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOTEMPTY' || code === 'EEXIST';
}

export class DirImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = destinationCapabilities({
    supportedManifestMIMETypes: undefined,
    desiredLayerCompression: 'preserve',
    acceptsForeignLayerURLs: false,
    supportsMultipleImages: true,
    supportsSignatures: true,
    hasThreadSafePutBlob: true,
  });
  readonly #target: string;
  readonly #tempDir: string;
  readonly #dirs: CreatedDirs;
  readonly #session: WriteSession;

  private constructor(
    readonly reference: DirLocation,
    target: string,
    tempDir: string,
    dirs: CreatedDirs,
  ) {
    this.#target = target;
    this.#tempDir = tempDir;
    this.#dirs = dirs;
    this.#session = new WriteSession(reference.toString());
  }

  static async open(ref: DirLocation, options: DirOptions): Promise<DirImageDestination> {
    throwIfAborted(options.signal);
    // Write where a symlinked PATH points, so that the swap replaces the directory, not the link.
    let target = ref.path;
    try {
      target = await realpath(ref.path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await targetState(target, ref.toString());
    const dirs = new CreatedDirs();
    await dirs.ensure(dirname(target));
    // The temp dir of a killed run (a stopped one removes its own).
    await removeStaleTemps(dirname(target), [atomicTempPrefix(target)]);
    const tempDir = await makeTempDirIn(dirname(target), atomicTempPrefix(target));
    try {
      await chmod(tempDir, 0o755);
      await writeFileAtomic(versionPath(tempDir), DIR_VERSION);
    } catch (e) {
      await rm(tempDir, { recursive: true, force: true });
      await dirs.removeEmpty();
      throw e;
    }
    return new DirImageDestination(ref, target, tempDir, dirs);
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    this.#session.assertOpen();
    return this.#session.track(
      putStoredFile(stream, info, options, { tempDir: this.#tempDir, pathFor: (d) => blobPath(this.#tempDir, d) }),
    );
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    // Only blobs written by this destination: the previous image at PATH is replaced as a whole.
    return reuseStoredFile(blobPath(this.#tempDir, info.digest), info);
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    await this.#session.track(writeFileAtomic(manifestPath(this.#tempDir, instanceDigest), bytes));
  }

  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    for (const [i, sig] of signatures.entries()) {
      await this.#session.track(writeFileAtomic(signaturePath(this.#tempDir, i + 1, instanceDigest), sig));
    }
    // A second call with fewer signatures must not leave the old extra ones behind.
    for (let n = signatures.length + 1; await pathExists(signaturePath(this.#tempDir, n, instanceDigest)); n++) {
      await rm(signaturePath(this.#tempDir, n, instanceDigest), { force: true });
    }
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    await this.#session.settle();
    await this.#swapIntoPlace();
    this.#session.markCommitted();
  }

  /**
   * Puts the temp directory at PATH. Another writer may commit to the same PATH meanwhile: its
   * image then counts as the previous one and is replaced whole (the last commit wins).
   */
  async #swapIntoPlace(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const retry = attempt < MAX_SWAP_ATTEMPTS;
      if ((await targetState(this.#target, this.reference.toString())) === 'absent') {
        try {
          await rename(this.#tempDir, this.#target);
          return;
        } catch (e) {
          if (retry && isTaken(e)) continue;
          throw e;
        }
      }
      const aside = join(dirname(this.#target), tempName(`.${basename(this.#target)}.ferry-old-`));
      try {
        await rename(this.#target, aside);
      } catch (e) {
        if (retry && isNotFound(e)) continue;
        throw e;
      }
      try {
        await rename(this.#tempDir, this.#target);
      } catch (e) {
        // Put the previous image back, unless another writer's is there by now.
        await rename(aside, this.#target).catch(() => rm(aside, { recursive: true, force: true }));
        if (retry && isTaken(e)) continue;
        throw e;
      }
      await rm(aside, { recursive: true, force: true });
      return;
    }
  }

  async close(): Promise<void> {
    if (!(await this.#session.close())) return;
    await rm(this.#tempDir, { recursive: true, force: true });
    await this.#dirs.removeEmpty();
  }
}
