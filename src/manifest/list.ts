/**
 * Docker manifest list (schema2 list).
 * https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-2.md#manifest-list
 */
import type { Digest } from '../digest/digest.js';
import {
  checkMediaType,
  checkSchemaVersion,
  type Descriptor,
  dropUndefined,
  readArray,
  readDescriptor,
  schema2DescriptorJSON,
  schema2PlatformJSON,
} from './descriptor.js';
import { manifestDigest } from './digest.js';
import { goMarshal, parseJSONObject, rejectAmbiguous } from './json.js';
import { MediaType } from './mediatypes.js';
import type { ListInstance, ListManifest } from './types.js';

export function instanceOfDescriptor(d: Descriptor): ListInstance {
  const i: ListInstance = { digest: d.digest, size: d.size, mediaType: d.mediaType };
  if (d.platform) i.platform = { ...d.platform };
  if (d.annotations) i.annotations = { ...d.annotations };
  if (d.artifactType) i.artifactType = d.artifactType;
  return i;
}

/** The descriptor for `instance`, keeping extras (urls, data, features) of the entry it replaces. */
export function descriptorOfInstance(instance: ListInstance, entries: readonly Descriptor[]): Descriptor {
  const old = entries.find((e) => e.digest === instance.digest);
  const d: Descriptor = { mediaType: instance.mediaType, digest: instance.digest, size: instance.size };
  if (old?.urls) d.urls = old.urls;
  if (old?.data) d.data = old.data;
  if (old?.features) d.features = old.features;
  if (instance.platform) d.platform = instance.platform;
  if (instance.annotations) d.annotations = instance.annotations;
  if (instance.artifactType) d.artifactType = instance.artifactType;
  return d;
}

export class DockerManifestList implements ListManifest {
  readonly kind = 'list' as const;
  readonly mimeType = MediaType.DOCKER_V2_LIST;
  readonly digest: Digest;
  readonly manifests: readonly Descriptor[];

  constructor(readonly bytes: Buffer) {
    const obj = parseJSONObject(bytes, 'Docker manifest list');
    checkSchemaVersion(obj, 2, this.mimeType);
    checkMediaType(obj, this.mimeType);
    rejectAmbiguous(obj, this.mimeType, ['manifests']);
    this.manifests = readArray(obj, 'manifests', 'manifest', true).map((m, i) => readDescriptor(m, `manifests[${i}]`));
    this.digest = manifestDigest(bytes);
  }

  /** Builds a list from entries, serialised as containers/image does. */
  static fromDescriptors(entries: readonly Descriptor[]): DockerManifestList {
    return new DockerManifestList(
      goMarshal({
        schemaVersion: 2,
        mediaType: MediaType.DOCKER_V2_LIST,
        manifests: entries.map((d) =>
          dropUndefined({ ...schema2DescriptorJSON(d), platform: schema2PlatformJSON(d.platform, d.features) }),
        ),
      }),
    );
  }

  serialize(): Buffer {
    return this.bytes;
  }

  instances(): ListInstance[] {
    return this.manifests.map(instanceOfDescriptor);
  }

  /** Docker lists have no annotations or artifactType: those of `instances` are dropped. */
  withInstances(instances: ListInstance[]): DockerManifestList {
    return DockerManifestList.fromDescriptors(
      instances.map((i) => {
        const d = descriptorOfInstance(i, this.manifests);
        delete d.annotations;
        delete d.artifactType;
        return d;
      }),
    );
  }
}
