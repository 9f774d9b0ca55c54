/**
 * Copying one image (containers/image copy/single.go): signatures check, format choice, layers,
 * config, manifest with fallback to the next acceptable format, signatures.
 */
import type { Digest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import {
  type ConversionResult,
  type ConvertOptions,
  convertImageManifest,
  type ImageManifest,
  isEncryptedLayerMediaType,
  isForeignLayerMediaType,
  isKnownManifestMIMEType,
  type LayerCompression,
  type LayerInfo,
  layerCompressionOfMediaType,
  layerMediaType,
  manifestDigest,
  parseManifest,
} from '../manifest/index.js';
import type { RawManifest } from '../transports/types.js';
import { type BlobContext, copyBlobAsIs, putBytes, readBlobBytes } from './blob.js';
import { formatCompressionAlgorithms, isSchema1, manifestCandidates } from './format.js';
import { copyLayers, type LayerCopyPlan, type LayerResult } from './layers.js';
import { type CannotModify, manifestForCopy } from './layers-for-copy.js';
import type { CopySession } from './session.js';
import { createSignatures } from './sign.js';

export interface SingleImageInput {
  raw: RawManifest;
  /** The source instance (for its signatures), when the image is an instance of a list. */
  sourceInstance?: Digest;
  /** Write the manifest as an instance of a list (putManifest with its digest) rather than top-level. */
  asInstance: boolean;
}

export interface SingleImageResult {
  manifest: Buffer;
  mimeType: string;
  digest: Digest;
  /** Whether the written manifest differs from the source's. */
  changed: boolean;
}

/**
 * Whether a manifest is copied as an artifact, byte for byte: an OCI artifact (its config is not an
 * image config), or a manifest with a layer of a media type that is not a layer type (a cosign
 * signature's `application/vnd.dev.cosign.simplesigning.v1+json`, an SBOM): its compression cannot be
 * changed, as containers/image's CanChangeLayerCompression says of unknown media types. Encrypted
 * layers keep their own handling.
 */
function copiedAsArtifact(src: ImageManifest): boolean {
  if (src.isArtifact()) return true;
  return src.layerInfos().some((l) => {
    const mt = l.mediaType;
    return (
      mt !== undefined && mt !== '' && layerCompressionOfMediaType(mt) === undefined && !isEncryptedLayerMediaType(mt)
    );
  });
}

/** Parses source manifest bytes, trusting the source's MIME type only when Ferry knows it. */
export function parseSourceManifest(raw: RawManifest): ReturnType<typeof parseManifest> {
  return parseManifest(raw.bytes, isKnownManifestMIMEType(raw.mimeType) ? raw.mimeType : undefined);
}

export async function copySingleImage(
  session: CopySession,
  ctx: BlobContext,
  input: SingleImageInput,
): Promise<SingleImageResult> {
  const { options, destination } = session;
  const caps = destination.capabilities;
  const signal = ctx.signal;
  const parsed = parseSourceManifest(input.raw);
  if (parsed.kind !== 'image') {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `a manifest list nested in a manifest list (${input.sourceInstance ?? 'top level'}) cannot be copied`,
    );
  }
  const artifact = copiedAsArtifact(parsed);

  const signatures = await sourceSignatures(session, input.sourceInstance, signal);

  let cannotModify: CannotModify | undefined;
  if (options.preserveDigests === true)
    cannotModify = { reason: 'preserveDigests is set', code: 'PRESERVE_DIGESTS_VIOLATED' };
  else if (signatures.length > 0) {
    cannotModify = {
      reason:
        'that would invalidate the source signatures (removeSignatures, --remove-signatures in the CLI, drops them)',
      code: 'PRESERVE_DIGESTS_VIOLATED',
    };
  } else if (artifact) {
    cannotModify = { reason: 'it is an OCI artifact, which is copied unchanged', code: 'CONVERSION_UNSUPPORTED' };
  }
  // The layers the source can serve (containers-storage: uncompressed, by diffID) may not be the manifest's.
  const src = await manifestForCopy(session.source, parsed, input.sourceInstance, cannotModify, signal);

  const compression = options.destinationCompression ?? {};
  const wantsCompression =
    compression.decompress !== true &&
    caps.desiredLayerCompression !== 'decompress' &&
    (compression.force === true || caps.desiredLayerCompression === 'compress');
  const candidates = manifestCandidates({
    sourceMIMEType: src.mimeType,
    capabilities: caps,
    destinationName: session.destinationName,
    ...(options.forceManifestMIMEType === undefined ? {} : { forceManifestMIMEType: options.forceManifestMIMEType }),
    ...(cannotModify === undefined ? {} : { cannotModify }),
    ...(cannotModify === undefined && wantsCompression && compression.algorithm !== undefined
      ? { requiredAlgorithm: compression.algorithm }
      : {}),
  });
  const primary = candidates[0] as string;

  const computeDiffIDs = isSchema1(src.mimeType) && candidates.some((t) => !isSchema1(t));
  const plan: LayerCopyPlan = {
    policy: { capabilities: caps, options: compression, formatAlgorithms: formatCompressionAlgorithms(primary) },
    keepBytes: artifact,
    computeDiffIDs,
    // Only the primary type: the compression plan is made for it, and a zstd substitute must not force a format change.
    possibleManifestFormats: [primary],
    key: `${primary}|${cannotModify === undefined}|${computeDiffIDs}|${artifact}`,
    // A signature vouches for exactly the bytes copied: no other blob may stand in (as upstream).
    ...(session.signing === undefined ? {} : { noSubstitutes: true }),
    ...(cannotModify === undefined ? {} : { cannotModifyReason: cannotModify.reason }),
  };
  const sourceLayers = src.layerInfos();
  const layers = await copyLayers(session, ctx, sourceLayers, plan);

  const config = new ConfigCopier(ctx, src);
  const failures: string[] = [];
  let lastError: unknown;
  for (const target of candidates) {
    try {
      const built = await buildManifest(src, target, sourceLayers, layers, config, Boolean(cannotModify));
      if (cannotModify !== undefined && !built.manifest.bytes.equals(input.raw.bytes)) {
        throw new FerryError(cannotModify.code, `the manifest would change, but ${cannotModify.reason}`);
      }
      const digest = built.manifest.bytes.equals(input.raw.bytes) ? src.digest : manifestDigest(built.manifest.bytes);
      const configInfo = built.manifest.configInfo();
      if (built.configBytes !== undefined) await putBytes(ctx, built.configBytes, configInfo?.mediaType, true);
      else if (configInfo !== undefined) await config.copyUnchanged();
      for (const extra of built.extraBlobs) await putBytes(ctx, extra.bytes, extra.mediaType, false);
      session.progress.emit({ kind: 'manifest-writing', ...(input.asInstance ? { instanceDigest: digest } : {}) });
      await destination.putManifest(built.manifest.bytes, input.asInstance ? digest : undefined, signal);
      const added = await createSignatures(session.signing, built.manifest.bytes, session.progress, signal);
      if (signatures.length + added.length > 0) {
        session.progress.emit({ kind: 'signatures-writing' });
        await destination.putSignatures([...signatures, ...added], input.asInstance ? digest : undefined, signal);
      }
      return {
        manifest: built.manifest.bytes,
        mimeType: built.manifest.mimeType,
        digest,
        changed: !built.manifest.bytes.equals(input.raw.bytes),
      };
    } catch (e) {
      if (!isFerryError(e, 'MANIFEST_REJECTED') && !isFerryError(e, 'CONVERSION_UNSUPPORTED')) throw e;
      if (signal.aborted) throw e;
      lastError = e;
      failures.push(`${target}: ${e.message}`);
      session.progress.emit({ kind: 'message', text: `manifest type ${target} not written: ${e.message}` });
    }
  }
  if (failures.length === 1) throw lastError;
  const code = isFerryError(lastError) ? lastError.code : 'MANIFEST_REJECTED';
  throw new FerryError(
    code,
    `no manifest type could be written to ${session.destinationName}: ${failures.join('; ')}`,
    {
      cause: lastError,
      details: { candidates },
    },
  );
}

