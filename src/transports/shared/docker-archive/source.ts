/**
 * Reading one image of a docker archive (a `docker save` file, or what a Docker daemon's image export
 * sends), as containers/image's docker/internal/tarfile Source. The archive stores no registry
 * manifest, so one is synthesised: Docker schema 2 with the config file's digest and, for each layer,
 * its diffID as digest (layers are served uncompressed, so the blob's digest is its diffID), labelled gzip as
 * containers/image labels them.
 */
import { Readable, pipeline } from 'node:stream';
import { type Digest, digestAlgorithm, digestOf, parseDigest } from '../../../digest/digest.js';
import { DigestVerifier, digestStream } from '../../../digest/verify.js';
import { FerryError, throwIfAborted } from '../../../errors.js';
import { quoteInput } from '../../../util/quote.js';
import { field, goMarshal, isJSONObject } from '../../../manifest/json.js';
import { MAX_CONFIG_SIZE } from '../../../manifest/limits.js';
import { MediaType } from '../../../manifest/mediatypes.js';
import type { DockerReference } from '../../../reference/reference.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../../util/json-text.js';
import { safeEntryName } from '../../tar/paths.js';
import type { TarEntry } from '../../tar/tar-index.js';
import { noSignatures } from '../defaults.js';
import type { BlobInfo, BlobStream, ImageReference, ImageSource, RawManifest } from '../../types.js';
import type { DockerArchiveReader, ManifestItem } from './reader.js';

interface LayerData {
  entry: TarEntry;
  /** Uncompressed size. */
  size: number;
}

/** Which image of the archive: by tag, by position, or (neither) the only one. */
export interface ArchiveImageChoice {
  ref?: DockerReference | undefined;
  sourceIndex?: number | undefined;
}

export class DockerArchiveImageSource implements ImageSource {
  readonly reference: ImageReference;
  readonly hasThreadSafeGetBlob = true;
  readonly #reader: DockerArchiveReader;
  readonly #config: Buffer;
  readonly #configDigest: Digest;
  readonly #layers: ReadonlyMap<Digest, LayerData>;
  readonly #manifest: Buffer;

  private constructor(
    reference: ImageReference,
    reader: DockerArchiveReader,
    config: Buffer,
    layers: Map<Digest, LayerData>,
    manifest: Buffer,
  ) {
    this.reference = reference;
    this.#reader = reader;
    this.#config = config;
    this.#configDigest = digestOf(config);
    this.#layers = layers;
    this.#manifest = manifest;
  }

  /** The image `choice` names in `reader`, which the source then owns (close() closes it, as does a failure here). */
  static async open(
    reference: ImageReference,
    reader: DockerArchiveReader,
    choice: ArchiveImageChoice,
    signal?: AbortSignal,
  ): Promise<DockerArchiveImageSource> {
    try {
      const item = reader.chooseItem(choice.ref, choice.sourceIndex);
      const config = await reader.readMember(item.config, MAX_CONFIG_SIZE, signal);
      const diffIDs = diffIDsOf(config, reader.path, item.config);
      const layers = await layerData(reader, item, diffIDs, signal);
      const manifest = synthesiseManifest(config, diffIDs, layers);
      return new DockerArchiveImageSource(reference, reader, config, layers, manifest);
    } catch (e) {
      await reader.close();
      throw e;
    }
  }

