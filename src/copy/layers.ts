/**
 * Copying an image's layers: reuse when the destination already has them, pass foreign layers
 * through when allowed, otherwise stream them through the blob pipeline, several at once when
 * both ends allow it.
 */
import { setMaxListeners } from 'node:events';
import type { DetectedCompression } from '../compression/detect.js';
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { layerCompressionOfMediaType, type LayerInfo } from '../manifest/index.js';
import type {
  BlobInfo,
  CompressionAlgorithmName,
  ImageDestination,
  ImageSource,
  ReusedBlob,
  TryReusingBlobOptions,
} from '../transports/types.js';
import { type BlobContext, streamBlob } from './blob.js';
import { type CompressionPlan, type CompressionPolicy, planCompression } from './compression-plan.js';
import { mapLimited } from './limit.js';
import type { CopySession, LayerResult } from './session.js';
import type { CopyOptions } from './types.js';

export type { LayerResult } from './session.js';

/** Default number of blobs copied at once (upstream's value). */
export const DEFAULT_MAX_PARALLEL_BLOBS = 6;

export interface LayerCopyPlan {
  policy: CompressionPolicy;
  /** Artifacts: bytes are never looked at or changed. */
  keepBytes: boolean;
  /** Set when the manifest must stay identical: required compression changes then fail with this reason. */
  cannotModifyReason?: string;
  computeDiffIDs: boolean;
  /** Manifest types a substituted layer must be expressible in (the type the layers are planned for). */
  possibleManifestFormats: readonly string[];
  /** Key that makes two plans interchangeable, for the session's layer cache. */
  key: string;
  /** No substitute blob may stand in for a layer (set when the copy signs what it writes). */
  noSubstitutes?: boolean;
}

/** Layers copied at once: `maxParallelBlobs` (default 6) when both ends take concurrent blobs, else 1. */
export function maxParallelBlobs(source: ImageSource, destination: ImageDestination, options: CopyOptions): number {
  if (!source.hasThreadSafeGetBlob || !destination.capabilities.hasThreadSafePutBlob) return 1;
  return Math.max(1, options.maxParallelBlobs ?? DEFAULT_MAX_PARALLEL_BLOBS);
}

/** Copies every layer of `layers` (same order in the result); equal digests are copied once. */
export async function copyLayers(
  session: CopySession,
  ctx: BlobContext,
  layers: readonly LayerInfo[],
  plan: LayerCopyPlan,
): Promise<LayerResult[]> {
  const parallel = session.blobSlots.limit;
  const unique = [...new Map(layers.map((l) => [l.digest, l])).values()];
  // One failure stops the blobs still in flight instead of letting them run to the end.
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  // Every blob in flight adds listeners (its pipelines, its requests): no MaxListenersExceededWarning.
  setMaxListeners(0, signal);
  const layerCtx: BlobContext = { ...ctx, signal };
  const results = new Map<Digest, LayerResult>();
  await mapLimited(
    unique,
    parallel,
    async (layer) => {
      const key = `${layer.digest}|${plan.key}`;
      const cached = session.layerCache.get(key);
      if (cached !== undefined) {
        const result = await cached;
        session.progress.emit({ kind: 'blob-skipped', blob: layer, isConfig: false, reason: 'already-exists' });
        results.set(layer.digest, result);
        return;
      }
      const copying = session.blobSlots.run(() => copyLayer(layerCtx, layer, plan));
      session.layerCache.set(key, copying);
      copying.catch(() => session.layerCache.delete(key));
      results.set(layer.digest, await copying);
    },
    () => stop.abort(),
  );
  return layers.map((l) => results.get(l.digest) as LayerResult);
}

function compressionOfLayer(layer: BlobInfo): DetectedCompression | undefined {
  return layer.mediaType === undefined ? undefined : layerCompressionOfMediaType(layer.mediaType);
}

/** The compression decision for a layer, refusing required changes when the manifest must not change. */
function decide(detected: DetectedCompression, plan: LayerCopyPlan, layer: BlobInfo): CompressionPlan {
  const decision = planCompression(detected, plan.policy);
  if (decision.op === 'keep' || plan.cannotModifyReason === undefined) return decision;
  if (!decision.required) return { op: 'keep' };
  throw new FerryError(
    'PRESERVE_DIGESTS_VIOLATED',
    `layer ${layer.digest} would have to change (${decision.op}: ${decision.why}), but ${plan.cannotModifyReason}`,
    { details: { digest: layer.digest, operation: decision.op } },
  );
}

