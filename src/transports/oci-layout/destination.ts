/**
 * Writing an image into an OCI layout (containers/image oci/layout/oci_dest.go): blobs are renamed
 * into `blobs/<alg>/<encoded>` as they complete, but index.json (written last, atomically, at commit)
 * is what makes the image visible. close() without commit leaves the blobs in place, as upstream
 * does: a layout is shared, and a blob in place may already be referenced by another writer's
 * index.json (only an explicit delete collects garbage). Only temp files are removed. Commit
 * rewrites index.json under its lock, after checking that every blob of the image is still there.
 */
import { mkdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { manifestDigest } from '../../manifest/digest.js';
import { guessMIMEType } from '../../manifest/guess.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { atomicTempPrefix, writeFileAtomic } from '../../util/atomic.js';
import { withFileLock } from '../../util/lock.js';
import { removeStaleTemps } from '../../util/temp.js';
import { BLOB_TEMP_PREFIX, storeBlob } from '../shared/blob-store.js';
import { WriteSession } from '../shared/write-session.js';
import { putStoredFile, reuseStoredFile, refuseSignatures } from '../shared/defaults.js';
import { fileSize } from '../shared/files.js';
import { checkManifestDigest } from '../shared/manifest-file.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type ImageDestination,
  type OciLayoutDestinationOptions,
  type PutBlobOptions,
  type TryReusingBlobOptions,
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
import type { OciLocation } from './location.js';
import { attachedEntry } from './referrers.js';

export class OciImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities;
  readonly #paths: LayoutPaths;
  readonly #session: WriteSession;
  /** Every blob (and manifest) the image being written uses: stored or found here. */
  readonly #used = new Set<Digest>();
  #pending: IndexDescriptor | undefined;
  /** Referrers and cosign attachments written with the image (withReferrers), listed in index.json at commit. */
  readonly #attached: IndexDescriptor[] = [];

  private constructor(
    readonly reference: OciLocation,
    paths: LayoutPaths,
    options: OciLayoutDestinationOptions,
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

  static async open(ref: OciLocation, options: OciLayoutDestinationOptions): Promise<OciImageDestination> {
    throwIfAborted(options.signal);
    if (ref.sourceIndex !== undefined) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `${ref.toString()}: a destination reference must not contain a manifest index @${ref.sourceIndex}`,
      );
    }
    const paths = new LayoutPaths(ref.dir, options.sharedBlobDir);
    // Fail early on a directory that is a broken or foreign-version layout.
    await checkLayoutFile(paths);
    await readIndexFile(paths);
    await ensureDir(paths.blobRoot);
    // Temp files a killed run left (a stopped one removes its own).
    await removeStaleTemps(paths.blobRoot, [BLOB_TEMP_PREFIX]);
    await removeStaleTemps(paths.dir, [atomicTempPrefix(paths.indexFile), atomicTempPrefix(paths.layoutFile)]);
    return new OciImageDestination(ref, paths, options);
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    this.#session.assertOpen();
    const stored = await this.#session.track(
      putStoredFile(stream, info, options, {
        tempDir: this.#paths.blobRoot,
        pathFor: (d) => this.#paths.blobPath(d),
        ensureDir,
      }),
    );
    this.#used.add(stored.digest);
    return stored;
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    const found = await reuseStoredFile(this.#paths.blobPath(info.digest), info);
    if (found !== undefined) this.#used.add(info.digest);
    return found;
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    const mimeType = guessMIMEType(bytes);
    if (mimeType === MediaType.DOCKER_V2_SCHEMA1 || mimeType === MediaType.DOCKER_V2_SCHEMA1_SIGNED) {
      throw new FerryError(
        'MANIFEST_REJECTED',
        `${this.reference.toString()}: an oci layout cannot store a Docker schema1 manifest`,
        {
          details: { mimeType },
        },
      );
    }
    let digest: Digest;
    if (instanceDigest !== undefined) {
      checkManifestDigest(bytes, instanceDigest, `instance ${instanceDigest}`);
      digest = instanceDigest;
    } else {
      digest = manifestDigest(bytes);
    }
    // Through the blob store, so that its temp file is one a stale-temp cleanup recognises.
    await this.#session.track(
      storeBlob(Readable.from([bytes]), {
        tempDir: this.#paths.blobRoot,
        pathFor: (d) => this.#paths.blobPath(d),
        ensureDir,
        expectedDigest: digest,
        expectedSize: bytes.length,
        ...(signal === undefined ? {} : { signal }),
      }),
    );
    this.#used.add(digest);
    if (instanceDigest !== undefined) return;
    const desc: IndexDescriptor = { mediaType: mimeType, digest, size: bytes.length };
    if (this.reference.image !== undefined) desc.annotations = { [REF_NAME_ANNOTATION]: this.reference.image };
    this.#pending = desc;
  }

  /** A referrer: its blob now, an untagged index.json entry at commit (oci-layout/referrers.ts). */
  async putReferrerManifest(bytes: Buffer, digest: Digest, signal?: AbortSignal): Promise<void> {
    const mimeType = await this.#storeAttached(bytes, digest, signal);
    this.#attached.push(attachedEntry(bytes, mimeType, digest));
  }

  /** A cosign attachment: its blob now, an index.json entry named `tag` (`<alg>-<hex>.sig`, a valid ref name) at commit. */
  async putTaggedManifest(bytes: Buffer, tag: string, signal?: AbortSignal): Promise<void> {
    const digest = manifestDigest(bytes);
    const mimeType = await this.#storeAttached(bytes, digest, signal);
    this.#attached.push(attachedEntry(bytes, mimeType, digest, tag));
  }

  async #storeAttached(bytes: Buffer, digest: Digest, signal?: AbortSignal): Promise<string> {
    const mimeType = guessMIMEType(bytes);
    if (mimeType !== MediaType.OCI_MANIFEST && mimeType !== MediaType.OCI_INDEX) {
      throw new FerryError(
        'MANIFEST_REJECTED',
        `${this.reference.toString()}: attached manifest ${digest} is ${JSON.stringify(mimeType)}; an oci layout lists only OCI manifests and indexes`,
        { details: { mimeType } },
      );
    }
    await this.putManifest(bytes, digest, signal);
    return mimeType;
  }

  async putSignatures(signatures: Buffer[], _instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    refuseSignatures(this.reference.toString(), signatures, 'oci layouts cannot store signatures');
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    await this.#session.settle();
    await ensureDir(this.#paths.localBlobRoot);
    if ((await checkLayoutFile(this.#paths)) === 'missing') {
      await writeFileAtomic(this.#paths.layoutFile, LAYOUT_FILE_CONTENT);
    }
    await withFileLock(
      this.#paths.indexFile,
      async () => {
        // A blob found here earlier may have gone since (another process deleted an image).
        for (const d of this.#used) {
          if ((await fileSize(this.#paths.blobPath(d))) === undefined) {
            throw new FerryError(
              'BLOB_NOT_FOUND',
              `${this.reference.toString()}: blob ${d} left the layout before commit (deleted by another process?)`,
            );
          }
        }
        // Re-read index.json now, so that images committed by others since open() are kept.
        let index = (await readIndexFile(this.#paths)) ?? emptyIndex();
        if (this.#pending !== undefined) index = addDescriptor(index, this.#pending);
        for (const entry of this.#attached) {
          // An untagged referrer already listed (tagged or not) is not listed twice.
          const listed = entry.annotations === undefined && index.manifests.some((d) => d.digest === entry.digest);
          if (!listed) index = addDescriptor(index, entry);
        }
        throwIfAborted(signal);
        await writeFileAtomic(this.#paths.indexFile, serializeIndex(index));
      },
      signal,
    );
    this.#session.markCommitted();
  }

  /** Waits for the writes in flight (each removes its own temp file when it fails); deletes no blob. */
  async close(): Promise<void> {
    await this.#session.close();
  }
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
}