async function sourceSignatures(
  session: CopySession,
  instance: Digest | undefined,
  signal: AbortSignal,
): Promise<Buffer[]> {
  if (session.options.removeSignatures === true) return [];
  session.progress.emit({ kind: 'signatures-getting' });
  const signatures = await session.source.getSignatures(instance, signal);
  if (signatures.length > 0 && !session.destination.capabilities.supportsSignatures) {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `the source image has ${signatures.length} signature(s), but destination ${session.destinationName} does not support signatures (removeSignatures, --remove-signatures in the CLI, drops them)`,
    );
  }
  return signatures;
}

/** The source config: copied unchanged through the pipeline (once), or read into memory for a conversion. */
class ConfigCopier {
  #bytes: Promise<Buffer | undefined> | undefined;
  #copied: Promise<unknown> | undefined;

  constructor(
    readonly ctx: BlobContext,
    readonly manifest: ImageManifest,
  ) {}

  /** The config bytes (digest-verified); undefined for schema1, which has none. */
  bytes(): Promise<Buffer | undefined> {
    const info = this.manifest.configInfo();
    this.#bytes ??= info === undefined ? Promise.resolve(undefined) : readBlobBytes(this.ctx, info, 'config');
    return this.#bytes;
  }

  copyUnchanged(): Promise<unknown> {
    this.#copied ??= this.#copy();
    return this.#copied;
  }

  async #copy(): Promise<void> {
    const info = this.manifest.configInfo();
    if (info === undefined) return;
    if (this.#bytes !== undefined) {
      const bytes = await this.#bytes;
      if (bytes !== undefined) await putBytes(this.ctx, bytes, info.mediaType, true);
      return;
    }
    // The config is never substituted: the manifest names it by digest.
    await copyBlobAsIs(this.ctx, info, true);
  }
}

