/**
 * OCI image manifest.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/manifest.md
 */
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import type { BlobInfo } from './blob-info.js';
import {
  checkMediaType,
  checkSchemaVersion,
  type Descriptor,
  dropUndefined,
  ociDescriptorJSON,
  readArray,
  readDescriptor,
  readObject,
  readString,
  readStringMap,
} from './descriptor.js';
import { manifestDigest } from './digest.js';
import { field, goMarshal, parseJSONObject, rejectAmbiguous, sortedMap } from './json.js';
import { MediaType } from './mediatypes.js';
import { blobInfoOfDescriptor, updatedDescriptor } from './schema2.js';
import type { ImageManifest, LayerInfo, ManifestUpdate } from './types.js';

export interface OCIManifestParts {
  config: Descriptor;
  layers: readonly Descriptor[];
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export class OCIManifest implements ImageManifest {
  readonly kind = 'image' as const;
  readonly mimeType = MediaType.OCI_MANIFEST;
  readonly digest: Digest;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;

  constructor(readonly bytes: Buffer) {
    const obj = parseJSONObject(bytes, 'OCI manifest');
    checkSchemaVersion(obj, 2, this.mimeType);
    checkMediaType(obj, this.mimeType);
    rejectAmbiguous(obj, this.mimeType, ['config', 'layers']);
    this.config = readDescriptor(readObject(obj, 'config', 'manifest'), 'config');
    // `layers: null` is what Go writes for an empty slice; read it as empty.
    this.layers = readArray(obj, 'layers', 'manifest', false).map((l, i) => readDescriptor(l, `layers[${i}]`));
    const artifactType = readString(obj, 'artifactType', 'manifest', false);
    if (artifactType) this.artifactType = artifactType;
    if (field(obj, 'subject') !== undefined) this.subject = readDescriptor(field(obj, 'subject'), 'subject');
    const annotations = readStringMap(obj, 'annotations', 'manifest');
    if (annotations && Object.keys(annotations).length > 0) this.annotations = annotations;
    this.digest = manifestDigest(bytes);
  }

  static fromComponents(parts: OCIManifestParts): OCIManifest {
    return new OCIManifest(
      goMarshal(
        dropUndefined({
          schemaVersion: 2,
          mediaType: MediaType.OCI_MANIFEST,
          artifactType: parts.artifactType || undefined,
          config: ociDescriptorJSON(parts.config),
          layers: parts.layers.map(ociDescriptorJSON),
          subject: parts.subject ? ociDescriptorJSON(parts.subject) : undefined,
          annotations: sortedMap(parts.annotations),
        }),
      ),
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

  /** An artifact's config is not an image config (image-spec manifest.md#guidelines-for-artifact-usage). */
  isArtifact(): boolean {
    return this.config.mediaType !== MediaType.OCI_CONFIG;
  }

  withUpdates(update: ManifestUpdate): OCIManifest {
    const config = update.config ? updatedDescriptor(this.config, update.config) : this.config;
    let layers = this.layers;
    if (update.layers) {
      if (update.layers.length !== this.layers.length) {
        throw new FerryError(
          'INVALID_ARGUMENT',
          `layer count changed from ${this.layers.length} to ${update.layers.length}`,
        );
      }
      layers = update.layers.map((info, i) => updatedDescriptor(this.layers[i] as Descriptor, info));
    }
    return OCIManifest.fromComponents({
      config,
      layers,
      artifactType: this.artifactType,
      subject: this.subject,
      annotations: this.annotations,
    });
  }
}
