/**
 * Converting a single-image manifest (with its config) between Docker schema1, Docker schema2 and
 * OCI, and a list between Docker manifest list and OCI index, following containers/image.
 * Layers are never touched: only descriptors, media types and the config change.
 */
import { type Digest, digestOf } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { quoteMediaType } from '../util/quote.js';
import type { BlobInfo } from './blob-info.js';
import {
  fakeV1Compatibility,
  schema2ConfigFromSchema1,
  summariseV2Config,
  topV1Compatibility,
  v1ID,
} from './config-schema1.js';
import { ociConfigFromDockerConfig } from './config.js';
import type { Descriptor } from './descriptor.js';
import { DockerManifestList } from './list.js';
import { isEncryptedLayerMediaType, MediaType } from './mediatypes.js';
import { OCIManifest } from './oci.js';
import { OCIIndex } from './oci-index.js';
import { goArch, goOS } from './platform.js';
import { Schema1Manifest } from './schema1.js';
import { Schema2Manifest } from './schema2.js';
import type { ImageManifest, ListManifest } from './types.js';

/** The gzip-compressed empty tar that schema1 uses for "throwaway" layers (from Docker). */
export const GZIPPED_EMPTY_LAYER: Buffer = Buffer.from([
  31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0, 4,
  0, 0,
]);
export const GZIPPED_EMPTY_LAYER_DIGEST: Digest =
  'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';

export interface ConvertOptions {
  /** The source image's config blob (ignored for schema1, which has none: pass an empty buffer). */
  config: Buffer;
  /** schema1 sources: the uncompressed digest of each layer, base first, one per `layerInfos()` entry. */
  diffIDs?: Digest[];
  /** schema1 sources: the layers as uploaded (base first, one per `layerInfos()` entry), for their sizes. */
  layerInfos?: BlobInfo[];
  /** schema1 targets: the `name` (repository path) and `tag` to embed. */
  schema1Name?: string;
  schema1Tag?: string;
}

export interface ConversionResult {
  manifest: ImageManifest;
  /** The config blob the new manifest references (the same bytes when unchanged; empty for schema1). */
  config: Buffer;
  /** Blobs the new manifest references that the source does not have; the caller must upload them. */
  extraBlobs?: { info: BlobInfo; bytes: Buffer }[];
}

function unsupported(message: string): FerryError {
  return new FerryError('CONVERSION_UNSUPPORTED', message);
}

function isSchema1(mt: string): boolean {
  return mt === MediaType.DOCKER_V2_SCHEMA1 || mt === MediaType.DOCKER_V2_SCHEMA1_SIGNED;
}

const SCHEMA2_TO_OCI_LAYER: Readonly<Record<string, string>> = {
  [MediaType.DOCKER_FOREIGN_LAYER]: MediaType.OCI_LAYER_NONDISTRIBUTABLE,
  [MediaType.DOCKER_FOREIGN_LAYER_GZIP]: MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP,
  [MediaType.DOCKER_LAYER]: MediaType.OCI_LAYER,
  [MediaType.DOCKER_LAYER_GZIP]: MediaType.OCI_LAYER_GZIP,
};

const OCI_TO_SCHEMA2_LAYER: Readonly<Record<string, string>> = {
  [MediaType.OCI_LAYER_NONDISTRIBUTABLE]: MediaType.DOCKER_FOREIGN_LAYER,
  [MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP]: MediaType.DOCKER_FOREIGN_LAYER_GZIP,
  [MediaType.OCI_LAYER]: MediaType.DOCKER_LAYER,
  [MediaType.OCI_LAYER_GZIP]: MediaType.DOCKER_LAYER_GZIP,
};

function schema2ToOCI(m: Schema2Manifest, config: Buffer): ConversionResult {
  const ociConfig = ociConfigFromDockerConfig(config);
  const layers = m.layers.map((l): Descriptor => {
    const mediaType = Object.hasOwn(SCHEMA2_TO_OCI_LAYER, l.mediaType) ? SCHEMA2_TO_OCI_LAYER[l.mediaType] : undefined;
    if (!mediaType)
      throw unsupported(`layer ${l.digest} has media type ${quoteMediaType(l.mediaType)}, which has no OCI equivalent`);
    return l.urls
      ? { mediaType, digest: l.digest, size: l.size, urls: l.urls }
      : { mediaType, digest: l.digest, size: l.size };
  });
  const manifest = OCIManifest.fromComponents({
    config: { mediaType: MediaType.OCI_CONFIG, digest: digestOf(ociConfig), size: ociConfig.length },
    layers,
  });
  return { manifest, config: ociConfig };
}

