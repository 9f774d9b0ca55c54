/**
 * Docker image manifest v2, schema 2.
 * https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-2.md
 */
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { quoteMediaType } from '../util/quote.js';
import type { BlobInfo } from './blob-info.js';
import {
  checkMediaType,
  checkSchemaVersion,
  type Descriptor,
  invalid,
  readArray,
  readDescriptor,
  readObject,
  schema2DescriptorJSON,
} from './descriptor.js';
import { manifestDigest } from './digest.js';
import { goMarshal, parseJSONObject, rejectAmbiguous } from './json.js';
import { MediaType } from './mediatypes.js';
import type { ImageManifest, LayerInfo, ManifestUpdate } from './types.js';

/** Media types a schema2 manifest may reference (containers/image's SupportedSchema2MediaType). */
const SCHEMA2_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MediaType.DOCKER_V2_SCHEMA1,
  MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  MediaType.DOCKER_V2_SCHEMA2,
  MediaType.DOCKER_V2_LIST,
  MediaType.DOCKER_V2_CONFIG,
  MediaType.DOCKER_LAYER_GZIP,
  MediaType.DOCKER_LAYER,
  MediaType.DOCKER_FOREIGN_LAYER,
  MediaType.DOCKER_FOREIGN_LAYER_GZIP,
  MediaType.DOCKER_PLUGIN_CONFIG,
]);

export function isSchema2MediaType(mt: string): boolean {
  return SCHEMA2_MEDIA_TYPES.has(mt);
}

export function blobInfoOfDescriptor(d: Descriptor): BlobInfo {
  const info: BlobInfo = { digest: d.digest, size: d.size, mediaType: d.mediaType };
  if (d.urls) info.urls = [...d.urls];
  if (d.annotations) info.annotations = { ...d.annotations };
  return info;
}

export class Schema2Manifest implements ImageManifest {
  readonly kind = 'image' as const;
  readonly mimeType = MediaType.DOCKER_V2_SCHEMA2;
  readonly digest: Digest;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];

  constructor(readonly bytes: Buffer) {
    const obj = parseJSONObject(bytes, 'schema2 manifest');
    checkSchemaVersion(obj, 2, this.mimeType);
    checkMediaType(obj, this.mimeType);
    rejectAmbiguous(obj, this.mimeType, ['config', 'layers']);
    this.config = readDescriptor(readObject(obj, 'config', 'manifest'), 'config');
    this.layers = readArray(obj, 'layers', 'manifest', true).map((l, i) => {
      const d = readDescriptor(l, `layers[${i}]`);
      if (!SCHEMA2_MEDIA_TYPES.has(d.mediaType))
        throw invalid(`layers[${i}].mediaType`, `${quoteMediaType(d.mediaType)} is not a Docker schema2 media type`);
      return d;
    });
    this.digest = manifestDigest(bytes);
  }

  /** Builds a manifest from parts, serialised as containers/image does (compact Go JSON). */
  static fromComponents(config: Descriptor, layers: readonly Descriptor[]): Schema2Manifest {
    return new Schema2Manifest(
      goMarshal({
        schemaVersion: 2,
        mediaType: MediaType.DOCKER_V2_SCHEMA2,
        config: schema2DescriptorJSON(config),
        layers: layers.map(schema2DescriptorJSON),
      }),
    );
  }

  serialize(): Buffer {
    return this.bytes;
  }

  configInfo(): BlobInfo {
    return blobInfoOfDescriptor(this.config);
  }

  layerInfos(): LayerInfo[] {
    return this.layers.map(blobInfoOfDescriptor);
  }

  isArtifact(): boolean {
    return false;
  }

  withUpdates(update: ManifestUpdate): Schema2Manifest {
    const config = update.config ? updatedDescriptor(this.config, update.config) : this.config;
    let layers = this.layers;
    if (update.layers) {
      if (update.layers.length !== this.layers.length) {
        throw new FerryError(
          'INVALID_ARGUMENT',
          `layer count changed from ${this.layers.length} to ${update.layers.length}`,
        );
      }
      layers = update.layers.map((info, i) => {
        const d = updatedDescriptor(this.layers[i] as Descriptor, info);
        if (!SCHEMA2_MEDIA_TYPES.has(d.mediaType)) {
          throw new FerryError(
            'CONVERSION_UNSUPPORTED',
            `layer media type "${d.mediaType}" cannot be used in a Docker schema2 manifest`,
          );
        }
        return d;
      });
    }
    return Schema2Manifest.fromComponents(config, layers);
  }
}

/** A descriptor with the blob facts of `info` (media type kept when `info` has none; urls/annotations replaced). */
export function updatedDescriptor(original: Descriptor, info: BlobInfo): Descriptor {
  const d: Descriptor = { mediaType: info.mediaType ?? original.mediaType, digest: info.digest, size: info.size };
  if (info.urls && info.urls.length > 0) d.urls = [...info.urls];
  if (info.annotations && Object.keys(info.annotations).length > 0) d.annotations = { ...info.annotations };
  return d;
}
