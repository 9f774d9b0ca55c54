/** Reading an image from a `dir:` directory (containers/image directory/directory_src.go). */
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { MAX_MANIFEST_SIZE } from '../../manifest/limits.js';
import { openFileStream, readFileLimited, requireImageDirectory } from '../shared/files.js';
import { readManifestFile } from '../shared/manifest-file.js';
import type { BlobInfo, BlobStream, DirOptions, ImageSource, RawManifest } from '../types.js';
import { blobPath, DIR_VERSION, manifestPath, readVersion, signaturePath, versionPath } from './layout.js';
import type { DirLocation } from './location.js';

export class DirImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;

  private constructor(readonly reference: DirLocation) {}

  static async open(ref: DirLocation, options: DirOptions): Promise<DirImageSource> {
    throwIfAborted(options.signal);
    await requireImageDirectory(ref.path, ref.toString());
    const version = await readVersion(ref.path);
    if (version !== 'match') {
      throw new FerryError(
        'INVALID_LAYOUT',
        `${ref.toString()}: ${versionPath(ref.path)} ${version === 'missing' ? 'does not exist' : 'is not'} ${JSON.stringify(DIR_VERSION)}: not a dir: image`,
        { details: { path: versionPath(ref.path) } },
      );
    }
    return new DirImageSource(ref);
  }

  async getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest> {
    throwIfAborted(signal);
    const path = manifestPath(this.reference.path, instanceDigest);
    const bytes = await readManifestFile(path, instanceDigest);
    if (bytes === undefined) {
      throw new FerryError('IMAGE_NOT_FOUND', `${this.reference.toString()}: ${path} does not exist`, {
        details: { path },
      });
    }
    const mimeType = guessMIMEType(bytes, `manifest ${path}`);
    // JSON that is no manifest (manifest.json may be a symlink to any file): never handed out, not even raw.
    if (mimeType === '') {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `manifest ${path} is JSON but not a manifest of a format Ferry knows`,
        {
          details: { path },
        },
      );
    }
    return { bytes, mimeType };
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    const path = blobPath(this.reference.path, info.digest);
    const blob = await openFileStream(path);
    if (blob === undefined) {
      throw new FerryError('BLOB_NOT_FOUND', `${this.reference.toString()}: blob ${info.digest} not found (${path})`, {
        details: { digest: info.digest, path },
      });
    }
    return blob;
  }

  async getSignatures(instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]> {
    const signatures: Buffer[] = [];
    for (let n = 1; ; n++) {
      throwIfAborted(signal);
      const path = signaturePath(this.reference.path, n, instanceDigest);
      const sig = await readFileLimited(path, MAX_MANIFEST_SIZE, `signature ${path}`);
      if (sig === undefined) return signatures;
      signatures.push(sig);
    }
  }

  async close(): Promise<void> {}
}
