/**
 * Writing a docker archive (`docker save` format, loadable by `docker load`, podman and skopeo).
 * A tar needs each member's size before its data, so blobs are spooled to a private temp dir as they
 * arrive (through the shared blob store, hashed at most once), and the archive is assembled at commit into a temp file beside PATH, then renamed over it.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { type Digest, digestHex } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { goMarshal, isJSONObject } from '../../manifest/json.js';
import { MAX_CONFIG_SIZE } from '../../manifest/limits.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { Schema2Manifest } from '../../manifest/schema2.js';
import { type DockerReference, parseDockerReference } from '../../reference/reference.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../util/json-text.js';
import { checkArchiveTarget, writeTarFile } from '../tar/pack.js';
import { storeBlob } from '../shared/blob-store.js';
import { refuseInstance, refuseSignatures } from '../shared/defaults.js';
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
import {
  LEGACY_CONFIG_FILE,
  LEGACY_LAYER_FILE,
  LEGACY_VERSION,
  LEGACY_VERSION_FILE,
  type LegacyLayer,
  legacyLayers,
} from './legacy.js';
import { type ManifestItem, MANIFEST_FILE, REPOSITORIES_FILE } from './reader.js';
import type { DockerArchiveLocation } from './location.js';

const NO_LISTS = 'docker archives cannot hold manifest lists';

/** Archive members are read-only, as docker and containers/image write them. */
const MEMBER_MODE = 0o444;

interface SpooledBlob {
  path: string;
  size: number;
}

interface PendingImage {
  configDigest: Digest;
  layerDigests: Digest[];
  legacy: LegacyLayer[];
}

function layerFileName(digest: Digest): string {
  return `${digestHex(digest)}.tar`;
}

function configFileName(digest: Digest): string {
  return `${digestHex(digest)}.json`;
}

/** The `name:tag` references to record: the reference's own, then `additionalTags`, without repeats. */
function repoTagsFor(ref: DockerReference | undefined, additionalTags: readonly string[]): DockerReference[] {
  const tags: DockerReference[] = ref === undefined ? [] : [ref];
  for (const text of additionalTags) {
    let parsed: DockerReference;
    try {
      parsed = parseDockerReference(text).withDefaultTag();
    } catch (e) {
      throw new FerryError('INVALID_REFERENCE', `invalid additional tag "${text}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (parsed.digest !== undefined) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid additional tag "${text}": digest references are not supported`,
      );
    }
    if (!tags.some((t) => t.equals(parsed))) tags.push(parsed);
  }
  return tags;
}

