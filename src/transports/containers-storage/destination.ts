/**
 * Writing an image into a containers/storage store as containers/image's storage destination does
 * (storage/storage_dest.go, 5.23): blobs are spooled into a private temp directory under the graph
 * root; commit then, holding the layers and images locks, creates each missing layer (ID chained from
 * the diffIDs, recorded as incomplete until its contents and tar-split are written), and creates or
 * updates the image record (ID = config digest hex) with its big data: the config under its digest,
 * the manifest under `manifest-DIGEST` and `manifest`, signatures under `signature-HEX`, and the
 * metadata `{"signatures-sizes":{...}}`. The name is moved to this image from any other that had it.
 * Nothing is visible before commit; a failed commit leaves at most layers podman and Ferry both
 * treat as incomplete (and remove).
 */
import { quoteInput } from '../../util/quote.js';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type Digest, digestHex, digestOf } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import { parseImageConfig } from '../../manifest/config.js';
import { manifestDigest } from '../../manifest/digest.js';
import { isListMIMEType, MediaType } from '../../manifest/mediatypes.js';
import { parseManifest } from '../../manifest/parse.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { makeTempDirIn, removeStaleTemps } from '../../util/temp.js';
import { storeBlob } from '../shared/blob-store.js';
import { readFileLimited } from '../shared/files.js';
import { WriteSession } from '../shared/write-session.js';
import {
  type BlobInfo,
  type CallOptions,
  type DestinationCapabilities,
  destinationCapabilities,
  type ImageDestination,
  type PutBlobOptions,
  type ReusedBlob,
  type TryReusingBlobOptions,
} from '../types.js';
import { assembleLayer, removeLayerFiles, writeLayer } from './layer.js';
import type { StorageLocation } from './location.js';
import {
  chainedLayerID,
  goTimeNow,
  type ImageRecord,
  INCOMPLETE_FLAG,
  type LayerRecord,
  manifestKey,
  Store,
  signatureKey,
} from './store.js';

const TEMP_PREFIX = 'ferry-dest-';
const MAX_CONFIG_SIZE = 16 * 1024 * 1024;

interface Spooled {
  path: string;
  size: number;
}

/** A blob the store already holds as a layer (tryReusingBlob): its diffID and a layer to copy it from. */
interface KnownLayer {
  diffID: Digest;
  layerID: string;
}

