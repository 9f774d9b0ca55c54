/**
 * Copying a manifest list / image index (containers/image copy/multiple.go): the selected
 * instances (at once; upstream copies them one by one), then the list itself, made sparse,
 * updated and converted as needed.
 */
import { setMaxListeners } from 'node:events';
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import {
  chooseInstance,
  convertList,
  type ListInstance,
  type ListManifest,
  manifestDigest,
  manifestMatchesDigest,
} from '../manifest/index.js';
import type { Platform, RawManifest } from '../transports/types.js';
import type { BlobContext } from './blob.js';
import { listTargetMIMEType } from './format.js';
import { mapLimited } from './limit.js';
import type { CopySession } from './session.js';
import { createSignatures } from './sign.js';
import { copySingleImage } from './single.js';
import type { CopyOptions, CopyResult, ImageListSelection } from './types.js';

/** Fetches an instance's manifest and checks it is the one the list names. */
export async function instanceManifest(
  session: CopySession,
  digest: Digest,
  signal: AbortSignal,
): Promise<RawManifest> {
  const raw = await session.source.getManifest(digest, signal);
  if (!manifestMatchesDigest(raw.bytes, digest)) {
    throw new FerryError(
      'DIGEST_MISMATCH',
      `manifest of instance ${digest} does not match its digest (got ${manifestDigest(raw.bytes)})`,
      {
        details: { expected: digest, actual: manifestDigest(raw.bytes) },
      },
    );
  }
  return raw;
}

function platformMatches(have: Platform | undefined, want: Platform): boolean {
  if (have === undefined) return false;
  return (
    have.os === want.os &&
    have.architecture === want.architecture &&
    (want.variant === undefined || (have.variant ?? '') === want.variant)
  );
}

/** The instance of `list` a 'system' selection copies: the one for the wanted platform (source overrides, else this machine). */
export function systemInstance(list: ListManifest, options: CopyOptions): ListInstance {
  const so = options.sourceOptions ?? {};
  return chooseInstance(list, {
    ...(so.os === undefined ? {} : { os: so.os }),
    ...(so.architecture === undefined ? {} : { architecture: so.architecture }),
    ...(so.variant === undefined ? {} : { variant: so.variant }),
  });
}

/** The instances a selection names, in list order; every named platform / digest must be present. */
export function selectInstances(list: ListManifest, selection: Exclude<ImageListSelection, 'system'>): ListInstance[] {
  const instances = list.instances();
  if (selection === 'all') return instances;
  if (selection === 'index-only') return [];
  const wantedDigests = new Set<Digest>(selection.instances ?? []);
  for (const d of wantedDigests) {
    if (!instances.some((i) => i.digest === d)) {
      throw new FerryError(
        'IMAGE_NOT_FOUND',
        `instance ${d} is not in the source ${list.mimeType === 'application/vnd.oci.image.index.v1+json' ? 'index' : 'manifest list'}`,
        {
          details: { digest: d },
        },
      );
    }
  }
  for (const p of selection.platforms ?? []) {
    if (!instances.some((i) => platformMatches(i.platform, p))) {
      throw new FerryError(
        'NO_MATCHING_PLATFORM',
        `no instance for platform ${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''} in the source list`,
        {
          details: { wanted: p, available: instances.map((i) => i.platform) },
        },
      );
    }
  }
  return instances.filter(
    (i) => wantedDigests.has(i.digest) || (selection.platforms ?? []).some((p) => platformMatches(i.platform, p)),
  );
}

