/**
 * copyImage (containers/image copy.Image): copies an image, or a list of images, from any source
 * to any destination through the transport contract. Nothing is visible at the destination
 * unless the whole copy succeeds: any failure or abort closes it without commit.
 *
 * Copies into one repository of a Distribution registry are best not run at once when their images
 * share blobs: its filesystem storage rewrites the repository's links in place, and a manifest PUT
 * can then find a blob it needs missing for a moment. syncImages copies into one repository at a time.
 */
import { setMaxListeners } from 'node:events';
import { type BlobInfoCache, LazyBlobInfoCache, openBlobInfoCache } from '../blobinfocache/index.js';
import { abortError, throwIfAborted } from '../errors.js';
import type { ImageDestination, ImageReference, ImageSource, RawManifest } from '../transports/types.js';
import { maxParallelBlobs } from './layers.js';
import { Semaphore } from './limit.js';
import { copyMultipleImages, instanceManifest, systemInstance } from './list.js';
import { askDestinationDigest, imageAlreadyAtDestination, listAlreadyAtDestination } from './noop.js';
import { ProgressReporter } from './progress.js';
import { RedriveBudget, redrivePolicy } from './redrive.js';
import { carryReferrers, checkReferrersSupport, referrersCopyOptions } from './referrers.js';
import { blobContext, type CopySession } from './session.js';
import { checkSigningDestination, prepareSigning } from './sign.js';
import { enforceCopyPolicy } from './policy.js';
import { copySingleImage, parseSourceManifest } from './single.js';
import { readOnce } from './source-reads.js';
import type { CopyOptions, CopyResult } from './types.js';

export async function copyImage(
  src: ImageReference,
  dest: ImageReference,
  callerOptions: CopyOptions = {},
): Promise<CopyResult> {
  const options = referrersCopyOptions(callerOptions);
  const userSignal = options.signal;
  throwIfAborted(userSignal);
  // One internal signal for every stage of this copy, following the caller's: each blob adds
  // listeners to it (streams, requests), so the default limit of 10 would warn on any real image.
  const controller = new AbortController();
  const signal = controller.signal;
  setMaxListeners(0, signal);
  const forwardAbort = () => controller.abort(userSignal?.reason);
  userSignal?.addEventListener('abort', forwardAbort, { once: true });
  let destination: ImageDestination | undefined;
  let source: ImageSource | undefined;
  let failed = false;
  const progress = new ProgressReporter(options.onProgress);
  const cache = copyCache(options.blobInfoCache, progress);
  try {
    const signing = await prepareSigning(options.signing, dest);
    // The source first: its policy is decided before the destination is opened (nothing written on a refusal).
    // Read through one memo: the policy, the no-op check and the copy read each manifest and its signatures once.
    source = readOnce(await src.newImageSource({ ...options.sourceOptions, signal }));
    const topLevel = await source.getManifest(undefined, signal);
    await enforceCopyPolicy(src, source, topLevel, options, signal);
    destination = await dest.newImageDestination({ ...options.destinationOptions, signal });
    checkSigningDestination(signing, destination, dest.toString());
    // The destination's digest is asked for now, answered while the copy plans (undefined when signing).
    const existingDigest = signing === undefined ? askDestinationDigest(destination, signal) : undefined;
    const session: CopySession = {
      source,
      destination,
      options,
      progress,
      destinationName: dest.toString(),
      layerCache: new Map(),
      blobSlots: new Semaphore(maxParallelBlobs(source, destination, options)),
      blobInfoCache: cache.cache,
      redrive: new RedriveBudget(redrivePolicy(options)),
      ...(signing === undefined ? {} : { signing }),
      ...(existingDigest === undefined ? {} : { existingDigest }),
    };
    if (options.withReferrers === true) checkReferrersSupport(session);
    const result = await copyTopLevel(session, topLevel, signal);
    await carryReferrers(session, signal, result);
    throwIfAborted(userSignal);
    await destination.commit(signal);
    return result;
  } catch (e) {
    failed = true;
    if (userSignal?.aborted) throw abortError(userSignal);
    throw e;
  } finally {
    userSignal?.removeEventListener('abort', forwardAbort);
    await closeQuietly(source, failed);
    await closeQuietly(destination, failed);
    if (cache.owned) cache.cache.close();
  }
}

/** The cache the options name: an open one is the caller's to close; a spec (or the default) is opened here and closed by the copy. */
function copyCache(
  option: CopyOptions['blobInfoCache'],
  progress: ProgressReporter,
): { cache: BlobInfoCache; owned: boolean } {
  if (typeof option === 'object') return { cache: option, owned: false };
  const onWarning = (message: string): void => progress.emit({ kind: 'message', text: message });
  // Opened on first use: a copy that ends early (noop.ts) never opens the database.
  return { cache: new LazyBlobInfoCache(() => openBlobInfoCache(option, { onWarning })), owned: true };
}

async function closeQuietly(closable: { close(): Promise<void> } | undefined, failed: boolean): Promise<void> {
  if (closable === undefined) return;
  try {
    await closable.close();
  } catch (e) {
    // A close failure after a copy failure must not hide the original error.
    if (!failed) throw e;
  }
}

async function copyTopLevel(session: CopySession, raw: RawManifest, signal: AbortSignal): Promise<CopyResult> {
  const ctx = blobContext(session, signal);
  const parsed = parseSourceManifest(raw);
  const selection = session.options.imageListSelection ?? 'system';
  if (parsed.kind === 'list') {
    if (selection !== 'system') {
      const already = await listAlreadyAtDestination(session, raw, parsed, selection, signal);
      return already ?? copyMultipleImages(session, ctx, raw, parsed, selection);
    }
    const instance = systemInstance(parsed, session.options);
    let loaded: Promise<RawManifest> | undefined;
    const load = () => {
      loaded ??= instanceManifest(session, instance.digest, signal);
      return loaded;
    };
    const already = await imageAlreadyAtDestination(
      session,
      {
        digest: instance.digest,
        ...(instance.mediaType === undefined ? {} : { mimeType: instance.mediaType }),
        load,
        sourceInstance: instance.digest,
      },
      signal,
    );
    if (already !== undefined) return already;
    const instanceRaw = await load();
    const copied = await copySingleImage(session, ctx, {
      raw: instanceRaw,
      sourceInstance: instance.digest,
      asInstance: false,
    });
    return { manifest: copied.manifest, manifestMIMEType: copied.mimeType, manifestDigest: copied.digest };
  }
  const already = await imageAlreadyAtDestination(
    session,
    { digest: parsed.digest, mimeType: parsed.mimeType, load: async () => raw },
    signal,
  );
  if (already !== undefined) return already;
  const copied = await copySingleImage(session, ctx, { raw, asInstance: false });
  return { manifest: copied.manifest, manifestMIMEType: copied.mimeType, manifestDigest: copied.digest };
}
