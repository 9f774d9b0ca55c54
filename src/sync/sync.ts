/**
 * `sync` (skopeo sync, cmd/skopeo/sync.go, read for behaviour): copies every planned image with
 * copyImage, several at once (bounded per registry), and reports each in plan order: copied, skipped or
 * failed, and the blob bytes moved. Before copying a registry→registry image it asks the cheapest question: one
 * HEAD of the source tag and one of the destination tag; equal digests → skipped, no manifest or blob
 * read. Such a skip is taken only where the trust policy accepts the source without looking at it
 * (`insecureAcceptAnything` for its scope, or no policy): any other requirement is decided by the copy,
 * as skopeo decides it before anything else. Without `keepGoing` the first failure stops new images
 * (those under way finish).
 */
import { mkdir, stat } from 'node:fs/promises';
import { copyImage } from '../copy/index.js';
import type { Digest } from '../digest/digest.js';
import { systemInstance } from '../copy/list.js';
import { Semaphore } from '../copy/limit.js';
import type { CopyOptions } from '../copy/types.js';
import { FerryError, throwIfAborted } from '../errors.js';
import { isListMIMEType } from '../manifest/mediatypes.js';
import { parseManifest } from '../manifest/index.js';
import type { FetchedManifest, ManifestHead, RegistryClient } from '../registry-client/index.js';
import { loadPolicy, type Policy, policyRequirementsForReference } from '../signature/policy/index.js';
import { openDockerRepositoryClient } from '../transports/docker/index.js';
import type { DockerReference } from '../reference/reference.js';
import type { ImageOptions, ImageReference } from '../transports/types.js';
import { planSync, type SyncPlanEntry, type SyncPlanOptions } from './plan.js';

export interface SyncOptions extends SyncPlanOptions {
  /** Options of each image's copy (policy, signing, format, digests, destination settings...). */
  copy?: Omit<CopyOptions, 'signal' | 'sourceOptions'>;
  /** Plan and compare, but copy nothing: each image that would be copied is reported `would-copy`. */
  dryRun?: boolean;
  /** Go on after a failed image (the result counts the failures); otherwise the first failure stops new images. */
  keepGoing?: boolean;
  /** Images copied at once per registry (default 4; one at a time per destination repository); the HEAD comparisons run four times as many. */
  parallelPerRegistry?: number;
  /** Told each image's result in plan order: as soon as it and every image planned before it are decided. */
  onImage?: (result: SyncImageResult) => void;
}

export type SyncImageStatus = 'copied' | 'skipped' | 'would-copy' | 'failed';

export interface SyncImageResult {
  source: string;
  destination: string;
  status: SyncImageStatus;
  /** The destination manifest's digest: written (copied) or found equal (skipped). */
  digest?: string;
  /** Blob bytes written to the destination by this image's copy (0 when skipped). */
  bytes: number;
  /** Why it failed. */
  error?: string;
}

export interface SyncResult {
  /** In plan order; without keepGoing, images after a failure that were never started are absent. */
  images: SyncImageResult[];
  copied: number;
  skipped: number;
  failed: number;
  wouldCopy: number;
  bytes: number;
  /** Source images found before include/exclude filters and sharding. */
  found: number;
  /** A failure stopped the sync before every image was tried. */
  stopped: boolean;
}

/** One client per registry, shared by every HEAD of one side of the sync (one ping each). */
class HeadClients {
  readonly #clients = new Map<string, Promise<{ client: RegistryClient }>>();

