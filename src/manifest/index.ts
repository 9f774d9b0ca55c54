/** Manifests: media types, guessing, digests, parsing, conversion and platform choice. */
export * from './types.js';
export * from './mediatypes.js';
export { guessMIMEType } from './guess.js';
export { manifestDigest, manifestMatchesDigest, schema1SignedPayload } from './digest.js';
export { MAX_MANIFEST_SIZE, MAX_CONFIG_SIZE, readAllLimited } from './limits.js';
export { parseManifest } from './parse.js';
export type { Descriptor } from './descriptor.js';
export { Schema1Manifest } from './schema1.js';
export { Schema2Manifest } from './schema2.js';
export { OCIManifest } from './oci.js';
export { DockerManifestList } from './list.js';
export { OCIIndex, ZSTD_INSTANCE_ANNOTATION } from './oci-index.js';
export { wantedPlatforms, chooseInstance, goArch, goOS, type ChooseInstanceOptions } from './platform.js';
export {
  convertImageManifest,
  convertList,
  GZIPPED_EMPTY_LAYER,
  GZIPPED_EMPTY_LAYER_DIGEST,
  type ConvertOptions,
  type ConversionResult,
} from './convert.js';
export {
  type ConfigHistory,
  type ContainerConfig,
  goTime,
  goTimeString,
  type ImageConfig,
  ociImageConfig,
  parseImageConfig,
} from './config.js';
export { schema1Config } from './config-schema1.js';
