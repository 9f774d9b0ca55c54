/**
 * Manifest, config and layer media types of Docker distribution and the OCI image-spec, and the
 * rules that relate them (which types are lists, which layer type carries which compression).
 * https://github.com/opencontainers/image-spec/blob/main/media-types.md
 * https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md
 */
import { FerryError } from '../errors.js';

export const MediaType = {
  DOCKER_V2_SCHEMA1: 'application/vnd.docker.distribution.manifest.v1+json',
  DOCKER_V2_SCHEMA1_SIGNED: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  DOCKER_V2_SCHEMA2: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_V2_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_V2_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DOCKER_LAYER: 'application/vnd.docker.image.rootfs.diff.tar',
  DOCKER_FOREIGN_LAYER_GZIP: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DOCKER_FOREIGN_LAYER: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  DOCKER_PLUGIN_CONFIG: 'application/vnd.docker.plugin.v1+json',
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_LAYER_ZSTD: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OCI_LAYER_NONDISTRIBUTABLE: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OCI_LAYER_NONDISTRIBUTABLE_GZIP: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',
  OCI_DESCRIPTOR: 'application/vnd.oci.descriptor.v1+json',
  OCI_LAYOUT_HEADER: 'application/vnd.oci.layout.header.v1+json',
  OCI_LAYER_ENCRYPTED: 'application/vnd.oci.image.layer.v1.tar+encrypted',
  OCI_LAYER_GZIP_ENCRYPTED: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
} as const;

/** Registry `Accept` order: the types Ferry can read, most preferred first. */
export const ACCEPTED_MANIFEST_TYPES: readonly string[] = Object.freeze([
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_V2_SCHEMA2,
  MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  MediaType.DOCKER_V2_SCHEMA1,
  MediaType.DOCKER_V2_LIST,
  MediaType.OCI_INDEX,
]);

export type LayerCompression = 'gzip' | 'zstd' | 'none';

export function isListMIMEType(m: string): boolean {
  return m === MediaType.DOCKER_V2_LIST || m === MediaType.OCI_INDEX;
}

/** True for the five manifest types Ferry parses (after normalisation). */
export function isKnownManifestMIMEType(m: string): boolean {
  return (
    m === MediaType.DOCKER_V2_SCHEMA1 ||
    m === MediaType.DOCKER_V2_SCHEMA1_SIGNED ||
    m === MediaType.DOCKER_V2_SCHEMA2 ||
    m === MediaType.DOCKER_V2_LIST ||
    m === MediaType.OCI_MANIFEST ||
    m === MediaType.OCI_INDEX
  );
}

/**
 * The effective type of a MIME type a server returned: `application/json` and anything
 * unrecognised are treated as signed schema1, as Docker distribution does for legacy servers.
 */
export function normalizeMIMEType(m: string): string {
  return isKnownManifestMIMEType(m) ? m : MediaType.DOCKER_V2_SCHEMA1_SIGNED;
}

/** Whether `m` is a Docker manifest type (schema1, schema2, list) rather than OCI. */
export function isDockerManifestMIMEType(m: string): boolean {
  return m.startsWith('application/vnd.docker.distribution.manifest.');
}

interface LayerTypeRow {
  compression: LayerCompression;
  foreign: boolean;
  docker: boolean;
}

const LAYER_TYPES: ReadonlyMap<string, LayerTypeRow> = new Map([
  [MediaType.DOCKER_LAYER_GZIP, { compression: 'gzip', foreign: false, docker: true }],
  [MediaType.DOCKER_LAYER, { compression: 'none', foreign: false, docker: true }],
  [MediaType.DOCKER_FOREIGN_LAYER_GZIP, { compression: 'gzip', foreign: true, docker: true }],
  [MediaType.DOCKER_FOREIGN_LAYER, { compression: 'none', foreign: true, docker: true }],
  [MediaType.OCI_LAYER, { compression: 'none', foreign: false, docker: false }],
  [MediaType.OCI_LAYER_GZIP, { compression: 'gzip', foreign: false, docker: false }],
  [MediaType.OCI_LAYER_ZSTD, { compression: 'zstd', foreign: false, docker: false }],
  [MediaType.OCI_LAYER_NONDISTRIBUTABLE, { compression: 'none', foreign: true, docker: false }],
  [MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP, { compression: 'gzip', foreign: true, docker: false }],
  [MediaType.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, { compression: 'zstd', foreign: true, docker: false }],
] as [string, LayerTypeRow][]);

/** The compression a layer media type declares; undefined for types that are not known layer types. */
export function layerCompressionOfMediaType(mt: string): LayerCompression | undefined {
  return LAYER_TYPES.get(mt)?.compression;
}

/** Whether a layer media type is a Docker foreign or OCI non-distributable layer. */
export function isForeignLayerMediaType(mt: string): boolean {
  return LAYER_TYPES.get(mt)?.foreign ?? false;
}

/** Whether a layer media type is encrypted (ocicrypt `+encrypted` suffix). */
export function isEncryptedLayerMediaType(mt: string): boolean {
  return mt.split('+').slice(1).includes('encrypted');
}

/**
 * The layer media type a manifest of `manifestMIMEType` uses for a layer with this compression.
 * Docker formats have no zstd variant (CONVERSION_UNSUPPORTED).
 */
export function layerMediaType(manifestMIMEType: string, compression: LayerCompression, foreign: boolean): string {
  const docker = isDockerManifestMIMEType(manifestMIMEType);
  for (const [mt, row] of LAYER_TYPES) {
    if (row.docker === docker && row.compression === compression && row.foreign === foreign) return mt;
  }
  throw new FerryError(
    'CONVERSION_UNSUPPORTED',
    `${compression} compression is not supported for layers of manifest type ${manifestMIMEType}`,
    { details: { manifestMIMEType, compression } },
  );
}
