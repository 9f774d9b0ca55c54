/**
 * The read side of `tarball:`: each file is read once at open to learn its digest, size,
 * compression and diffID; then the synthesised manifest and config are served from memory and the
 * layers straight from the files.
 */
import { createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { finished, pipeline as pipelinePromise } from 'node:stream/promises';
import { autoDecompressStream } from '../../compression/codecs.js';
import type { DetectedCompression } from '../../compression/detect.js';
import type { Digest } from '../../digest/digest.js';
import { Digester, digestStream } from '../../digest/verify.js';
import { abortError, FerryError, isFerryError, throwIfAborted } from '../../errors.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { makePrivateTempDir } from '../shared/temp-dir.js';
import { noSignatures } from '../shared/defaults.js';
import type { BlobInfo, BlobStream, ImageReference, ImageSource, RawManifest, TarballSourceOptions } from '../types.js';
import { goPlatform } from './platform.js';
import { type SynthesisedImage, synthesiseImage, type TarballLayer } from './synthesise.js';

/** What the reference hands the source. */
export interface TarballSourceInput {
  files: readonly string[];
  config: Record<string, unknown>;
  annotations: Record<string, string>;
  stdin: () => Readable;
}

const READ_HIGH_WATER_MARK = 1024 * 1024;

const LAYER_MEDIA_TYPES: Readonly<Partial<Record<DetectedCompression, string>>> = {
  none: MediaType.OCI_LAYER,
  gzip: MediaType.OCI_LAYER_GZIP,
  zstd: MediaType.OCI_LAYER_ZSTD,
};

interface OpenedLayer extends TarballLayer {
  path: string;
}

export async function openTarballSource(
  reference: ImageReference,
  input: TarballSourceInput,
  options: TarballSourceOptions = {},
): Promise<TarballImageSource> {
  const { signal } = options;
  let tempDir: string | undefined;
  try {
    const layers: OpenedLayer[] = [];
    for (const file of input.files) {
      throwIfAborted(signal);
      let path = file;
      if (file === '-') {
        if (tempDir !== undefined) {
          throw new FerryError('INVALID_REFERENCE', `${reference}: stdin ("-") can only be read once`);
        }
        tempDir = await makePrivateTempDir(options.tmpDir, 'tarball');
        path = join(tempDir, 'stdin');
        await bufferStdin(input.stdin(), path, signal);
      }
      layers.push(await inspectLayer(path, file, signal));
    }
    const image = synthesiseImage(layers, input.config, input.annotations, goPlatform());
    return new TarballImageSource(reference, layers, image, tempDir);
  } catch (e) {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    throw e;
  }
}

async function bufferStdin(stdin: Readable, path: string, signal: AbortSignal | undefined): Promise<void> {
  try {
    await pipelinePromise(stdin, createWriteStream(path, { flags: 'wx' }), { signal });
  } catch (e) {
    if (signal?.aborted) throw abortError(signal);
    throw e;
  }
}

/** Reads the file once: digest and size as it is, compression, and the digest of its decompressed bytes. */
async function inspectLayer(path: string, name: string, signal: AbortSignal | undefined): Promise<OpenedLayer> {
  const handle = await openLayerFile(path, name);
  const { mtimeNs } = await handle.stat({ bigint: true });
  const blob = new Digester();
  pipeline(handle.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK }), blob, () => {});
  try {
    const { stream, algorithm } = await autoDecompressStream(blob);
    const mediaType = LAYER_MEDIA_TYPES[algorithm];
    if (mediaType === undefined) {
      stream.destroy();
      // OCI has no layer media type for bzip2 or xz, so the synthesised manifest could not name one.
      throw new FerryError(
        'UNSUPPORTED_COMPRESSION',
        `${algorithm}-compressed layers are not supported here: OCI has no media type for them (use gzip, zstd or none)`,
      );
    }
    const { digest: diffID } = await digestStream(stream, 'sha256', signal);
    await finished(blob, { readable: false });
    return { path, digest: blob.digest(), size: blob.size(), mediaType, diffID, mtimeNs };
  } catch (e) {
    if (isFerryError(e, 'UNSUPPORTED_COMPRESSION') || isFerryError(e, 'CORRUPT_COMPRESSED_DATA')) {
      throw new FerryError(e.code, `layer file "${name}": ${e.message}`, { cause: e, details: e.details });
    }
    throw e;
  }
}

async function openLayerFile(path: string, name: string) {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new FerryError('IMAGE_NOT_FOUND', `layer file "${name}" does not exist`, { cause: e });
    }
    throw e;
  }
  if (!isFile) throw new FerryError('INVALID_REFERENCE', `layer file "${name}" is not a regular file`);
  return open(path, 'r');
}

export class TarballImageSource implements ImageSource {
  readonly hasThreadSafeGetBlob = true;
  readonly #layers: readonly OpenedLayer[];
  readonly #image: SynthesisedImage;
  #tempDir: string | undefined;

  constructor(
    readonly reference: ImageReference,
    layers: readonly OpenedLayer[],
    image: SynthesisedImage,
    tempDir: string | undefined,
  ) {
    this.#layers = layers;
    this.#image = image;
    this.#tempDir = tempDir;
  }

  async getManifest(instanceDigest?: Digest): Promise<RawManifest> {
    if (instanceDigest !== undefined && instanceDigest !== this.#image.manifestDigest) {
      throw new FerryError(
        'IMAGE_NOT_FOUND',
        `${this.reference} has a single manifest (${this.#image.manifestDigest}), not ${instanceDigest}`,
      );
    }
    return { bytes: Buffer.from(this.#image.manifest), mimeType: MediaType.OCI_MANIFEST };
  }

  async getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    throwIfAborted(signal);
    if (info.digest === this.#image.configDigest) {
      return {
        stream: Readable.from([Buffer.from(this.#image.config)], { objectMode: false }),
        size: this.#image.config.length,
      };
    }
    const layer = this.#layers.find((l) => l.digest === info.digest);
    if (layer === undefined) {
      throw new FerryError('BLOB_NOT_FOUND', `${this.reference} has no blob ${info.digest}`, {
        details: { digest: info.digest },
      });
    }
    const handle = await open(layer.path, 'r');
    const { size } = await handle.stat();
    if (size !== layer.size) {
      await handle.close();
      throw new FerryError('SIZE_MISMATCH', `layer file "${layer.path}" changed since the image was opened`, {
        details: { expected: layer.size, actual: size },
      });
    }
    return { stream: handle.createReadStream({ highWaterMark: READ_HIGH_WATER_MARK, signal }), size };
  }

  /** No signatures are stored here (the shared default). */
  readonly getSignatures = noSignatures;

  async close(): Promise<void> {
    const dir = this.#tempDir;
    this.#tempDir = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }
}