  /** The client of `ref`'s registry, opened with the options of the first image that asks. */
  async #client(ref: ImageReference, named: DockerReference, options: ImageOptions): Promise<RegistryClient> {
    let opened = this.#clients.get(named.domain);
    if (opened === undefined) {
      opened = openDockerRepositoryClient(ref, options);
      this.#clients.set(named.domain, opened);
    }
    return (await opened).client;
  }

  /** HEAD of the manifest `ref` names (its tag or digest); undefined when the registry has none. */
  async head(ref: ImageReference, options: ImageOptions, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    const named = ref.dockerReference();
    if (named === undefined) return undefined;
    const client = await this.#client(ref, named, options);
    return client.headManifest(named.path, named.digest ?? named.tag ?? 'latest', signal);
  }

  /** GET of the manifest `ref` names. */
  async get(ref: ImageReference, options: ImageOptions, signal?: AbortSignal): Promise<FetchedManifest> {
    const named = ref.dockerReference();
    if (named === undefined) throw new FerryError('INVALID_ARGUMENT', `${ref.toString()} has no registry name`);
    const client = await this.#client(ref, named, options);
    return client.getManifest(named.path, named.digest ?? named.tag ?? 'latest', signal);
  }

  async close(): Promise<void> {
    for (const p of this.#clients.values()) {
      try {
        await (await p).client.close();
      } catch {
        // A client that failed to open has nothing to close.
      }
    }
  }
}

function registryOf(ref: ImageReference): string {
  return ref.dockerReference()?.domain ?? ref.transport.name;
}

/** Per-registry slots: a limit per source and per destination registry, taken in a fixed order (no deadlock). */
class RegistrySlots {
  readonly #limits = new Map<string, Semaphore>();
  readonly #size: number;

  constructor(size: number) {
    this.#size = size;
  }

  run<T>(registries: RegistryPair, fn: () => Promise<T>): Promise<T> {
    const second = this.#of(registries[1]);
    return this.#of(registries[0]).run(() => second.run(fn));
  }

  #of(registry: string): Semaphore {
    let s = this.#limits.get(registry);
    if (s === undefined) {
      s = new Semaphore(this.#size);
      this.#limits.set(registry, s);
    }
    return s;
  }
}

/** An image's source and destination registries (`src …`, `dest …`), in the order their slots are taken. */
type RegistryPair = readonly [string, string];

function registryPair(entry: SyncPlanEntry): RegistryPair {
  const source = `src ${registryOf(entry.source)}`;
  const destination = `dest ${registryOf(entry.destination)}`;
  return source < destination ? [source, destination] : [destination, source];
}

/** HEAD requests in flight per registry, for each image copy allowed at once: they are small and cheap. */
const HEADS_PER_COPY = 4;

/**
 * Results as the caller sees them: in plan order, each told as soon as it and every image planned
 * before it are decided (an image decided early waits for the earlier ones, never for the whole sync).
 */
class InPlanOrder {
  /** Per plan entry: its result; null when the sync stopped before it began; undefined while under way. */
  readonly #results: (SyncImageResult | null | undefined)[];
  readonly #onImage: SyncOptions['onImage'];
  #next = 0;

  constructor(count: number, onImage: SyncOptions['onImage']) {
    this.#results = new Array(count);
    this.#onImage = onImage;
  }

  settle(index: number, result: SyncImageResult | undefined): void {
    this.#results[index] = result ?? null;
    for (let r = this.#results[this.#next]; r !== undefined; r = this.#results[this.#next]) {
      this.#next++;
      if (r !== null) this.#onImage?.(r);
    }
  }

  /** Every result, in plan order, without the images never started. */
  images(): SyncImageResult[] {
    return this.#results.filter((r): r is SyncImageResult => r !== undefined && r !== null);
  }
}

/** Plans and runs a sync; resolves with every image's result (a failure is a result, not a throw). */
export async function syncImages(given: SyncOptions): Promise<SyncResult> {
  const options = await withLoadedPolicy(given);
  const plan = await planSync(options);
  const results = new InPlanOrder(plan.entries.length, options.onImage);
  const run = new SyncRun(options);
  try {
    await Promise.all(
      plan.entries.map(async (entry, i) => {
        const result = await syncOne(entry, run);
        if (result?.status === 'failed') run.failed();
        results.settle(i, result);
      }),
    );
  } finally {
    await run.close();
  }
  throwIfAborted(options.signal);
  const images = results.images();
  const count = (s: SyncImageStatus): number => images.filter((r) => r.status === s).length;
  return {
    images,
    copied: count('copied'),
    skipped: count('skipped'),
    failed: count('failed'),
    wouldCopy: count('would-copy'),
    bytes: images.reduce((n, r) => n + r.bytes, 0),
    found: plan.found,
    stopped: images.length < plan.entries.length,
  };
}

