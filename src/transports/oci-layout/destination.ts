/**
 * Writing an image into an OCI layout (containers/image oci/layout/oci_dest.go), with rollback:
 * blobs are renamed into `blobs/<alg>/<encoded>` as they complete, but index.json (written last,
 * atomically, at commit) is what makes the image visible; close() without commit deletes the blob
 * files this destination created, so the layout is left as it was.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { manifestDigest } from '../../manifest/digest.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { storeBlob } from '../shared/blob-store.js';
import { WriteSession } from '../shared/write-session.js';
import { CreatedDirs, fileSize, pathExists } from '../shared/files.js';
import { checkManifestDigest } from '../shared/manifest-file.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type ImageDestination,
  type ImageOptions,
  type PutBlobOptions,
} from '../types.js';
import {
  addDescriptor,
  checkLayoutFile,
  emptyIndex,
  type IndexDescriptor,
  LAYOUT_FILE_CONTENT,
  LayoutPaths,
  REF_NAME_ANNOTATION,
  readIndexFile,
  serializeIndex,
} from './layout.js';
import type { OciReference } from './reference.js';
import { referencedBlobs } from './references.js';

export class OciImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities;
  readonly #paths: LayoutPaths;
  readonly #dirs = new CreatedDirs();
  /** Blob files this destination created (removed again by close() without commit). */
  readonly #createdFiles = new Set<string>();
  readonly #session: WriteSession;
  #pending: IndexDescriptor | undefined;

  private constructor(
    readonly reference: OciReference,
    paths: LayoutPaths,
    options: ImageOptions,
  ) {
    this.#paths = paths;
    this.#session = new WriteSession(reference.toString());
    this.capabilities = destinationCapabilities({
      supportedManifestMIMETypes: [MediaType.OCI_MANIFEST, MediaType.OCI_INDEX],
      desiredLayerCompression: options.ociAcceptUncompressedLayers ? 'preserve' : 'compress',
      acceptsForeignLayerURLs: true,
      supportsMultipleImages: true,
      hasThreadSafePutBlob: true,
    });
  }

  static async open(ref: OciReference, options: ImageOptions): Promise<OciImageDestination> {
    throwIfAborted(options.signal);
    if (ref.sourceIndex !== undefined) {
      throw new FerryError('INVALID_REFERENCE', `${ref.toString()}: a destination reference must not contain a manifest index @${ref.sourceIndex}`);
    }
    const paths = new LayoutPaths(ref.dir, options.sharedBlobDir);
    // Fail early on a directory that is a broken or foreign-version layout.
    await checkLayoutFile(paths);
    await readIndexFile(paths);
    const dest = new OciImageDestination(ref, paths, options);
    await dest.#dirs.ensure(paths.blobRoot);
    return dest;
  }

  async putBlob(stream: Readable, info: { digest?: Digest; size: number; mediaType?: string }, options: PutBlobOptions): Promise<BlobInfo> {
    this.#session.assertOpen();
    const stored = await this.#session.track(
      storeBlob(stream, {
        tempDir: this.#paths.blobRoot,
        pathFor: (d) => this.#paths.blobPath(d),
        ensureDir: (dir) => this.#dirs.ensure(dir),
        expectedDigest: info.digest,
        expectedSize: info.size,
        callerVerifiesDigest: options.callerVerifiesDigest === true,
        signal: options.signal,
      }),
    );
    if (stored.created) this.#createdFiles.add(stored.path);
    return { digest: stored.digest, size: stored.size, ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }) };
  }

  async tryReusingBlob(info: BlobInfo, options: PutBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    const size = await fileSize(this.#paths.blobPath(info.digest));
    if (size === undefined || (info.size >= 0 && size !== info.size)) return undefined;
    return { ...info, size };
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    const mimeType = guessMIMEType(bytes);
    if (mimeType === MediaType.DOCKER_V2_SCHEMA1 || mimeType === MediaType.DOCKER_V2_SCHEMA1_SIGNED) {
      throw new FerryError('MANIFEST_REJECTED', `${this.reference.toString()}: an oci layout cannot store a Docker schema1 manifest`, {
        details: { mimeType },
      });
    }
    let digest: Digest;
    if (instanceDigest !== undefined) {
      checkManifestDigest(bytes, instanceDigest, `instance ${instanceDigest}`);
      digest = instanceDigest;
    } else {
      digest = manifestDigest(bytes);
    }
    const path = this.#paths.blobPath(digest);
    await this.#session.track(
      (async () => {
        await this.#dirs.ensure(dirname(path));
        const existed = await pathExists(path);
        await writeFileAtomic(path, bytes);
        if (!existed) this.#createdFiles.add(path);
      })(),
    );
    if (instanceDigest !== undefined) return;
    const desc: IndexDescriptor = { mediaType: mimeType, digest, size: bytes.length };
    if (this.reference.image !== undefined) desc.annotations = { [REF_NAME_ANNOTATION]: this.reference.image };
    this.#pending = desc;
  }

  async putSignatures(signatures: Buffer[], _instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    if (signatures.length > 0) {
      throw new FerryError('UNSUPPORTED_OPERATION', `${this.reference.toString()}: oci layouts cannot store signatures`);
    }
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    await this.#session.settle();
    await this.#dirs.ensure(this.#paths.localBlobRoot);
    if ((await checkLayoutFile(this.#paths)) === 'missing') {
      await writeFileAtomic(this.#paths.layoutFile, LAYOUT_FILE_CONTENT);
    }
    // Re-read index.json now, so that images committed by others since open() are kept.
    let index = (await readIndexFile(this.#paths)) ?? emptyIndex();
    if (this.#pending !== undefined) index = addDescriptor(index, this.#pending);
    throwIfAborted(signal);
    await writeFileAtomic(this.#paths.indexFile, serializeIndex(index));
    this.#session.markCommitted();
  }

  async close(): Promise<void> {
    if (!(await this.#session.close())) return;
    // Another writer may have committed an image using a blob we also wrote: keep what the
    // layout's index.json references now.
    let keep = new Set<string>();
    try {
      const index = await readIndexFile(this.#paths);
      if (index !== undefined) keep = new Set([...(await referencedBlobs(this.#paths, index))].map((d) => this.#paths.blobPath(d)));
    } catch {
      // An unreadable index.json references nothing we could know about.
    }
    for (const file of this.#createdFiles) if (!keep.has(file)) await rm(file, { force: true });
    this.#createdFiles.clear();
    await this.#dirs.removeEmpty();
  }

}
