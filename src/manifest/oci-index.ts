/**
 * OCI image index.
 * https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md
 */
import type { Digest } from '../digest/digest.js';
import {
  checkMediaType,
  checkSchemaVersion,
  type Descriptor,
  dropUndefined,
  ociDescriptorJSON,
  readArray,
  readDescriptor,
  readString,
  readStringMap,
} from './descriptor.js';
import { manifestDigest } from './digest.js';
import { field, goMarshal, parseJSONObject, rejectAmbiguous, sortedMap } from './json.js';
import { descriptorOfInstance, instanceOfDescriptor } from './list.js';
import { MediaType } from './mediatypes.js';
import type { ListInstance, ListManifest } from './types.js';

/** Annotation containers/image puts on index entries whose layers are zstd-compressed. */
export const ZSTD_INSTANCE_ANNOTATION = 'io.github.containers.compression.zstd';

export interface OCIIndexParts {
  manifests: readonly Descriptor[];
  artifactType?: string;
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export class OCIIndex implements ListManifest {
  readonly kind = 'list' as const;
  readonly mimeType = MediaType.OCI_INDEX;
  readonly digest: Digest;
  readonly manifests: readonly Descriptor[];
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;

  constructor(readonly bytes: Buffer) {
    const obj = parseJSONObject(bytes, 'OCI index');
    checkSchemaVersion(obj, 2, this.mimeType);
    checkMediaType(obj, this.mimeType);
    rejectAmbiguous(obj, this.mimeType, ['manifests']);
    this.manifests = readArray(obj, 'manifests', 'manifest', true).map((m, i) => readDescriptor(m, `manifests[${i}]`));
    const artifactType = readString(obj, 'artifactType', 'manifest', false);
    if (artifactType) this.artifactType = artifactType;
    if (field(obj, 'subject') !== undefined) this.subject = readDescriptor(field(obj, 'subject'), 'subject');
    const annotations = readStringMap(obj, 'annotations', 'manifest');
    if (annotations && Object.keys(annotations).length > 0) this.annotations = annotations;
    this.digest = manifestDigest(bytes);
  }

  static fromComponents(parts: OCIIndexParts): OCIIndex {
    return new OCIIndex(
      goMarshal(
        dropUndefined({
          schemaVersion: 2,
          mediaType: MediaType.OCI_INDEX,
          artifactType: parts.artifactType || undefined,
          manifests: parts.manifests.map(ociDescriptorJSON),
          subject: parts.subject ? ociDescriptorJSON(parts.subject) : undefined,
          annotations: sortedMap(parts.annotations),
        }),
      ),
    );
  }

  serialize(): Buffer {
    return this.bytes;
  }

  instances(): ListInstance[] {
    return this.manifests.map(instanceOfDescriptor);
  }

  withInstances(instances: ListInstance[]): OCIIndex {
    return OCIIndex.fromComponents({
      manifests: instances.map((i) => descriptorOfInstance(i, this.manifests)),
      artifactType: this.artifactType,
      subject: this.subject,
      annotations: this.annotations,
    });
  }
}