/** What the images of one sync share: options, registry clients and slots, and whether it stopped. */
class SyncRun {
  readonly options: SyncOptions;
  readonly sources: HeadClients;
  readonly destinations: HeadClients;
  readonly heads: RegistrySlots;
  readonly copies: RegistrySlots;
  /** Whether equal digests may stand for a copy, as far as the options tell (decided once). */
  readonly mayCompare: boolean;
  /** The trust policy, when it decides per source image (undefined: it accepts every source unseen). */
  readonly #policy: Policy | undefined;
  /** A failure without keepGoing: images not yet started are left alone. */
  stopped = false;
  readonly #repositories = new Map<string, Semaphore>();

  constructor(options: SyncOptions) {
    const parallel = options.parallelPerRegistry ?? 4;
    this.options = options;
    this.sources = new HeadClients();
    this.destinations = new HeadClients();
    this.heads = new RegistrySlots(parallel * HEADS_PER_COPY);
    this.copies = new RegistrySlots(parallel);
    const { copy } = options;
    // Registry to registry only (a YAML source names registries). Signing wants a new signature; with
    // referrers an unchanged image may have new ones (the copy carries them).
    this.mayCompare =
      options.sourceKind !== 'dir' &&
      options.destinationKind === 'docker' &&
      copy?.signing === undefined &&
      copy?.withReferrers !== true;
    this.#policy = copy?.insecurePolicy === true ? undefined : (copy?.policy as Policy | undefined);
  }

  get halted(): boolean {
    return this.stopped || this.options.signal?.aborted === true;
  }

  /** A failure stops the sync (without keepGoing) before its slot passes on, so the next image waiting sees the stop. */
  failed(): void {
    if (this.options.keepGoing !== true) this.stopped = true;
  }

  /** The trust policy accepts this source whatever it holds, so comparing digests may stand in for the copy. */
  policyAcceptsUnseen(source: ImageReference): boolean {
    const policy = this.#policy;
    if (policy === undefined) return true;
    const { requirements } = policyRequirementsForReference(policy, source);
    return requirements.length > 0 && requirements.every((r) => r.type === 'insecureAcceptAnything');
  }

  /**
   * Runs `fn` (a copy) when no other copy of this sync writes to the same destination repository.
   * Tags of one repository share their blobs, and Distribution's filesystem storage rewrites a
   * repository's blob and manifest links in place (truncate, then write): a copy committing a blob
   * another copy has just linked, or putting the same manifest under another tag, can make a
   * concurrent manifest PUT read an empty link and fail ("manifest blob unknown"). skopeo syncs one
   * image at a time; Ferry keeps different repositories in parallel, and the comparisons too.
   */
  oneCopyPerRepository<T>(destination: ImageReference, fn: () => Promise<T>): Promise<T> {
    const named = destination.dockerReference();
    if (named === undefined) return fn();
    const key = `${named.domain}/${named.path}`;
    let lock = this.#repositories.get(key);
    if (lock === undefined) {
      lock = new Semaphore(1);
      this.#repositories.set(key, lock);
    }
    return lock.run(fn);
  }

  async close(): Promise<void> {
    await Promise.all([this.sources.close(), this.destinations.close()]);
  }
}

/** One image: compare (HEADs), then copy unless equal; undefined when the sync stopped before it began. */
async function syncOne(entry: SyncPlanEntry, run: SyncRun): Promise<SyncImageResult | undefined> {
  const result: SyncImageResult = {
    source: entry.source.toString(),
    destination: entry.destination.toString(),
    status: 'failed',
    bytes: 0,
  };
  const registries = registryPair(entry);
  try {
    const equal = await run.heads.run(registries, () => compare(entry, run));
    if (run.halted) return undefined;
    if (equal !== undefined) {
      result.status = 'skipped';
      result.digest = equal;
      return result;
    }
    if (run.options.dryRun === true) {
      result.status = 'would-copy';
      return result;
    }
    // The repository first, then the registries' slots: a copy waiting for its repository holds no slot.
    return await run.oneCopyPerRepository(entry.destination, () =>
      run.copies.run(registries, () => copy(entry, run, result)),
    );
  } catch (e) {
    if (run.options.signal?.aborted) throw e;
    result.status = 'failed';
    result.error = e instanceof Error ? e.message : String(e);
    return result;
  }
}