/**
 * What a reused layer must satisfy (containers/image TryReusingBlobOptions), or undefined when
 * reuse is pointless: the declared compression is unknown, or it must change and no substitute
 * can be known.
 */
function reuseConditions(
  ctx: BlobContext,
  layer: LayerInfo,
  plan: LayerCopyPlan,
  declared: DetectedCompression | undefined,
): Pick<TryReusingBlobOptions, 'canSubstitute' | 'requiredCompression'> | undefined {
  if (plan.keepBytes) return { canSubstitute: false };
  if (declared === undefined) return undefined;
  const decision = decide(declared, plan, layer);
  // Another blob may stand in only when the manifest may change (decide() already refused required changes otherwise).
  const canSubstitute = plan.cannotModifyReason === undefined && plan.noSubstitutes !== true;
  const { force, algorithm } = plan.policy.options;
  if (decision.op === 'keep') {
    const required: CompressionAlgorithmName | undefined = force === true ? algorithm : undefined;
    return { canSubstitute, ...(required === undefined ? {} : { requiredCompression: required }) };
  }
  // A compression change is skipped only by a substitute already in the wanted compression, which
  // the cache can know only if it knows this layer's uncompressed digest.
  if (decision.op === 'decompress' || !canSubstitute || ctx.cache.uncompressedDigest(layer.digest) === undefined)
    return undefined;
  return { canSubstitute: true, requiredCompression: decision.algorithm };
}

/** The layer as the destination already has it (or a substitute of it), without moving its bytes. */
async function tryReusingLayer(
  ctx: BlobContext,
  layer: LayerInfo,
  plan: LayerCopyPlan,
  declared: DetectedCompression | undefined,
): Promise<LayerResult | undefined> {
  const conditions = reuseConditions(ctx, layer, plan, declared);
  if (conditions === undefined) return undefined;
  const reused: ReusedBlob | undefined = await ctx.destination.tryReusingBlob(layer, {
    isConfig: false,
    signal: ctx.signal,
    cache: ctx.cache,
    ...conditions,
    possibleManifestFormats: plan.possibleManifestFormats,
  });
  if (reused === undefined) return undefined;
  const written: BlobInfo = {
    digest: reused.digest,
    size: reused.size,
    ...(reused.mediaType === undefined ? {} : { mediaType: reused.mediaType }),
  };
  let result: LayerResult;
  if (reused.digest === layer.digest) {
    // A destination that ignores requiredCompression may offer the source's own blob: not what this plan wants.
    if (conditions.requiredCompression !== undefined && declared !== conditions.requiredCompression) return undefined;
    result = { written, compression: declared, changed: false, foreignPassedThrough: false };
  } else {
    if (reused.compression === undefined || conditions.canSubstitute !== true) return undefined;
    result = { written, compression: reused.compression, changed: true, foreignPassedThrough: false };
  }
  ctx.progress.emit({ kind: 'blob-skipped', blob: layer, isConfig: false, reason: 'already-exists' });
  return result;
}

async function copyLayer(ctx: BlobContext, layer: LayerInfo, plan: LayerCopyPlan): Promise<LayerResult> {
  const caps = ctx.destination.capabilities;
  const declared = compressionOfLayer(layer);
  if (layer.urls !== undefined && layer.urls.length > 0 && caps.acceptsForeignLayerURLs) {
    return { written: layer, compression: declared, changed: false, foreignPassedThrough: true };
  }
  // Reuse needs no bytes, so it is only possible when no diffID must be computed.
  if (!plan.computeDiffIDs) {
    const reused = await tryReusingLayer(ctx, layer, plan, declared);
    if (reused !== undefined) return reused;
  }
  const streamed = await streamBlob(ctx, layer, {
    isConfig: false,
    ...(plan.keepBytes ? {} : { plan: (detected: DetectedCompression) => decide(detected, plan, layer) }),
    computeDiffID: plan.computeDiffIDs,
  });
  const result: LayerResult = {
    written: streamed.written,
    compression: plan.keepBytes ? declared : streamed.compression,
    changed: streamed.changed,
    foreignPassedThrough: false,
  };
  if (streamed.diffID !== undefined) result.diffID = streamed.diffID;
  return result;
}
