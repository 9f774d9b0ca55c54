/**
 * Choosing the manifest format written to a destination (containers/image copy/manifest.go) and
 * the list type for multi-image copies. Only capabilities are asked, never transport names.
 */
import { FerryError, type FerryErrorCode } from '../errors.js';
import { isListMIMEType, MediaType } from '../manifest/index.js';
import type { CompressionAlgorithmName, DestinationCapabilities } from '../transports/types.js';

/** What a destination accepts when it does not say (containers/image's default). */
const DEFAULT_SINGLE_IMAGE_TYPES: readonly string[] = [
  MediaType.OCI_MANIFEST,
  MediaType.DOCKER_V2_SCHEMA2,
  MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  MediaType.DOCKER_V2_SCHEMA1,
];

/** Types tried right after the source's own, for the widest compatibility (upstream's preference). */
const PREFERRED_FALLBACK_TYPES: readonly string[] = [MediaType.DOCKER_V2_SCHEMA2, MediaType.DOCKER_V2_SCHEMA1_SIGNED];

/** The layer compression algorithms a manifest format can express (uncompressed is always allowed). */
export function formatCompressionAlgorithms(manifestMIMEType: string): readonly CompressionAlgorithmName[] {
  return manifestMIMEType === MediaType.OCI_MANIFEST ? ['gzip', 'zstd'] : ['gzip'];
}

export function isSchema1(mimeType: string): boolean {
  return mimeType === MediaType.DOCKER_V2_SCHEMA1 || mimeType === MediaType.DOCKER_V2_SCHEMA1_SIGNED;
}

export interface FormatChoiceInput {
  sourceMIMEType: string;
  capabilities: DestinationCapabilities;
  /** Where the destination is, for messages. */
  destinationName: string;
  forceManifestMIMEType?: string;
  /** Why the manifest must stay byte-identical (preserveDigests, signatures, artifact), if it must, and the error code for breaking that. */
  cannotModify?: { reason: string; code: FerryErrorCode };
  /** A compression algorithm every layer must end up in (candidates unable to express it are dropped). */
  requiredAlgorithm?: CompressionAlgorithmName;
}

/** Manifest MIME types to try, in order. Throws when no type can be written. */
export function manifestCandidates(input: FormatChoiceInput): string[] {
  const { sourceMIMEType: src, capabilities, destinationName: dest, forceManifestMIMEType: force } = input;
  const destTypes = capabilities.supportedManifestMIMETypes?.filter((t) => !isListMIMEType(t));
  if (force !== undefined) {
    if (isListMIMEType(force)) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `forced manifest type ${force} is a list type; force an image manifest type`,
      );
    }
    if (destTypes !== undefined && !destTypes.includes(force)) {
      throw new FerryError('UNSUPPORTED_MANIFEST_TYPE', `destination ${dest} does not accept manifest type ${force}`, {
        details: { forced: force, supported: destTypes },
      });
    }
  }
  const supported = force !== undefined ? [force] : (destTypes ?? DEFAULT_SINGLE_IMAGE_TYPES);

  if (input.cannotModify !== undefined) {
    if (!supported.includes(src)) {
      throw new FerryError(
        input.cannotModify.code,
        `cannot copy to ${dest}: the manifest would have to change from ${src} to ${supported[0]}, but ${input.cannotModify.reason}`,
        { details: { sourceMIMEType: src, supported } },
      );
    }
    return [src];
  }

  const ordered: string[] = [];
  const add = (t: string): void => {
    if (supported.includes(t) && !ordered.includes(t)) ordered.push(t);
  };
  add(src);
  for (const t of PREFERRED_FALLBACK_TYPES) add(t);
  for (const t of supported) add(t);

  const required = input.requiredAlgorithm;
  if (required === undefined) return ordered;
  const able = ordered.filter((t) => formatCompressionAlgorithms(t).includes(required));
  if (able.length === 0) {
    throw new FerryError(
      'UNSUPPORTED_COMPRESSION',
      `cannot copy to ${dest}: ${required} compression needs an OCI manifest, and the destination accepts only ${ordered.join(', ')}`,
      { details: { algorithm: required, candidates: ordered } },
    );
  }
  return able;
}

export interface ListFormatInput {
  sourceListMIMEType: string;
  capabilities: DestinationCapabilities;
  destinationName: string;
  forceManifestMIMEType?: string;
}

/** The list type written for a multi-image copy (source type if accepted; forced formats pick their family). */
export function listTargetMIMEType(input: ListFormatInput): string {
  const { sourceListMIMEType: src, forceManifestMIMEType: force } = input;
  const destListTypes = input.capabilities.supportedManifestMIMETypes?.filter(isListMIMEType);
  let wanted: string | undefined;
  if (force !== undefined) {
    wanted =
      force === MediaType.OCI_MANIFEST || force === MediaType.OCI_INDEX
        ? MediaType.OCI_INDEX
        : MediaType.DOCKER_V2_LIST;
  } else if (destListTypes === undefined || destListTypes.includes(src)) {
    return src;
  } else {
    wanted = destListTypes[0];
  }
  if (wanted === undefined || (destListTypes !== undefined && !destListTypes.includes(wanted))) {
    throw new FerryError(
      'UNSUPPORTED_MANIFEST_TYPE',
      `destination ${input.destinationName} does not accept ${wanted ?? 'any'} manifest lists` +
        (force !== undefined ? ` (needed for forced type ${force})` : ''),
      { details: { sourceListMIMEType: src, supported: destListTypes } },
    );
  }
  return wanted;
}