export async function copyMultipleImages(
  session: CopySession,
  ctx: BlobContext,
  raw: RawManifest,
  list: ListManifest,
  selection: Exclude<ImageListSelection, 'system'>,
): Promise<CopyResult> {
  const { destination, options } = session;
  const caps = destination.capabilities;
  const signal = ctx.signal;
  if (!caps.supportsMultipleImages) {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `destination ${session.destinationName} does not support copying multiple images as a group (copy one platform instead)`,
    );
  }
  const targetType = listTargetMIMEType({
    sourceListMIMEType: list.mimeType,
    capabilities: caps,
    destinationName: session.destinationName,
    ...(options.forceManifestMIMEType === undefined ? {} : { forceManifestMIMEType: options.forceManifestMIMEType }),
  });

  let listSignatures: Buffer[] = [];
  if (options.removeSignatures !== true) {
    session.progress.emit({ kind: 'signatures-getting' });
    listSignatures = await session.source.getSignatures(undefined, signal);
    if (listSignatures.length > 0 && !caps.supportsSignatures) {
      throw new FerryError(
        'UNSUPPORTED_OPERATION',
        `the source list has ${listSignatures.length} signature(s), but destination ${session.destinationName} does not support signatures (removeSignatures, --remove-signatures in the CLI, drops them)`,
      );
    }
  }
  const cannotModifyReason =
    options.preserveDigests === true
      ? 'preserveDigests is set'
      : listSignatures.length > 0
        ? 'that would invalidate the source signatures (removeSignatures, --remove-signatures in the CLI, drops them)'
        : undefined;

  const selected = selectInstances(list, selection);
  // The instances are copied at once (their layers share the session's blob slots, so a list of
  // small images keeps as many blobs in flight as one big image); the first failure stops the rest.
  const stop = new AbortController();
  const instanceSignal = AbortSignal.any([signal, stop.signal]);
  setMaxListeners(0, instanceSignal);
  const instanceCtx: BlobContext = { ...ctx, signal: instanceSignal };
  const copies = await mapLimited(
    selected,
    session.blobSlots.limit,
    async (instance) => {
      const instanceRaw = await instanceManifest(session, instance.digest, instanceSignal);
      return copySingleImage(session, instanceCtx, {
        raw: instanceRaw,
        sourceInstance: instance.digest,
        asInstance: true,
      });
    },
    () => stop.abort(),
  );
  const updated = new Map<Digest, ListInstance>();
  selected.forEach((instance, i) => {
    const copied = copies[i] as (typeof copies)[number];
    updated.set(
      instance.digest,
      copied.changed
        ? { ...instance, digest: copied.digest, size: copied.manifest.length, mediaType: copied.mimeType }
        : instance,
    );
  });

  const sparse = selection !== 'all' && selection !== 'index-only' && selected.length < list.instances().length;
  const instancesChanged = [...updated.entries()].some(([from, to]) => to.digest !== from);
  let written: ListManifest = list;
  if (sparse || instancesChanged) {
    const kept = sparse ? list.instances().filter((i) => updated.has(i.digest)) : list.instances();
    written = list.withInstances(kept.map((i) => updated.get(i.digest) ?? i));
  }
  if (targetType !== written.mimeType) written = convertList(written, targetType);
  if (cannotModifyReason !== undefined && !written.bytes.equals(raw.bytes)) {
    const why = sparse
      ? 'copying a subset of its instances'
      : targetType !== list.mimeType
        ? `converting it to ${targetType}`
        : 'updating its instances';
    throw new FerryError('PRESERVE_DIGESTS_VIOLATED', `the list would change (${why}), but ${cannotModifyReason}`);
  }

  session.progress.emit({ kind: 'manifest-writing' });
  await destination.putManifest(written.bytes, undefined, signal);
  const added = await createSignatures(session.signing, written.bytes, session.progress, signal);
  if (listSignatures.length + added.length > 0) {
    session.progress.emit({ kind: 'signatures-writing' });
    await destination.putSignatures([...listSignatures, ...added], undefined, signal);
  }
  const digest = written.bytes.equals(raw.bytes) ? list.digest : manifestDigest(written.bytes);
  return { manifest: written.bytes, manifestMIMEType: written.mimeType, manifestDigest: digest };
}
