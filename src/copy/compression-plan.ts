/**
 * The compression step of the blob pipeline (containers/image copy/compression.go): given a
 * layer's detected compression, whether to keep its bytes, decompress, compress or recompress.
 */
import type { DetectedCompression } from '../compression/detect.js';
import { FerryError } from '../errors.js';
import type { CompressionAlgorithmName, DestinationCapabilities } from '../transports/types.js';
import type { DestinationCompressionOptions } from './types.js';

export type CompressionPlan =
  | { op: 'keep' }
  | { op: 'decompress'; required: boolean; why: string }
  | {
      op: 'compress' | 'recompress';
      algorithm: CompressionAlgorithmName;
      level?: number;
      required: boolean;
      why: string;
    };

/** Everything but the layer that the compression decision depends on. */
export interface CompressionPolicy {
  capabilities: DestinationCapabilities;
  options: DestinationCompressionOptions;
  /** Algorithms the target manifest format can express. */
  formatAlgorithms: readonly CompressionAlgorithmName[];
}

/** The algorithms a layer may be stored in at this destination in this manifest format. */
export function allowedAlgorithms(policy: CompressionPolicy): CompressionAlgorithmName[] {
  const dest = policy.capabilities.supportedCompressionAlgorithms;
  return policy.formatAlgorithms.filter((a) => dest === undefined || dest.includes(a));
}

function pick(
  allowed: readonly CompressionAlgorithmName[],
  preferred: CompressionAlgorithmName | undefined,
): CompressionAlgorithmName | undefined {
  if (preferred !== undefined && allowed.includes(preferred)) return preferred;
  if (allowed.includes('gzip')) return 'gzip';
  return allowed[0];
}

/**
 * What to do with a layer compressed as `detected`. `required` marks changes the destination or
 * the caller insist on (they fail a copy that must keep its digests); the others are preferences.
 */
export function planCompression(detected: DetectedCompression, policy: CompressionPolicy): CompressionPlan {
  const { capabilities: caps, options } = policy;
  const allowed = allowedAlgorithms(policy);
  const level = options.level;
  const withLevel = level === undefined ? {} : { level };
  const decompressWanted = options.decompress === true || caps.desiredLayerCompression === 'decompress';

  if (detected === 'none') {
    if (decompressWanted || caps.desiredLayerCompression !== 'compress') return { op: 'keep' };
    const algorithm = pick(allowed, options.algorithm);
    if (algorithm === undefined) return { op: 'keep' };
    return {
      op: 'compress',
      algorithm,
      ...withLevel,
      required: false,
      why: 'the destination asks for compressed layers',
    };
  }

  // bzip2 and xz have no layer media type. As in containers/image, such a layer keeps its bytes (and
  // its source's media type) where the destination takes any algorithm and none is asked for; a
  // destination that names the algorithms it stores gets it recompressed or decompressed.
  const destinationRefuses =
    detected === 'bzip2' || detected === 'xz'
      ? caps.supportedCompressionAlgorithms !== undefined
      : !allowed.includes(detected);
  if (decompressWanted) {
    const required = options.decompress === true || destinationRefuses;
    return {
      op: 'decompress',
      required,
      why: options.decompress === true ? 'decompression was requested' : 'the destination stores layers uncompressed',
    };
  }
  if (destinationRefuses) {
    const algorithm = pick(allowed, options.algorithm);
    if (algorithm === undefined) {
      return { op: 'decompress', required: true, why: `the destination cannot store ${detected}-compressed layers` };
    }
    return {
      op: 'recompress',
      algorithm,
      ...withLevel,
      required: true,
      why: `the destination cannot store ${detected}-compressed layers here`,
    };
  }
  const requested = options.algorithm;
  if (
    requested !== undefined &&
    requested !== detected &&
    (options.force === true || caps.desiredLayerCompression === 'compress')
  ) {
    if (!allowed.includes(requested)) {
      if (options.force !== true) return { op: 'keep' };
      throw new FerryError(
        'UNSUPPORTED_COMPRESSION',
        `cannot force ${requested} compression: the destination cannot store ${requested}-compressed layers in this manifest format`,
        {
          details: { algorithm: requested, allowed },
        },
      );
    }
    return {
      op: 'recompress',
      algorithm: requested,
      ...withLevel,
      required: options.force === true,
      why: `${requested} compression was requested`,
    };
  }
  return { op: 'keep' };
}

/** The compression of the bytes a plan produces. */
export function resultingCompression(detected: DetectedCompression, plan: CompressionPlan): DetectedCompression {
  switch (plan.op) {
    case 'keep':
      return detected;
    case 'decompress':
      return 'none';
    default:
      return plan.algorithm;
  }
}
