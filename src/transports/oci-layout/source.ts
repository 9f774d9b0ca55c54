/** Reading an image from an OCI layout (containers/image oci/layout/oci_src.go). */
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { fetchExternalBlob } from '../shared/external-blob.js';
import { openFileStream, requireImageDirectory } from '../shared/files.js';
import { checkManifestDigest, readManifestFile } from '../shared/manifest-file.js';
import { noSignatures } from '../shared/defaults.js';
import type {
  BlobInfo,
  BlobStream,
  ImageSource,
  OciLayoutSourceOptions,
  RawManifest,
  ReferrersListing,
} from '../types.js';
import {
  checkLayoutFile,
  descriptorDigest,
  type IndexDescriptor,
  type IndexFile,
  LayoutPaths,
  readIndexFile,
  selectDescriptor,
} from './layout.js';
import type { OciLocation } from './location.js';
import { layoutReferrers, taggedEntry } from './referrers.js';

/** Opens the layout named by `ref` and reads its index.json (shared with deleteImage). */
export async function openLayout(
  ref: OciLocation,
  options: OciLayoutSourceOptions,
): Promise<{ paths: LayoutPaths; index: IndexFile }> {
  const paths = new LayoutPaths(ref.dir, options.sharedBlobDir);
  await requireImageDirectory(ref.dir, ref.toString());
  if ((await checkLayoutFile(paths)) === 'missing') {
    throw new FerryError(
      'INVALID_LAYOUT',
      `${ref.toString()}: ${paths.layoutFile} does not exist (not an oci layout)`,
      {
        details: { path: paths.layoutFile },
      },
    );
  }
  const index = await readIndexFile(paths);
  if (index === undefined) {
    throw new FerryError('INVALID_LAYOUT', `${ref.toString()}: ${paths.indexFile} does not exist`, {
      details: { path: paths.indexFile },
    });
  }
  return { paths, index };
}

export class OciImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;
  readonly #paths: LayoutPaths;
  readonly #index: IndexFile;
  readonly #descriptor: IndexDescriptor;
  readonly #digest: Digest;

  private constructor(
    readonly reference: OciLocation,
    paths: LayoutPaths,
    index: IndexFile,
    descriptor: IndexDescriptor,
  ) {
    this.#paths = paths;
    this.#index = index;
    this.#descriptor = descriptor;
    this.#digest = descriptorDigest(descriptor, paths.indexFile);
  }

  static async open(ref: OciLocation, options: OciLayoutSourceOptions): Promise<OciImageSource> {
    throwIfAborted(options.signal);
    const { paths, index } = await openLayout(ref, options);
    const { descriptor } = selectDescriptor(index, ref.image, ref.sourceIndex, ref.toString());
    return new OciImageSource(ref, paths, index, descriptor);
  }

  /** The index.json entry this source reads. */
  get descriptor(): Readonly<IndexDescriptor> {
    return this.#descriptor;
  }

  async getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest> {
    throwIfAborted(signal);
    const digest = instanceDigest ?? this.#digest;
    const path = this.#paths.blobPath(digest);
    const bytes = await readManifestFile(path);
    if (bytes === undefined) {
      throw new FerryError('IMAGE_NOT_FOUND', `${this.reference.toString()}: manifest ${digest} is missing (${path})`, {
        details: { digest, path },
      });
    }
    checkManifestDigest(bytes, digest, path);
    let mimeType: string | undefined;
    if (instanceDigest === undefined) {
      mimeType = this.#descriptor.mediaType;
      const size = this.#descriptor.size;
      if (size !== undefined && size >= 0 && size !== bytes.length) {
        throw new FerryError(
          'SIZE_MISMATCH',
          `manifest ${digest}: index.json says ${this.#descriptor.size} bytes, the blob has ${bytes.length}`,
          {
            details: { expected: this.#descriptor.size, actual: bytes.length },
          },
        );
      }
    } else {
      mimeType = this.#index.manifests.find((d) => d.digest === instanceDigest)?.mediaType;
    }
    return { bytes, mimeType: mimeType || guessMIMEType(bytes, `manifest ${path}`) };
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    const path = this.#paths.blobPath(info.digest);
    const local = await openFileStream(path);
    if (local !== undefined) return local;
    if (info.urls !== undefined && info.urls.length > 0) return fetchExternalBlob(info, signal);
    throw new FerryError('BLOB_NOT_FOUND', `${this.reference.toString()}: blob ${info.digest} not found (${path})`, {
      details: { digest: info.digest, path },
    });
  }

  /** The manifests of index.json whose `subject` is `digest` (oci-layout/referrers.ts). */
  async listReferrers(
    digest: Digest,
    options: { artifactType?: string; signal?: AbortSignal } = {},
  ): Promise<ReferrersListing> {
    throwIfAborted(options.signal);
    return layoutReferrers(this.#paths, this.#index, digest, options.artifactType);
  }

  /** The manifest index.json lists under the ref name `tag` (a cosign attachment), or undefined. */
  async getTaggedManifest(tag: string, signal?: AbortSignal): Promise<(RawManifest & { digest: Digest }) | undefined> {
    throwIfAborted(signal);
    const entry = taggedEntry(this.#index, tag);
    if (entry === undefined) return undefined;
    const digest = descriptorDigest(entry, this.#paths.indexFile);
    const raw = await this.getManifest(digest, signal);
    return { ...raw, digest };
  }

  /** No signatures are stored here (the shared default). */
  readonly getSignatures = noSignatures;

  async close(): Promise<void> {}
}