function sortedObject<T>(entries: [string, T][]): Record<string, T> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export class StorageImageDestination implements ImageDestination {
  readonly capabilities: DestinationCapabilities = destinationCapabilities({
    supportedManifestMIMETypes: [MediaType.OCI_MANIFEST, MediaType.DOCKER_V2_SCHEMA2],
    desiredLayerCompression: 'preserve',
    supportsSignatures: true,
    hasThreadSafePutBlob: true,
  });
  readonly #store: Store;
  readonly #temp: string;
  readonly #session: WriteSession;
  readonly #blobs = new Map<Digest, Spooled>();
  readonly #known = new Map<Digest, KnownLayer>();
  #manifest: Buffer | undefined;
  #signatures: Buffer[] = [];

  private constructor(
    readonly reference: StorageLocation,
    store: Store,
    temp: string,
  ) {
    this.#store = store;
    this.#temp = temp;
    this.#session = new WriteSession(reference.toString());
  }

  static async open(ref: StorageLocation, options: CallOptions): Promise<StorageImageDestination> {
    throwIfAborted(options.signal);
    const what = ref.toString();
    if ((process.getuid?.() ?? 0) !== 0) {
      throw new FerryError(
        'NOT_IMPLEMENTED',
        `${what}: writing a containers-storage store as a user other than root needs subordinate IDs for the user in /etc/subuid and /etc/subgid (the ferry command then maps IDs in a user namespace, as podman does)`,
      );
    }
    if (ref.idIsPrefix || (ref.maybeIdPrefix !== undefined && ref.named === undefined)) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `${what}: a destination needs an image name or a full image ID, not an ID prefix`,
      );
    }
    const store = await Store.resolve(ref.store, what);
    await store.ensureLayout();
    await removeStaleTemps(store.tempRoot, [TEMP_PREFIX]);
    const temp = await makeTempDirIn(store.tempRoot, TEMP_PREFIX);
    return new StorageImageDestination(ref, store, temp);
  }

  async putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    this.#session.assertOpen();
    const stored = await this.#session.track(
      storeBlob(stream, {
        tempDir: this.#temp,
        pathFor: (d) => join(this.#temp, `blob-${digestHex(d)}`),
        expectedDigest: info.digest,
        expectedSize: info.size,
        callerVerifiesDigest: options.callerVerifiesDigest === true,
        durable: false,
        signal: options.signal,
      }),
    );
    this.#blobs.set(stored.digest, { path: stored.path, size: stored.size });
    return {
      digest: stored.digest,
      size: stored.size,
      ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }),
    };
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    this.#session.assertOpen();
    throwIfAborted(options.signal);
    const spooled = this.#blobs.get(info.digest);
    if (spooled !== undefined) return { ...info, size: spooled.size };
    if (options.isConfig) return undefined;
    // A layer the store has, by the digest of the blob it was made from or by its diffID
    // (layers.json is replaced by rename: a read without the lock sees one whole version).
    const layers = await this.#store.readLayers();
    const complete = layers.filter((l) => l.flags?.[INCOMPLETE_FLAG] !== true && l['diff-digest'] !== undefined);
    const byCompressed = complete.find((l) => l['compressed-diff-digest'] === info.digest);
    const byDiff = complete.find((l) => l['diff-digest'] === info.digest);
    const layer = byCompressed ?? byDiff;
    if (layer === undefined) return undefined;
    this.#known.set(info.digest, { diffID: layer['diff-digest'] as Digest, layerID: layer.id });
    const size = byCompressed !== undefined ? layer['compressed-size'] : layer['diff-size'];
    return { ...info, size: typeof size === 'number' ? size : info.size };
  }

  async putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    if (instanceDigest !== undefined || isListMIMEType(parseManifest(bytes).mimeType)) {
      throw new FerryError(
        'UNSUPPORTED_OPERATION',
        `${this.reference.toString()}: containers-storage holds one image per reference, not a list and its instances`,
      );
    }
    this.#manifest = Buffer.from(bytes);
  }

  async putSignatures(signatures: Buffer[], instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    if (instanceDigest !== undefined) {
      throw new FerryError(
        'UNSUPPORTED_OPERATION',
        `${this.reference.toString()}: signatures of list instances are not stored`,
      );
    }
    this.#signatures = signatures.map((s) => Buffer.from(s));
  }

  async commit(signal?: AbortSignal): Promise<void> {
    this.#session.assertOpen();
    throwIfAborted(signal);
    await this.#session.settle();
    const what = this.reference.toString();
    const manifestBytes = this.#manifest;
    if (manifestBytes === undefined)
      throw new FerryError('UNSUPPORTED_OPERATION', `${what}: commit without a manifest`);
    const manifest = parseManifest(manifestBytes);
    if (manifest.kind !== 'image')
      throw new FerryError('UNSUPPORTED_OPERATION', `${what}: a list cannot be stored as one image`);
    if (manifest.mimeType !== MediaType.OCI_MANIFEST && manifest.mimeType !== MediaType.DOCKER_V2_SCHEMA2) {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `${what}: only OCI and Docker schema 2 manifests are stored (not ${manifest.mimeType})`,
      );
    }
    const mDigest = manifestDigest(manifestBytes);
    const named = this.reference.named;
    if (named?.digest !== undefined && named.digest !== mDigest) {
      throw new FerryError(
        'DIGEST_MISMATCH',
        `${what}: the manifest to be saved has digest ${mDigest}, not the reference's ${named.digest}`,
      );
    }
    const configInfo = manifest.configInfo();
    const configBlob = configInfo === undefined ? undefined : this.#blobs.get(configInfo.digest);
    if (configInfo === undefined || configBlob === undefined) {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `${what}: the image has no config blob, which containers-storage needs for the image ID`,
      );
    }
    const configBytes = await readFileLimited(configBlob.path, MAX_CONFIG_SIZE, `config ${configInfo.digest}`);
    if (configBytes === undefined) throw new FerryError('BLOB_NOT_FOUND', `${what}: config blob vanished`);
    const config = parseImageConfig(configBytes);
    const layerInfos = manifest.layerInfos();
    const diffIDs = config.rootfs.diffIDs ?? [];
    if (diffIDs.length !== layerInfos.length) {
      throw new FerryError(
        'INVALID_MANIFEST',
        `${what}: the manifest has ${layerInfos.length} layers but the config lists ${diffIDs.length} diffIDs`,
      );
    }
    const imageID = this.reference.id ?? digestHex(configInfo.digest);

    const locks = await this.#store.lock({ layers: 'write', images: 'write' }, signal);
    const touched = new Set<string>();
    try {
      let layers = await this.#store.readLayers();
      // Layers a crashed writer left incomplete are removed first (as containers/storage does on load).
      const incomplete = layers.filter((l) => l.flags?.[INCOMPLETE_FLAG] === true);
      if (incomplete.length > 0) {
        for (const l of incomplete) await this.#removeLayerFiles(l.id);
        layers = layers.filter((l) => l.flags?.[INCOMPLETE_FLAG] !== true);
        await this.#store.writeLayers(layers);
        touched.add(this.#store.layersLock);
      }
      let parent: string | undefined;
      for (const [i, info] of layerInfos.entries()) {
        throwIfAborted(signal);
        const diffID = diffIDs[i] as Digest;
        const id = chainedLayerID(parent, diffID);
        if (!layers.some((l) => l.id === id)) {
          layers = await this.#createLayer(layers, id, parent, info, diffID, what);
          touched.add(this.#store.layersLock);
        }
        parent = id;
      }
      const images = await this.#store.readImages();
      await this.#writeImage(
        images,
        imageID,
        parent,
        mDigest,
        manifestBytes,
        configInfo.digest,
        configBytes,
        config.created,
      );
      touched.add(this.#store.imagesLock);
    } finally {
      await locks.release([...touched]);
    }
    this.#session.markCommitted();
  }

  /** Creates layer `id` from the spooled blob, or from the store's copy of the same diff. */
  async #createLayer(
    layers: LayerRecord[],
    id: string,
    parent: string | undefined,
    info: BlobInfo,
    diffID: Digest,
    what: string,
  ): Promise<LayerRecord[]> {
    const spooled = this.#blobs.get(info.digest);
    const known = this.#known.get(info.digest) ?? this.#knownByDiffID(layers, diffID);
    if (spooled === undefined && known === undefined) {
      throw new FerryError(
        'BLOB_NOT_FOUND',
        `${what}: layer ${info.digest} was neither written nor found in the store`,
      );
    }
    const created = goTimeNow();
    const record: LayerRecord = {
      id,
      ...(parent === undefined ? {} : { parent }),
      created,
      flags: { [INCOMPLETE_FLAG]: true },
    };
    let next = [...layers, record];
    await this.#store.writeLayers(next);
    const source =
      spooled !== undefined
        ? createReadStream(spooled.path)
        : Readable.from(assembleLayer(this.#store, (known as KnownLayer).layerID, what));
    const written = await writeLayer(this.#store, id, parent, source, `${what}: layer ${info.digest}`);
    if (written.diffID !== diffID) {
      await this.#removeLayerFiles(id);
      throw new FerryError(
        'DIGEST_MISMATCH',
        `${what}: layer ${info.digest} uncompresses to ${written.diffID}, but the config lists diffID ${diffID}`,
      );
    }
    const complete: LayerRecord = {
      id,
      ...(parent === undefined ? {} : { parent }),
      created,
      'compressed-diff-digest': spooled !== undefined ? info.digest : diffID,
      'compressed-size': spooled !== undefined ? spooled.size : written.diffSize,
      'diff-digest': written.diffID,
      'diff-size': written.diffSize,
      ...(spooled !== undefined && written.compression !== 0 ? { compression: written.compression } : {}),
      ...(written.uids.length > 0 ? { uidset: written.uids } : {}),
      ...(written.gids.length > 0 ? { gidset: written.gids } : {}),
    };
    next = next.map((l) => (l.id === id ? complete : l));
    await this.#store.writeLayers(next);
    return next;
  }

  #knownByDiffID(layers: readonly LayerRecord[], diffID: Digest): KnownLayer | undefined {
    const l = layers.find((x) => x['diff-digest'] === diffID && x.flags?.[INCOMPLETE_FLAG] !== true);
    return l === undefined ? undefined : { diffID, layerID: l.id };
  }

  async #removeLayerFiles(id: string): Promise<void> {
    await removeLayerFiles(this.#store, id);
  }

  async #writeImage(
    images: ImageRecord[],
    imageID: string,
    topLayer: string | undefined,
    mDigest: Digest,
    manifestBytes: Buffer,
    configDigest: Digest,
    configBytes: Buffer,
    created: string | undefined,
  ): Promise<void> {
    const what = this.reference.toString();
    const existing = images.find((i) => i.id === imageID);
    if (existing !== undefined && (existing.layer ?? undefined) !== topLayer) {
      throw new FerryError(
        'DESTINATION_NOT_EMPTY',
        `${what}: image ${imageID} already exists with another top layer (${existing.layer === undefined || existing.layer === null ? 'none' : quoteInput(String(existing.layer))}, not ${topLayer ?? 'none'})`,
      );
    }
    const sigKey = signatureKey(mDigest);
    const data: [string, Buffer][] = [
      [configDigest, configBytes],
      [manifestKey(mDigest), manifestBytes],
      ['manifest', manifestBytes],
    ];
    if (this.#signatures.length > 0) data.push(['signatures', Buffer.concat(this.#signatures)]);
    data.push([sigKey, Buffer.concat(this.#signatures)]);
    await mkdir(this.#store.imageDataDir(imageID), { recursive: true, mode: 0o700 });
    for (const [key, bytes] of data) await writeFileAtomic(this.#store.bigDataPath(imageID, key), bytes, 0o600);

    const names = new Set(existing?.names ?? []);
    const name = this.reference.maybeIdPrefix === undefined ? this.reference.named?.toString() : undefined;
    const history = [...(existing?.['names-history'] ?? [])];
    if (name !== undefined) {
      names.add(name);
      history.splice(0, history.length, ...[name, ...history.filter((n) => n !== name)]);
    }
    const bigNames = [...(existing?.['big-data-names'] ?? [])];
    for (const [key] of data) if (!bigNames.includes(key)) bigNames.push(key);
    const sizes = new Map(Object.entries(existing?.['big-data-sizes'] ?? {}));
    const digests = new Map<string, Digest>(Object.entries(existing?.['big-data-digests'] ?? {}));
    for (const [key, bytes] of data) {
      sizes.set(key, bytes.length);
      digests.set(key, key.startsWith('manifest') ? manifestDigest(bytes) : digestOf(bytes));
    }
    const sigSizes = this.#signatures.map((s) => s.length);
    const metadata = JSON.stringify({
      ...(sigSizes.length > 0 ? { 'signature-sizes': sigSizes } : {}),
      'signatures-sizes': { [mDigest]: sigSizes },
    });
    const {
      id: _id,
      digest: _d,
      names: _n,
      'names-history': _h,
      layer: _l,
      metadata: _m,
      'big-data-names': _b,
      'big-data-sizes': _s,
      'big-data-digests': _g,
      created: _c,
      ...rest
    } = existing ?? ({ id: imageID } as ImageRecord);
    const record: ImageRecord = {
      id: imageID,
      digest: existing?.digest ?? mDigest,
      ...(names.size > 0 ? { names: [...names] } : {}),
      ...(history.length > 0 ? { 'names-history': history } : {}),
      ...(topLayer === undefined ? {} : { layer: topLayer }),
      metadata,
      'big-data-names': bigNames,
      'big-data-sizes': sortedObject([...sizes]),
      'big-data-digests': sortedObject([...digests]),
      created: existing?.created ?? created ?? goTimeNow(),
      ...rest,
    };
    const next: ImageRecord[] = [];
    for (const image of images) {
      if (image.id === imageID) continue;
      // A name belongs to one image: the others lose it (containers/storage removeName).
      if (name !== undefined && image.names?.includes(name)) {
        const left = image.names.filter((n) => n !== name);
        const { names: _drop, ...others } = image;
        next.push(left.length > 0 ? { ...others, names: left } : (others as ImageRecord));
      } else {
        next.push(image);
      }
    }
    if (existing === undefined) next.push(record);
    else
      next.splice(
        images.findIndex((i) => i.id === imageID),
        0,
        record,
      );
    await this.#store.writeImages(next);
  }

  async close(): Promise<void> {
    await this.#session.close();
    await rm(this.#temp, { recursive: true, force: true });
  }
}