function byNameThenTag(a: DockerReference, b: DockerReference): number {
  const key = (r: DockerReference) => [r.familiarName, r.tag ?? ''];
  const [an, at] = key(a);
  const [bn, bt] = key(b);
  return an < bn ? -1 : an > bn ? 1 : at < bt ? -1 : at > bt ? 1 : 0;
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
  readonly #blobs = new Map<Digest, SpooledBlob>();
  readonly #configs = new Map<Digest, Buffer>();
  #image: PendingImage | undefined;
  readonly #session: WriteSession;

  private constructor(reference: DockerArchiveLocation, spoolDir: string, repoTags: DockerReference[]) {
    this.reference = reference;
    this.#spoolDir = spoolDir;
    this.#repoTags = repoTags;
    this.#session = new WriteSession(reference.toString());
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
    // One pass at most: none when the caller verifies, else digest what arrives (after the copy engine decompressed a layer, that is its diffID).
    const { digest, size, path } = await this.#session.track(
      storeBlob(stream, {
        tempDir: this.#spoolDir,
        pathFor: (d) => join(this.#spoolDir, d.replace(':', '-')),
        expectedDigest: info.digest,
        expectedSize: info.size,
        callerVerifiesDigest: options.callerVerifiesDigest === true,
        // Spool files only feed the archive, which is written (and synced) at commit.
        durable: false,
        signal: options.signal,
      }),
    );
    if (!this.#blobs.has(digest)) this.#blobs.set(digest, { path, size });
    if (options.isConfig && !this.#configs.has(digest)) {
      if (size > MAX_CONFIG_SIZE) {
        throw new FerryError('TOO_LARGE', `image config ${digest} is larger than the ${MAX_CONFIG_SIZE}-byte limit`);
      }
      this.#configs.set(digest, await readFile((this.#blobs.get(digest) as SpooledBlob).path));
    }
    return { digest, size };
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    const blob = this.#blobs.get(info.digest);
    if (blob === undefined || (options.isConfig && !this.#configs.has(info.digest))) return undefined;
    return { digest: info.digest, size: blob.size };
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    refuseInstance(this.reference.toString(), instanceDigest, NO_LISTS);
    const json = parseJSONText(bytes.toString('utf8'));
    if (!json.ok) {
      const why = describeJSONSyntaxProblem(json.problem);
      throw new FerryError('INVALID_MANIFEST', `${this.reference.toString()}: the manifest is ${why}`);
    }
    const parsed = json.value;
    if (!isJSONObject(parsed) || parsed.schemaVersion !== 2 || parsed.mediaType !== MediaType.DOCKER_V2_SCHEMA2) {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `${this.reference.toString()}: unsupported manifest type, docker archives need a Docker schema 2 manifest`,
        { details: { supported: [MediaType.DOCKER_V2_SCHEMA2] } },
      );
    }
    const manifest = new Schema2Manifest(bytes);
    const configDigest = manifest.config.digest;
    const config = this.#configs.get(configDigest);
    if (config === undefined) {
      throw new FerryError(
        'BLOB_NOT_FOUND',
        `${this.reference.toString()}: config ${configDigest} was not stored before the manifest`,
      );
    }
    const layerDigests = manifest.layers.map((l) => l.digest);
    for (const d of layerDigests) {
      if (!this.#blobs.has(d)) {
        throw new FerryError(
          'BLOB_NOT_FOUND',
          `${this.reference.toString()}: layer ${d} was not stored before the manifest`,
        );
      }
    }
    this.#image = { configDigest, layerDigests, legacy: legacyLayers(layerDigests, config) };
  }

  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, _signal?: AbortSignal): Promise<void> {
    refuseInstance(this.reference.toString(), instanceDigest, NO_LISTS);
    refuseSignatures(this.reference.toString(), signatures, 'docker archives cannot store signatures');
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    await this.#session.settle();
    const image = this.#image;
    if (image === undefined) {
      throw new FerryError('INVALID_ARGUMENT', `${this.reference.toString()}: commit called before putManifest`);
    }
    const item: ManifestItem = {
      config: configFileName(image.configDigest),
      repoTags: this.#repoTags.map((t) => `${t.familiarName}:${t.tag}`),
      layers: image.layerDigests.map(layerFileName),
    };
    // Null prototypes: an image named `constructor` must not reach Object (and add a member to it).
    const repositories: Record<string, Record<string, string>> = Object.create(null);
    const top = image.legacy.at(-1);
    // Go marshals maps with sorted keys.
    for (const t of top === undefined ? [] : [...this.#repoTags].sort(byNameThenTag)) {
      const tags: Record<string, string> = repositories[t.familiarName] ?? Object.create(null);
      tags[t.tag as string] = (top as LegacyLayer).id;
      repositories[t.familiarName] = tags;
    }
    await writeTarFile(
      this.reference.path,
      async (tar) => {
        const written = new Set<Digest>();
        for (const d of image.layerDigests) {
          if (written.has(d)) continue;
          written.add(d);
          const blob = this.#blobs.get(d) as SpooledBlob;
          await tar.addFile(layerFileName(d), blob.path, blob.size, MEMBER_MODE);
        }
        await tar.addBytes(
          configFileName(image.configDigest),
          this.#configs.get(image.configDigest) as Buffer,
          MEMBER_MODE,
        );
        const legacyWritten = new Set<string>();
        for (const l of image.legacy) {
          if (legacyWritten.has(l.id)) continue;
          legacyWritten.add(l.id);
          await tar.addSymlink(`${l.id}/${LEGACY_LAYER_FILE}`, `../${layerFileName(l.layerDigest)}`);
          await tar.addBytes(`${l.id}/${LEGACY_VERSION_FILE}`, Buffer.from(LEGACY_VERSION), MEMBER_MODE);
          await tar.addBytes(`${l.id}/${LEGACY_CONFIG_FILE}`, l.json, MEMBER_MODE);
        }
        await tar.addBytes(
          MANIFEST_FILE,
          goMarshal([{ Config: item.config, RepoTags: item.repoTags, Layers: item.layers }]),
          MEMBER_MODE,
        );
        await tar.addBytes(REPOSITORIES_FILE, goMarshal(repositories), MEMBER_MODE);
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