function ociToSchema2(m: OCIManifest, config: Buffer): ConversionResult {
  if (m.isArtifact()) {
    throw unsupported(
      `manifest ${m.digest} is an OCI artifact (config type ${quoteMediaType(m.config.mediaType)}), not an image: it cannot be converted`,
    );
  }
  const layers = m.layers.map((l): Descriptor => {
    if (isEncryptedLayerMediaType(l.mediaType))
      throw unsupported(
        `encrypted layer ${l.digest} (${quoteMediaType(l.mediaType)}) cannot be used in a Docker image`,
      );
    // hasOwn: a layer whose media type is `constructor` must not find Object.prototype's.
    const mediaType = Object.hasOwn(OCI_TO_SCHEMA2_LAYER, l.mediaType) ? OCI_TO_SCHEMA2_LAYER[l.mediaType] : undefined;
    if (!mediaType) {
      throw unsupported(
        l.mediaType.endsWith('+zstd')
          ? `layer ${l.digest} is zstd-compressed (${quoteMediaType(l.mediaType)}): zstd is not supported in Docker images`
          : `layer ${l.digest} has media type ${quoteMediaType(l.mediaType)}, which has no Docker equivalent`,
      );
    }
    return l.urls
      ? { mediaType, digest: l.digest, size: l.size, urls: l.urls }
      : { mediaType, digest: l.digest, size: l.size };
  });
  const manifest = Schema2Manifest.fromComponents(
    { mediaType: MediaType.DOCKER_V2_CONFIG, digest: m.config.digest, size: m.config.size },
    layers,
  );
  return { manifest, config };
}

function schema1ToSchema2(m: Schema1Manifest, opts: ConvertOptions): ConversionResult {
  const infos = m.layerInfos();
  const { diffIDs, layerInfos } = opts;
  const nonEmpty = infos.filter((l) => !l.emptyLayer).length;
  if (!diffIDs) throw unsupported('converting a schema1 manifest needs the diffIDs of its layers');
  if (diffIDs.length !== infos.length && diffIDs.length !== nonEmpty) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `got ${diffIDs.length} diffIDs for a schema1 manifest with ${infos.length} layers`,
    );
  }
  if (layerInfos && layerInfos.length !== infos.length) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `got ${layerInfos.length} layer infos for a schema1 manifest with ${infos.length} layers`,
    );
  }
  const layers: Descriptor[] = [];
  const ids: Digest[] = [];
  infos.forEach((l, i) => {
    if (l.emptyLayer) return;
    ids.push((diffIDs.length === infos.length ? diffIDs[i] : diffIDs[layers.length]) as Digest);
    layers.push({ mediaType: MediaType.DOCKER_LAYER_GZIP, digest: l.digest, size: layerInfos?.[i]?.size ?? 0 });
  });
  const config = schema2ConfigFromSchema1(m.entries, ids);
  const manifest = Schema2Manifest.fromComponents(
    { mediaType: MediaType.DOCKER_V2_CONFIG, digest: digestOf(config), size: config.length },
    layers,
  );
  return { manifest, config };
}

