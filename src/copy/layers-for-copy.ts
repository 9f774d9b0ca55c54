/**
 * A source's own view of the layers it can serve (containers/image copy/single.go, copyLayers with
 * ImageSource.LayerInfosForCopy). When the source offers one and it differs from what the manifest
 * lists — containers-storage, which keeps layers uncompressed, serves a layer pulled compressed
 * only by its diffID — those are the layers copied, and the manifest written is the source's,
 * updated to them. That changes the manifest digest: refused, as upstream, when the manifest must
 * stay as it is (signatures kept, preserveDigests).
 */
import type { Digest } from '../digest/digest.js';
import { FerryError, type FerryErrorCode } from '../errors.js';
import type { ImageManifest, LayerInfo } from '../manifest/index.js';
import type { BlobInfo, ImageSource } from '../transports/types.js';

/** Why the manifest must stay unchanged, with the error code a refusal carries. */
export interface CannotModify {
  reason: string;
  code: FerryErrorCode;
}

/**
 * The manifest whose layers the copy reads: `manifest` itself, or, when the source serves other
 * layers (layerInfosForCopy), `manifest` with its layers replaced by those.
 */
export async function manifestForCopy(
  source: ImageSource,
  manifest: ImageManifest,
  instance: Digest | undefined,
  cannotModify: CannotModify | undefined,
  signal: AbortSignal,
): Promise<ImageManifest> {
  if (source.layerInfosForCopy === undefined) return manifest;
  const updated = await source.layerInfosForCopy(instance, signal);
  if (updated === undefined) return manifest;
  const listed = manifest.layerInfos();
  if (updated.length !== listed.length) {
    throw new FerryError(
      'INVALID_LAYOUT',
      `${source.reference.toString()}: the source serves ${updated.length} layers for a manifest listing ${listed.length}`,
    );
  }
  // As upstream (a deep comparison of the two lists): any difference means the manifest is rewritten.
  if (updated.every((u, i) => sameInfo(u, listed[i] as LayerInfo))) return manifest;
  if (cannotModify !== undefined) {
    throw new FerryError(
      cannotModify.code,
      `Copying this image would require changing layer representation, which we cannot do: ${cannotModify.reason}`,
      { details: { source: source.reference.toString() } },
    );
  }
  return manifest.withUpdates({
    layers: updated.map((u, i) => ({ ...u, ...((listed[i] as LayerInfo).emptyLayer ? { emptyLayer: true } : {}) })),
  });
}

function sameInfo(a: BlobInfo, b: BlobInfo): boolean {
  return (
    a.digest === b.digest &&
    a.size === b.size &&
    a.mediaType === b.mediaType &&
    JSON.stringify(a.urls ?? []) === JSON.stringify(b.urls ?? []) &&
    JSON.stringify(a.annotations ?? {}) === JSON.stringify(b.annotations ?? {})
  );
}