interface BuiltManifest {
  manifest: ImageManifest;
  /** New config bytes to store (a conversion changed them); undefined = the source config, unchanged. */
  configBytes?: Buffer;
  extraBlobs: { bytes: Buffer; mediaType?: string }[];
}

/** The layers as a manifest of `vocabulary` type lists them after the copy. */
function updatedLayers(
  vocabulary: string,
  sourceLayers: readonly LayerInfo[],
  results: readonly LayerResult[],
  keepForeign: boolean,
): LayerInfo[] {
  return sourceLayers.map((layer, i) => {
    const r = results[i] as LayerResult;
    const foreign = layer.urls !== undefined && layer.urls.length > 0;
    const becameLocal = foreign && !r.foreignPassedThrough && !keepForeign;
    if (!r.changed && !becameLocal) {
      return r.written.digest === layer.digest ? layer : { ...layer, digest: r.written.digest, size: r.written.size };
    }
    const updated: LayerInfo = { ...layer, digest: r.written.digest, size: r.written.size };
    if (becameLocal) delete updated.urls;
    const isForeign =
      !becameLocal && (foreign || (layer.mediaType !== undefined && isForeignLayerMediaType(layer.mediaType)));
    if (r.compression === 'gzip' || r.compression === 'zstd' || r.compression === 'none') {
      updated.mediaType = layerMediaType(vocabulary, r.compression as LayerCompression, isForeign);
    }
    return updated;
  });
}

function layersEdited(sourceLayers: readonly LayerInfo[], edited: readonly LayerInfo[]): boolean {
  return edited.some((l, i) => l !== sourceLayers[i]);
}

/** The manifest for `target`: the source's (edited for changed layers), or a conversion of it. */
async function buildManifest(
  src: ImageManifest,
  target: string,
  sourceLayers: readonly LayerInfo[],
  results: readonly LayerResult[],
  config: ConfigCopier,
  keepForeign: boolean,
): Promise<BuiltManifest> {
  for (const [i, r] of results.entries()) {
    if (r.changed && r.compression === 'zstd' && !formatCompressionAlgorithms(target).includes('zstd')) {
      throw new FerryError(
        'CONVERSION_UNSUPPORTED',
        `layer ${sourceLayers[i]?.digest} is now zstd-compressed, which ${target} cannot express`,
      );
    }
  }
  if (target === src.mimeType) {
    const edited = updatedLayers(target, sourceLayers, results, keepForeign);
    return { manifest: layersEdited(sourceLayers, edited) ? src.withUpdates({ layers: edited }) : src, extraBlobs: [] };
  }
  const configBytes = await config.bytes();
  const diffIDs = results.map((r) => r.diffID);
  const conversionOptions: ConvertOptions = {
    config: configBytes ?? Buffer.alloc(0),
    layerInfos: results.map((r) => r.written),
    ...(diffIDs.every((d): d is Digest => d !== undefined) ? { diffIDs } : {}),
  };
  let sourceVocabulary: LayerInfo[] | undefined;
  try {
    sourceVocabulary = updatedLayers(src.mimeType, sourceLayers, results, keepForeign);
  } catch (e) {
    if (!isFerryError(e, 'CONVERSION_UNSUPPORTED')) throw e;
  }
  let converted: ConversionResult;
  if (sourceVocabulary !== undefined) {
    const edited = layersEdited(sourceLayers, sourceVocabulary) ? src.withUpdates({ layers: sourceVocabulary }) : src;
    converted = convertImageManifest(edited, target, conversionOptions);
  } else {
    // The source format cannot express the new compression (schema2 → zstd): convert, then edit in the target's terms.
    converted = convertImageManifest(src, target, conversionOptions);
    const kept =
      converted.manifest.layerInfos().length === sourceLayers.length
        ? sourceLayers.map((_, i) => i)
        : nonEmptyIndexes(sourceLayers);
    const edited = updatedLayers(target, sourceLayers, results, keepForeign);
    converted = {
      ...converted,
      manifest: converted.manifest.withUpdates({ layers: kept.map((i) => edited[i] as LayerInfo) }),
    };
  }
  const built: BuiltManifest = {
    manifest: converted.manifest,
    extraBlobs: (converted.extraBlobs ?? []).map((b) => ({
      bytes: b.bytes,
      ...(b.info.mediaType === undefined ? {} : { mediaType: b.info.mediaType }),
    })),
  };
  if (
    converted.manifest.configInfo() !== undefined &&
    (configBytes === undefined || !converted.config.equals(configBytes))
  ) {
    built.configBytes = converted.config;
  }
  return built;
}

function nonEmptyIndexes(layers: readonly LayerInfo[]): number[] {
  return layers.flatMap((l, i) => (l.emptyLayer ? [] : [i]));
}
