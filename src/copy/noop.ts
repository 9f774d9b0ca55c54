/**
 * A copy with nothing to do ends early. containers/image has this as an opt-in
 * (copy.Options.OptimizeDestinationImageAlreadyExists: compare the destination's manifest with the
 * one the copy would write, skip when equal, and only when there are no signatures to write and no
 * pending manifest updates); Ferry does it by default, but only where it is exact: the copy would
 * write the source manifest unchanged (no format or compression change, no layer the destination
 * would compress or re-express), no signature would be written (none in the source, or
 * removeSignatures; no signing), and the destination already names a manifest of that digest.
 * A registry destination answers with one manifest HEAD (its Docker-Content-Digest), so a no-op
 * registry→registry copy costs the source manifest GET and that HEAD, and touches no blob.
 * Any doubt (an unknown layer type, schema 1, foreign layers, a HEAD without a digest) means the
 * full copy, which is right in every case.
 */
import { type Digest, digestAlgorithm } from '../digest/digest.js';
import {
  type ImageManifest,
  isForeignLayerMediaType,
  type ListManifest,
  layerCompressionOfMediaType,
  manifestMatchesDigest,
  type parseManifest,
} from '../manifest/index.js';
import type { RawManifest } from '../transports/types.js';
import { planCompression } from './compression-plan.js';
import { formatCompressionAlgorithms, isSchema1 } from './format.js';
import { mapLimited } from './limit.js';
import type { CopySession } from './session.js';
import { parseSourceManifest } from './single.js';
import type { CopyResult, ImageListSelection } from './types.js';

/** The one image a copy writes at the top level: known by digest first, its bytes loaded only when needed. */
export interface NoopImage {
  digest: Digest;
  /** Its media type when known before loading (a list's descriptor): a format change then costs no request. */
  mimeType?: string;
  load(): Promise<RawManifest>;
  /** Its digest in the source list, for its signatures; undefined for a top-level image. */
  sourceInstance?: Digest;
}

/** The message a skipped copy reports (upstream prints the same). */
export const SKIPPED_MESSAGE = 'Skipping: image already present at destination';

/** The result of a copy of one image that the destination already holds, or undefined to copy it. */
export async function imageAlreadyAtDestination(
  session: CopySession,
  image: NoopImage,
  signal: AbortSignal,
): Promise<CopyResult | undefined> {
  if (!shortcutAllowed(session)) return undefined;
  if (image.mimeType !== undefined && !formatKept(session, image.mimeType)) return undefined;
  const at = await destinationDigest(session, undefined, signal);
  if (at === undefined || !(await sameDigest(at, image.digest, image.load))) return undefined;
  const raw = await image.load();
  if (!(await imageUnchanged(session, raw, image.sourceInstance, signal))) return undefined;
  return skipped(session, raw, image.digest);
}

/**
 * The result of a list copy ('all' or 'index-only') that the destination already holds: the list
 * itself unchanged and present, and for 'all' every instance unchanged and present by its digest.
 * Other selections write a sparse list: always copied.
 */
export async function listAlreadyAtDestination(
  session: CopySession,
  raw: RawManifest,
  list: ListManifest,
  selection: Exclude<ImageListSelection, 'system'>,
  signal: AbortSignal,
): Promise<CopyResult | undefined> {
  if (!shortcutAllowed(session) || (selection !== 'all' && selection !== 'index-only')) return undefined;
  if (!formatKept(session, list.mimeType)) return undefined;
  const at = await destinationDigest(session, undefined, signal);
  if (at === undefined || !(await sameDigest(at, list.digest, async () => raw))) return undefined;
  if (!(await noSourceSignatures(session, undefined, signal))) return undefined;
  if (selection === 'all') {
    const instances = list.instances();
    const present = await mapLimited(instances, session.blobSlots.limit, async (instance) => {
      const instanceRaw = await session.source.getManifest(instance.digest, signal);
      if (!manifestDigestEquals(instanceRaw.bytes, instance.digest)) return false;
      if (!(await imageUnchanged(session, instanceRaw, instance.digest, signal))) return false;
      return (await destinationDigest(session, instance.digest, signal)) === instance.digest;
    });
    if (!present.every(Boolean)) return undefined;
  }
  return skipped(session, raw, list.digest);
}

