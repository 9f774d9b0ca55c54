/**
 * Reading an image from a containers/storage store (containers/image storage/storage_src.go, 5.23).
 * The image is found by ID, ID prefix or name (for `name@digest`, an image of that repository with
 * that manifest digest); the manifest is the `manifest-DIGEST` big data item (else `manifest`); the
 * config and other non-layer blobs are big data under their digest; a layer is rebuilt from its
 * tar-split data and files, byte for byte the tar it was stored from, and served by its diffID.
 *
 * containers/storage keeps layers uncompressed: a layer stored from a compressed blob can only be
 * served under its diffID. layerInfosForCopy says so (as storage_src.go LayerInfosForCopy: every
 * non-empty layer by diffID, uncompressed size and the manifest format's uncompressed media type;
 * empty schema1 layers as the well-known gzipped empty tar), and the copy engine rewrites the
 * manifest to it; asking for a layer by its compressed digest is refused with NOT_IMPLEMENTED.
 */
import { quoteInput } from '../../util/quote.js';
import { Readable } from 'node:stream';
import { type Digest, isDigest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { guessMIMEType } from '../../manifest/guess.js';
import {
  GZIPPED_EMPTY_LAYER,
  GZIPPED_EMPTY_LAYER_DIGEST,
  isDockerManifestMIMEType,
  MediaType,
  parseManifest,
} from '../../manifest/index.js';
import { checkManifestDigest } from '../shared/manifest-file.js';
import type { BlobInfo, BlobStream, CallOptions, ImageSource, RawManifest } from '../types.js';
import { assembleLayer } from './layer.js';
import type { StorageLocation } from './location.js';
import { resolveStorageImage } from './resolve.js';
import { type ImageRecord, INCOMPLETE_FLAG, type LayerRecord, manifestKey, Store, signatureKey } from './store.js';

export class StorageImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;
  readonly #store: Store;
  readonly #image: ImageRecord;
  /** The image's layers, top layer last. */
  readonly #layers: LayerRecord[];

  private constructor(
    readonly reference: StorageLocation,
    store: Store,
    image: ImageRecord,
    layers: LayerRecord[],
  ) {
    this.#store = store;
    this.#image = image;
    this.#layers = layers;
  }

  static async open(ref: StorageLocation, options: CallOptions): Promise<StorageImageSource> {
    throwIfAborted(options.signal);
    const what = ref.toString();
    const store = await Store.resolve(ref.store, what);
    const locks = await store.lock({ layers: 'read', images: 'read' }, options.signal);
    let image: ImageRecord;
    let all: LayerRecord[];
    try {
      image = resolveStorageImage(await store.readImages(), ref, what);
      all = await store.readLayers();
    } finally {
      await locks.release();
    }
    const chain: LayerRecord[] = [];
    for (let id = image.layer; id !== undefined && id !== ''; ) {
      const layer = all.find((l) => l.id === id);
      if (layer === undefined || layer.flags?.[INCOMPLETE_FLAG] === true) {
        throw new FerryError(
          'INVALID_LAYOUT',
          `${what}: image ${image.id} names layer ${id}, which the store does not hold (complete)`,
          {
            details: { image: image.id, layer: id },
          },
        );
      }
      if (chain.some((l) => l.id === layer.id))
        throw new FerryError('INVALID_LAYOUT', `${what}: layer ${id} is its own ancestor`);
      chain.unshift(layer);
      id = layer.parent;
    }
    return new StorageImageSource(ref, store, image, chain);
  }

  /** The image record this source reads (its ID, names, digests). */
  get image(): ImageRecord {
    return this.#image;
  }

  async #bigData(key: string): Promise<Buffer | undefined> {
    if (!(this.#image['big-data-names'] ?? []).includes(key)) return undefined;
    return this.#store.readBigData(this.#image.id, key, `${this.reference.toString()}: ${key}`);
  }

  async getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest> {
    throwIfAborted(signal);
    const what = this.reference.toString();
    const wanted = instanceDigest ?? this.reference.named?.digest;
    let bytes: Buffer | undefined;
    if (wanted !== undefined) {
      bytes = await this.#bigData(manifestKey(wanted));
      if (bytes !== undefined) checkManifestDigest(bytes, wanted, `${what}: manifest ${wanted}`);
    } else {
      if (this.#image.digest !== undefined) bytes = await this.#bigData(manifestKey(this.#image.digest));
      bytes ??= await this.#bigData('manifest');
    }
    if (bytes === undefined) {
      throw new FerryError(
        'MANIFEST_UNKNOWN',
        `${what}: image ${this.#image.id} has no manifest${wanted === undefined ? '' : ` ${wanted}`}`,
        {
          details: { image: this.#image.id },
        },
      );
    }
    const mimeType = guessMIMEType(bytes, `${what}: manifest`);
    if (mimeType === '')
      throw new FerryError('UNSUPPORTED_MANIFEST_TYPE', `${what}: the stored manifest is not of a format Ferry knows`);
    return { bytes, mimeType };
  }

  async layerInfosForCopy(instanceDigest?: Digest, signal?: AbortSignal): Promise<BlobInfo[] | undefined> {
    const what = this.reference.toString();
    const raw = await this.getManifest(instanceDigest, signal);
    const manifest = parseManifest(raw.bytes, raw.mimeType);
    if (manifest.kind !== 'image') return undefined;
    const uncompressedType = isDockerManifestMIMEType(raw.mimeType) ? MediaType.DOCKER_LAYER : MediaType.OCI_LAYER;
    const physical = this.#layers.map((layer): BlobInfo => {
      const diffID = layer['diff-digest'];
      const size = layer['diff-size'];
      if (diffID === undefined || !isDigest(diffID) || typeof size !== 'number' || size < 0) {
        throw new FerryError(
          'INVALID_LAYOUT',
          `${what}: layer ${layer.id} does not record its uncompressed digest and size`,
          { details: { layer: layer.id } },
        );
      }
      return { digest: diffID, size, mediaType: uncompressedType };
    });
    let next = 0;
    const infos = manifest.layerInfos().map((listed): BlobInfo => {
      if (listed.emptyLayer === true) {
        return {
          digest: GZIPPED_EMPTY_LAYER_DIGEST,
          size: GZIPPED_EMPTY_LAYER.length,
          ...(listed.mediaType === undefined ? {} : { mediaType: listed.mediaType }),
        };
      }
      const info = physical[next++];
      if (info === undefined) {
        throw new FerryError(
          'INVALID_LAYOUT',
          `${what}: the manifest lists more layers than the ${physical.length} image ${this.#image.id} has`,
        );
      }
      return info;
    });
    if (next !== physical.length) {
      throw new FerryError(
        'INVALID_LAYOUT',
        `${what}: the manifest lists ${next} layers, image ${this.#image.id} has ${physical.length}`,
      );
    }
    return infos;
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    const what = this.reference.toString();
    if (info.digest === GZIPPED_EMPTY_LAYER_DIGEST) {
      return { stream: Readable.from([GZIPPED_EMPTY_LAYER], { objectMode: false }), size: GZIPPED_EMPTY_LAYER.length };
    }
    const byDiff = this.#layers.find((l) => l['diff-digest'] === info.digest);
    if (byDiff !== undefined) {
      const stream = Readable.from(assembleLayer(this.#store, byDiff.id, what), { objectMode: false });
      return { stream, size: typeof byDiff['diff-size'] === 'number' ? byDiff['diff-size'] : -1 };
    }
    if (isDigest(info.digest)) {
      const data = await this.#bigData(info.digest);
      if (data !== undefined) return { stream: Readable.from([data], { objectMode: false }), size: data.length };
    }
    const byCompressed = this.#layers.find((l) => l['compressed-diff-digest'] === info.digest);
    if (byCompressed !== undefined) {
      throw new FerryError(
        'NOT_IMPLEMENTED',
        `${what}: layer ${info.digest} is stored uncompressed (diffID ${quoteInput(String(byCompressed['diff-digest']))}); it is served only under its diffID (the copy rewrites the manifest to layerInfosForCopy)`,
        { details: { digest: info.digest, diffID: byCompressed['diff-digest'] } },
      );
    }
    throw new FerryError('BLOB_NOT_FOUND', `${what}: image ${this.#image.id} has no blob ${info.digest}`, {
      details: { digest: info.digest },
    });
  }

  async getSignatures(instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]> {
    throwIfAborted(signal);
    const digest = instanceDigest ?? this.reference.named?.digest ?? this.#image.digest;
    let metadata: { 'signature-sizes'?: unknown; 'signatures-sizes'?: Record<string, unknown> } = {};
    try {
      metadata = JSON.parse(this.#image.metadata ?? '{}');
    } catch {
      metadata = {};
    }
    let blob: Buffer | undefined;
    let sizes: unknown;
    if (digest !== undefined) {
      blob = await this.#bigData(signatureKey(digest));
      sizes = metadata['signatures-sizes']?.[digest];
    }
    if (blob === undefined && instanceDigest === undefined) {
      blob = await this.#bigData('signatures');
      sizes = metadata['signature-sizes'];
    }
    if (blob === undefined || blob.length === 0) return [];
    if (!Array.isArray(sizes) || !sizes.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new FerryError(
        'INVALID_LAYOUT',
        `${this.reference.toString()}: the image metadata does not give the signature sizes`,
      );
    }
    const out: Buffer[] = [];
    let pos = 0;
    for (const n of sizes as number[]) {
      if (pos + n > blob.length)
        throw new FerryError(
          'INVALID_LAYOUT',
          `${this.reference.toString()}: signature sizes exceed the stored signatures`,
        );
      out.push(blob.subarray(pos, pos + n));
      pos += n;
    }
    return out;
  }

  async close(): Promise<void> {}
}