/** The digest both ends share (see sameDigest), unless the sync halted; a failure stops the sync. */
async function compare(entry: SyncPlanEntry, run: SyncRun): Promise<string | undefined> {
  if (run.halted) return undefined;
  try {
    return await sameDigest(entry, run);
  } catch (e) {
    run.failed();
    throw e;
  }
}

/** Copies one image, counting its bytes in `result`, unless the sync halted; a failure stops the sync. */
async function copy(entry: SyncPlanEntry, run: SyncRun, result: SyncImageResult): Promise<SyncImageResult | undefined> {
  if (run.halted) return undefined;
  const { options } = run;
  try {
    if (options.destinationKind === 'dir') await prepareDirDestination(entry.destination);
    const copied = await copyImage(entry.source, entry.destination, {
      ...options.copy,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      sourceOptions: entry.sourceOptions,
      onProgress: (event) => {
        if (event.kind === 'blob-done') result.bytes += event.written.size;
        options.copy?.onProgress?.(event);
      },
    });
    result.status = 'copied';
    result.digest = copied.manifestDigest;
    return result;
  } catch (e) {
    run.failed();
    throw e;
  }
}

/** A policy given as a path is read once for the whole sync (and a bad one fails it before any image). */
async function withLoadedPolicy(options: SyncOptions): Promise<SyncOptions> {
  const policy = options.copy?.policy;
  if (typeof policy !== 'string' || options.copy?.insecurePolicy === true) return options;
  const loaded = await loadPolicy({
    path: policy,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  return { ...options, copy: { ...options.copy, policy: loaded } };
}

/**
 * The digest both ends hold for this image, when they are equal; undefined when it must be copied.
 * Registry to registry only; never when the copy would sign (a new signature is wanted) nor when the
 * policy must look at the image.
 */
async function sameDigest(entry: SyncPlanEntry, run: SyncRun): Promise<string | undefined> {
  if (!run.mayCompare || !run.policyAcceptsUnseen(entry.source)) return undefined;
  const { options } = run;
  // Both questions go out together: a HEAD is mostly waiting, and nothing changed is the common case.
  const askDestination = run.destinations
    .head(entry.destination, options.copy?.destinationOptions ?? {}, options.signal)
    .then(
      (head) => head?.digest,
      // The copy asks again and reports what is wrong with the destination.
      () => undefined,
    );
  let source: ManifestHead | undefined;
  try {
    source =
      entry.sourceDigest !== undefined
        ? { digest: entry.sourceDigest as Digest, size: -1 }
        : await run.sources.head(entry.source, entry.sourceOptions, options.signal);
  } finally {
    await askDestination;
  }
  if (source?.digest === undefined) return undefined;
  const destination = await askDestination;
  if (destination === undefined) return undefined;
  if (destination === source.digest) return destination;
  // A list copied without --all leaves only this platform's instance at the destination: one GET of
  // the (small) list tells which instance that is.
  const selection = options.copy?.imageListSelection ?? 'system';
  if (selection !== 'system' || source.mimeType === undefined || !isListMIMEType(source.mimeType)) return undefined;
  const fetched = await run.sources.get(entry.source, entry.sourceOptions, options.signal);
  const list = parseManifest(fetched.bytes, fetched.mimeType);
  if (list.kind !== 'list') return undefined;
  return systemInstance(list, { sourceOptions: entry.sourceOptions }).digest === destination ? destination : undefined;
}

/** skopeo refuses to write into an existing directory, and creates the one it writes (parents included). */
async function prepareDirDestination(ref: ImageReference): Promise<void> {
  const path = ref.stringWithinTransport();
  const exists = await stat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
  if (exists) throw new FerryError('INVALID_ARGUMENT', `refusing to overwrite destination directory "${path}"`);
  await mkdir(path, { recursive: true, mode: 0o755 });
}