  async getManifest(instanceDigest?: Digest, _signal?: AbortSignal): Promise<RawManifest> {
    if (instanceDigest !== undefined && instanceDigest !== digestOf(this.#manifest)) {
      throw new FerryError(
        'IMAGE_NOT_FOUND',
        `${this.reference.toString()} holds a single image, not a manifest list: no instance ${instanceDigest}`,
      );
    }
    return { bytes: this.#manifest, mimeType: MediaType.DOCKER_V2_SCHEMA2 };
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    if (info.digest === this.#configDigest) {
      return { stream: Readable.from([this.#config]), size: this.#config.length };
    }
    const layer = this.#layers.get(info.digest);
    if (layer === undefined) {
      throw new FerryError('BLOB_NOT_FOUND', `blob ${info.digest} not found in ${this.reference.toString()}`, {
        details: { digest: info.digest },
      });
    }
    // Layers stored compressed (some writers do) are served decompressed: the manifest names them by diffID.
    const data = await this.#reader.index.openDecompressed(layer.entry, signal);
    const verifier = new DigestVerifier(info.digest, layer.size);
    return { stream: pipeline(data, verifier, () => {}), size: layer.size };
  }

  /** No signatures are stored here (the shared default). */
  readonly getSignatures = noSignatures;

  async close(): Promise<void> {
    await this.#reader.close();
  }
}

function diffIDsOf(config: Buffer, path: string, name: string): Digest[] {
  const invalid = (why: string, cause?: unknown) =>
    new FerryError('INVALID_ARCHIVE', `invalid docker archive "${path}": config ${quoteInput(name)} ${why}`, { cause });
  const json = parseJSONText(config.toString('utf8'));
  if (!json.ok) throw invalid(`is ${describeJSONSyntaxProblem(json.problem)}`);
  const parsed = json.value;
  if (!isJSONObject(parsed)) throw invalid('is not a JSON object');
  const rootfs = field(parsed, 'rootfs');
  if (!isJSONObject(rootfs)) throw invalid('has no rootfs');
  const ids = field(rootfs, 'diff_ids') ?? [];
  if (!Array.isArray(ids)) throw invalid('has a rootfs.diff_ids that is not a list');
  return ids.map((id: unknown) => {
    try {
      return parseDigest(String(id));
    } catch (e) {
      throw invalid(`has an invalid diff_id ${quoteInput(String(id))}`, e);
    }
  });
}

/**
 * Uncompressed size of a layer member: its stored size, or for a compressed member the byte count of
 * one streamed decompression, which must also match the layer's diffID (a bomb that is not the layer
 * the config names stops here, not after a copy).
 */
async function uncompressedSize(
  reader: DockerArchiveReader,
  entry: TarEntry,
  diffID: Digest,
  signal?: AbortSignal,
): Promise<number> {
  if ((await reader.index.compressionOf(entry)) === 'none') return entry.size;
  const { digest, size } = await digestStream(
    await reader.index.openDecompressed(entry, signal),
    digestAlgorithm(diffID),
    signal,
  );
  if (digest !== diffID) {
    throw new FerryError(
      'DIGEST_MISMATCH',
      `invalid docker archive "${reader.path}": layer member ${quoteInput(entry.name)} decompresses to ${digest}, not its diffID ${diffID}`,
      { details: { path: reader.path, expected: diffID, actual: digest } },
    );
  }
  return size;
}

async function layerData(
  reader: DockerArchiveReader,
  item: ManifestItem,
  diffIDs: Digest[],
  signal?: AbortSignal,
): Promise<Map<Digest, LayerData>> {
  if (item.layers.length !== diffIDs.length) {
    throw new FerryError(
      'INVALID_ARCHIVE',
      `invalid docker archive "${reader.path}": inconsistent layer count: ${item.layers.length} in manifest.json, ${diffIDs.length} in the config's rootfs.diff_ids`,
    );
  }
  const layers = new Map<Digest, LayerData>();
  const pathOwner = new Map<string, Digest>();
  for (const [i, diffID] of diffIDs.entries()) {
    // The same layer may appear twice in one image (docker save then stores a link); read it once.
    if (layers.has(diffID)) continue;
    const name = safeEntryName(item.layers[i] as string, reader.path);
    const owner = pathOwner.get(name);
    if (owner !== undefined) {
      throw new FerryError(
        'INVALID_ARCHIVE',
        `invalid docker archive "${reader.path}": layer file ${quoteInput(name)} is used for two different diffIDs (${owner}, ${diffID})`,
      );
    }
    pathOwner.set(name, diffID);
    const entry = reader.member(name);
    layers.set(diffID, { entry, size: await uncompressedSize(reader, entry, diffID, signal) });
  }
  return layers;
}

function synthesiseManifest(config: Buffer, diffIDs: Digest[], layers: ReadonlyMap<Digest, LayerData>): Buffer {
  // Field order as containers/image writes a schema2 manifest.
  return goMarshal({
    schemaVersion: 2,
    mediaType: MediaType.DOCKER_V2_SCHEMA2,
    config: { mediaType: MediaType.DOCKER_V2_CONFIG, size: config.length, digest: digestOf(config) },
    // Labelled gzip although the layers are served uncompressed: containers/image does so (its
    // synthesised manifest uses the schema2 layer type), and the manifest digest, which `inspect`
    // prints and signatures name, must equal skopeo's for the same archive. The copy engine detects
    // a layer's real compression from its bytes, not from this label.
    layers: diffIDs.map((diffID) => ({
      mediaType: MediaType.DOCKER_LAYER_GZIP,
      size: (layers.get(diffID) as LayerData).size,
      digest: diffID,
    })),
  });
}