/** Cheap checks first: a destination that can tell, and nothing requested that writes more than the manifest. */
function shortcutAllowed(session: CopySession): boolean {
  return session.destination.existingManifestDigest !== undefined && session.signing === undefined;
}

async function destinationDigest(
  session: CopySession,
  instance: Digest | undefined,
  signal: AbortSignal,
): Promise<Digest | undefined> {
  if (instance === undefined && session.existingDigest !== undefined) return session.existingDigest;
  return session.destination.existingManifestDigest?.(instance, signal);
}

/**
 * Asks the destination for the digest it names now, to be awaited later (noop checks): started
 * before the source is opened, so the two round trips overlap. Never rejects (an abort is seen by
 * the copy itself); undefined when the destination cannot tell.
 */
export function askDestinationDigest(
  destination: CopySession['destination'],
  signal: AbortSignal,
): Promise<Digest | undefined> | undefined {
  if (destination.existingManifestDigest === undefined) return undefined;
  return destination.existingManifestDigest(undefined, signal).catch(() => undefined);
}

/** Whether the destination's digest names `digest`'s manifest; another algorithm is checked over the bytes. */
async function sameDigest(at: Digest, digest: Digest, load: () => Promise<RawManifest>): Promise<boolean> {
  if (digestAlgorithm(at) === digestAlgorithm(digest)) return at === digest;
  return manifestDigestEquals((await load()).bytes, at);
}

function manifestDigestEquals(bytes: Buffer, digest: Digest): boolean {
  try {
    return manifestMatchesDigest(bytes, digest);
  } catch {
    return false;
  }
}

/** The manifest type is written as it is: not forced to another, and one the destination takes. */
function formatKept(session: CopySession, mimeType: string): boolean {
  const forced = session.options.forceManifestMIMEType;
  if (forced !== undefined && forced !== mimeType) return false;
  const supported = session.destination.capabilities.supportedManifestMIMETypes;
  return supported === undefined || supported.includes(mimeType);
}

/**
 * Whether copying this image would write its manifest byte for byte: its format kept, no schema 1
 * (its layers and signatures are rewritten), no foreign layer, every layer's compression (as its
 * media type declares it) kept by the compression plan, and no signature to copy.
 */
async function imageUnchanged(
  session: CopySession,
  raw: RawManifest,
  sourceInstance: Digest | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  let parsed: ReturnType<typeof parseManifest>;
  try {
    parsed = parseSourceManifest(raw);
  } catch {
    return false;
  }
  if (parsed.kind !== 'image') return false;
  const image: ImageManifest = parsed;
  if (isSchema1(image.mimeType) || !formatKept(session, image.mimeType)) return false;
  if (!image.isArtifact() && !layersKept(session, image)) return false;
  return noSourceSignatures(session, sourceInstance, signal);
}

function layersKept(session: CopySession, image: ImageManifest): boolean {
  const policy = {
    capabilities: session.destination.capabilities,
    options: session.options.destinationCompression ?? {},
    formatAlgorithms: formatCompressionAlgorithms(image.mimeType),
  };
  return image.layerInfos().every((layer) => {
    if ((layer.urls?.length ?? 0) > 0 || layer.mediaType === undefined) return false;
    if (isForeignLayerMediaType(layer.mediaType)) return false;
    const compression = layerCompressionOfMediaType(layer.mediaType);
    return compression !== undefined && planCompression(compression, policy).op === 'keep';
  });
}

/** No signature would be copied: removeSignatures, or the source has none for this manifest. */
async function noSourceSignatures(
  session: CopySession,
  instance: Digest | undefined,
  signal: AbortSignal,
): Promise<boolean> {
  if (session.options.removeSignatures === true) return true;
  return (await session.source.getSignatures(instance, signal)).length === 0;
}

function skipped(session: CopySession, raw: RawManifest, digest: Digest): CopyResult {
  session.progress.emit({ kind: 'message', text: SKIPPED_MESSAGE });
  const mimeType = parseSourceManifest(raw).mimeType;
  return { manifest: raw.bytes, manifestMIMEType: mimeType, manifestDigest: digest, alreadyPresent: true };
}