/** Based on Docker distribution's schema1 config builder, as containers/image does it. */
function schema2ToSchema1(m: Schema2Manifest, config: Buffer, opts: ConvertOptions): ConversionResult {
  const summary = summariseV2Config(config);
  const history = summary.history;
  if (history.length === 0)
    throw unsupported(`cannot convert an image with 0 history entries to ${MediaType.DOCKER_V2_SCHEMA1_SIGNED}`);
  const entries: { blobSum: Digest; v1Compatibility: string }[] = [];
  let nonEmpty = 0;
  let id = '';
  let parent = '';
  let usesEmptyLayer = false;
  for (const h of history) {
    parent = id;
    let blob: Digest;
    if (h.emptyLayer) {
      blob = GZIPPED_EMPTY_LAYER_DIGEST;
      usesEmptyLayer = true;
    } else {
      const layer = m.layers[nonEmpty];
      if (!layer)
        throw unsupported(
          `image config has more non-empty history entries than the ${m.layers.length} layers of the manifest`,
        );
      blob = layer.digest;
      nonEmpty++;
    }
    id = v1ID(blob, parent);
    entries.unshift({ blobSum: blob, v1Compatibility: fakeV1Compatibility(id, parent, h) });
  }
  const top = entries[0] as { blobSum: Digest; v1Compatibility: string };
  const topID = v1ID(top.blobSum, parent, config.toString('utf8'));
  top.v1Compatibility = topV1Compatibility(
    config,
    topID,
    parent,
    (history[history.length - 1] as { emptyLayer: boolean }).emptyLayer,
  );
  const manifest = Schema1Manifest.fromComponents({
    name: opts.schema1Name ?? '',
    tag: opts.schema1Tag ?? '',
    architecture: summary.architecture,
    entries,
  });
  const result: ConversionResult = { manifest, config: Buffer.alloc(0) };
  if (usesEmptyLayer) {
    result.extraBlobs = [
      {
        info: {
          digest: GZIPPED_EMPTY_LAYER_DIGEST,
          size: GZIPPED_EMPTY_LAYER.length,
          mediaType: MediaType.DOCKER_LAYER_GZIP,
        },
        bytes: GZIPPED_EMPTY_LAYER,
      },
    ];
  }
  return result;
}

/**
 * Converts `m` (with its config) to `targetMIMEType`. Returns the input unchanged when it already
 * has that type. CONVERSION_UNSUPPORTED for artifacts, encrypted or zstd layers into Docker
 * formats, and schema1 sources without diffIDs.
 */
export function convertImageManifest(m: ImageManifest, targetMIMEType: string, opts: ConvertOptions): ConversionResult {
  const from = m.mimeType;
  if (from === targetMIMEType || (isSchema1(from) && isSchema1(targetMIMEType)))
    return { manifest: m, config: opts.config };
  if (m instanceof Schema2Manifest) {
    if (targetMIMEType === MediaType.OCI_MANIFEST) return schema2ToOCI(m, opts.config);
    if (isSchema1(targetMIMEType)) return schema2ToSchema1(m, opts.config, opts);
  } else if (m instanceof OCIManifest) {
    if (targetMIMEType === MediaType.DOCKER_V2_SCHEMA2) return ociToSchema2(m, opts.config);
    if (isSchema1(targetMIMEType)) {
      const s2 = ociToSchema2(m, opts.config);
      return schema2ToSchema1(s2.manifest as Schema2Manifest, s2.config, opts);
    }
  } else if (m instanceof Schema1Manifest) {
    const s2 = schema1ToSchema2(m, opts);
    if (targetMIMEType === MediaType.DOCKER_V2_SCHEMA2) return s2;
    if (targetMIMEType === MediaType.OCI_MANIFEST) return schema2ToOCI(s2.manifest as Schema2Manifest, s2.config);
  }
  throw unsupported(`cannot convert a ${from} manifest to ${targetMIMEType}`);
}

/**
 * Converts a Docker manifest list ↔ OCI index. Into a Docker list, annotations and artifactType
 * are dropped and an entry without a platform gets the running one (as upstream).
 */
export function convertList(l: ListManifest, targetMIMEType: string): ListManifest {
  if (l.mimeType === targetMIMEType) return l;
  if (l instanceof DockerManifestList && targetMIMEType === MediaType.OCI_INDEX) {
    return OCIIndex.fromComponents({
      manifests: l.manifests.map((d) => {
        const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
        if (d.urls) out.urls = d.urls;
        if (d.platform) out.platform = d.platform;
        return out;
      }),
    });
  }
  if (l instanceof OCIIndex && targetMIMEType === MediaType.DOCKER_V2_LIST) {
    return DockerManifestList.fromDescriptors(
      l.manifests.map((d) => {
        const out: Descriptor = {
          mediaType: d.mediaType,
          digest: d.digest,
          size: d.size,
          platform: d.platform ?? { os: goOS(), architecture: goArch() },
        };
        if (d.urls) out.urls = d.urls;
        return out;
      }),
    );
  }
  throw unsupported(`cannot convert a ${l.mimeType} list to ${targetMIMEType}`);
}
