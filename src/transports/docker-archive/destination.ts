/**
 * Writing a docker archive (`docker save` format, loadable by `docker load`, podman and skopeo).
 * A tar needs each member's size before its data, so layers are spooled to a private temp dir as they
 * arrive (through the shared blob store, hashed at most once), the config is kept in memory, and the archive is assembled at commit into a temp file beside PATH, then renamed over it.
 */
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { MediaType } from '../../manifest/mediatypes.js';
import type { DockerReference } from '../../reference/reference.js';
import { checkArchiveTarget, writeTarFile } from '../tar/pack.js';
import { spoolBlob } from '../shared/blob-store.js';
import { readConfigBlob } from '../shared/config-blob.js';
import {
  ArchiveContents,
  configFileName,
  layerFileName,
  MEMBER_MODE,
  repoTagsFor,
  writeArchiveMetadata,
} from '../shared/docker-archive/writer.js';
import { makePrivateTempDir } from '../shared/temp-dir.js';
import { WriteSession } from '../shared/write-session.js';
import {
  type BlobInfo,
  type DestinationCapabilities,
  destinationCapabilities,
  type DockerArchiveDestinationOptions,
  type ImageDestination,
  type PutBlobOptions,
  type TryReusingBlobOptions,
} from '../types.js';
import type { DockerArchiveLocation } from './location.js';

const NO_LISTS = 'docker archives cannot hold manifest lists';

interface SpooledBlob {
  path: string;
  size: number;
}

export class DockerArchiveDestination implements ImageDestination {
  readonly reference: DockerArchiveLocation;
  readonly capabilities: DestinationCapabilities = destinationCapabilities({
    supportedManifestMIMETypes: [MediaType.DOCKER_V2_SCHEMA2],
    desiredLayerCompression: 'decompress',
    supportedCompressionAlgorithms: [],
    acceptsForeignLayerURLs: false,
    supportsMultipleImages: false,
    supportsSignatures: false,
    hasThreadSafePutBlob: false,
  });
  readonly #spoolDir: string;
  readonly #repoTags: DockerReference[];
  /** Spool files by digest. */
  readonly #blobs = new Map<Digest, SpooledBlob>();
  readonly #contents: ArchiveContents;
  readonly #session: WriteSession;

  private constructor(reference: DockerArchiveLocation, spoolDir: string, repoTags: DockerReference[]) {
    this.reference = reference;
    this.#spoolDir = spoolDir;
    this.#repoTags = repoTags;
    this.#session = new WriteSession(reference.toString());
    this.#contents = new ArchiveContents(reference.toString());
  }

  static async open(
    reference: DockerArchiveLocation,
    options: DockerArchiveDestinationOptions = {},
  ): Promise<DockerArchiveDestination> {
    if (reference.sourceIndex !== undefined) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid destination ${reference.toString()}: a destination reference must not contain a manifest index @${reference.sourceIndex}`,
      );
    }
    const repoTags = repoTagsFor(reference.ref, options.additionalTags ?? []);
    await checkArchiveTarget(reference.path);
    const spoolDir = await makePrivateTempDir(options.tmpDir, 'docker-archive');
    return new DockerArchiveDestination(reference, spoolDir, repoTags);
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    this.#session.assertOpen();
    if (options.isConfig) return this.#session.track(this.#putConfig(stream, info, options));
    // One pass at most: none when the caller verifies, else digest what arrives (after the copy engine decompressed a layer, that is its diffID).
    // Spool files only feed the archive, which is written (and synced) at commit.
    const { digest, size, path } = await this.#session.track(spoolBlob(stream, this.#spoolDir, info, options));
    if (!this.#blobs.has(digest)) {
      this.#blobs.set(digest, { path, size });
      this.#contents.addBlob(digest, size);
    }
    return { digest, size };
  }

  /** The config stays in memory (the legacy entries are derived from it at putManifest); it is no spool file. */
  async #putConfig(
    stream: Readable,
    info: { digest?: Digest; size: number },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    const { digest, bytes } = await readConfigBlob(stream, info, `image config for ${this.reference.toString()}`);
    throwIfAborted(options.signal);
    if (this.#contents.config(digest) === undefined) this.#contents.addConfig(digest, bytes);
    return { digest, size: bytes.length };
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    return this.#contents.reusable(info, options.isConfig);
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    this.#contents.putManifest(bytes, instanceDigest, NO_LISTS);
  }

  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, _signal?: AbortSignal): Promise<void> {
    this.#contents.putSignatures(signatures, instanceDigest, NO_LISTS, 'docker archives cannot store signatures');
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    await this.#session.settle();
    const image = this.#contents.image();
    await writeTarFile(
      this.reference.path,
      async (tar) => {
        const written = new Set<Digest>();
        for (const d of image.layerDigests) {
          if (written.has(d)) continue;
          written.add(d);
          const blob = this.#blobs.get(d);
          // A layer whose digest is the config's came only as the config: it is held in memory.
          if (blob === undefined) await tar.addBytes(layerFileName(d), this.#contents.config(d) as Buffer, MEMBER_MODE);
          else await tar.addFile(layerFileName(d), blob.path, blob.size, MEMBER_MODE);
        }
        await tar.addBytes(
          configFileName(image.configDigest),
          this.#contents.config(image.configDigest) as Buffer,
          MEMBER_MODE,
        );
        await writeArchiveMetadata(tar, image, this.#repoTags);
      },
      signal,
    );
    this.#session.markCommitted();
  }

  /** Waits for writes in flight, then removes the spool dir (committed or not: the archive holds the image). */
  async close(): Promise<void> {
    await this.#session.close();
    await rm(this.#spoolDir, { recursive: true, force: true });
  }
}
