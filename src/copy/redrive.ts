/**
 * Re-driving a blob transfer that broke on a transient failure (a reset, a stall, a 5xx, bytes
 * damaged in transit): the blob is read from the source again and written to the destination again
 * (a new upload session), within a budget per blob and one per copy, after an exponential backoff
 * with jitter or the registry's Retry-After.
 */
import { abortError, FerryError, isFerryError } from '../errors.js';
import { isRetryableNetworkError, sleep } from '../util/network.js';
import type { CopyOptions } from './types.js';

export interface RedrivePolicy {
  /** Tries of one blob, the first included; 1 disables re-drives. */
  attemptsPerBlob: number;
  /** Re-drives across one copy, all blobs together. */
  retriesPerCopy: number;
  /** Delay before the first re-drive, doubled each time (with jitter) unless `fixedDelay`. */
  initialDelayMs: number;
  /** Upper bound of any one delay, Retry-After included. */
  maxDelayMs: number;
  fixedDelay: boolean;
}

/** `--retry-times` when neither side sets it: 4 retries after the first try. */
export const DEFAULT_BLOB_RETRIES = 4;
/** Smallest per-copy budget when retries are on (an image of many layers may need several). */
const MIN_RETRIES_PER_COPY = 20;
const DEFAULT_INITIAL_DELAY_MS = 1000;
const DEFAULT_MAX_DELAY_MS = 30_000;

/** The policy a copy's options ask for: `--retry-times`/`--retry-delay` of either side, else the defaults. */
export function redrivePolicy(options: CopyOptions): RedrivePolicy {
  const sides = [options.sourceOptions, options.destinationOptions];
  const times = sides.map((o) => o?.retryTimes).filter((t): t is number => t !== undefined);
  const delays = sides.map((o) => o?.retryDelayMs).filter((t): t is number => t !== undefined);
  const retries = Math.max(0, Math.trunc(times.length > 0 ? Math.max(...times) : DEFAULT_BLOB_RETRIES));
  const o = options.blobRetry ?? {};
  const attemptsPerBlob = Math.max(1, Math.trunc(o.attemptsPerBlob ?? retries + 1));
  const perBlob = attemptsPerBlob - 1;
  return {
    attemptsPerBlob,
    retriesPerCopy: Math.max(
      0,
      Math.trunc(o.retriesPerCopy ?? (perBlob === 0 ? 0 : Math.max(MIN_RETRIES_PER_COPY, 4 * perBlob))),
    ),
    initialDelayMs: Math.max(
      0,
      o.initialDelayMs ?? (delays.length > 0 ? Math.max(...delays) : DEFAULT_INITIAL_DELAY_MS),
    ),
    maxDelayMs: Math.max(0, o.maxDelayMs ?? DEFAULT_MAX_DELAY_MS),
    fixedDelay: o.initialDelayMs === undefined && delays.length > 0,
  };
}

/** The re-drives one copy may still spend; shared by every blob of the copy. */
export class RedriveBudget {
  readonly policy: RedrivePolicy;
  #used = 0;

  constructor(policy: RedrivePolicy) {
    this.policy = policy;
  }

  /** Re-drives spent so far. */
  get used(): number {
    return this.#used;
  }

  /**
   * Runs `transfer` until it succeeds, fails for good, or the budget is spent. `damageInTransit`:
   * a digest or size mismatch may be bytes damaged on the way (a network source), worth a re-fetch.
   */
  async run<T>(
    what: string,
    signal: AbortSignal,
    damageInTransit: boolean,
    transfer: () => Promise<T>,
    onRetry?: (next: number, delayMs: number, error: unknown) => void,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await transfer();
      } catch (e) {
        if (signal.aborted) throw abortError(signal);
        if (!isTransientTransferFailure(e, damageInTransit)) throw e;
        const { attemptsPerBlob, retriesPerCopy } = this.policy;
        if (attempt >= attemptsPerBlob || this.#used >= retriesPerCopy) {
          if (attemptsPerBlob === 1) throw e;
          const why =
            attempt >= attemptsPerBlob
              ? `after ${attempt} attempts`
              : `after ${attempt} attempts (the copy's ${retriesPerCopy} retries are spent)`;
          throw gaveUp(what, why, e, attempt);
        }
        this.#used++;
        const delay = this.#delay(attempt, retryAfterOf(e));
        onRetry?.(attempt + 1, delay, e);
        await sleep(delay, signal);
      }
    }
  }

  #delay(attempt: number, retryAfterMs: number | undefined): number {
    const { initialDelayMs, maxDelayMs, fixedDelay } = this.policy;
    if (retryAfterMs !== undefined) return Math.min(maxDelayMs, retryAfterMs);
    if (fixedDelay) return Math.min(maxDelayMs, initialDelayMs);
    const backoff = Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
    // Full-range jitter on the upper half: blobs that broke together do not all come back together.
    return backoff / 2 + Math.random() * (backoff / 2);
  }
}

/**
 * Registry codes that a new upload session cures: bytes that arrived damaged (the source verified
 * them), or a session the registry lost (a restart, a retried PUT whose first try completed it).
 */
const UPLOAD_AGAIN_CODES = new Set(['DIGEST_INVALID', 'SIZE_INVALID', 'BLOB_UPLOAD_INVALID', 'BLOB_UPLOAD_UNKNOWN']);

function transientStatus(status: unknown): boolean {
  return typeof status === 'number' && (status === 408 || status === 429 || (status >= 500 && status <= 599));
}

/**
 * Whether a blob transfer failed in a way a new try can cure: the network (resets, refused
 * connections of a restarting registry, stalls), 408/429/5xx answers, and damaged bytes. Never
 * refused credentials, missing blobs, invalid manifests or local disk errors.
 */
export function isTransientTransferFailure(e: unknown, damageInTransit: boolean): boolean {
  if (isFerryError(e)) {
    if (e.code === 'ABORTED') return false;
    if (e.code === 'REGISTRY_UNREACHABLE' || e.code === 'TOOMANYREQUESTS') return true;
    if (transientStatus(e.details.status)) return true;
    const registryCode = e.details.registryCode;
    if (typeof registryCode === 'string' && UPLOAD_AGAIN_CODES.has(registryCode)) return true;
    // Damaged bytes show as a digest or size mismatch at the end, or earlier as data a decompressor refuses.
    return (
      damageInTransit &&
      (e.code === 'DIGEST_MISMATCH' || e.code === 'SIZE_MISMATCH' || e.code === 'CORRUPT_COMPRESSED_DATA')
    );
  }
  return isRetryableNetworkError(e);
}

function retryAfterOf(e: unknown): number | undefined {
  const v = isFerryError(e) ? e.details.retryAfterMs : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function gaveUp(what: string, why: string, e: unknown, attempts: number): FerryError {
  const last = isFerryError(e) ? e : undefined;
  const message = e instanceof Error ? e.message : String(e);
  return new FerryError(last?.code ?? 'REGISTRY_UNREACHABLE', `${what}: gave up ${why}: ${message}`, {
    cause: e,
    details: { ...(last?.details ?? {}), attempts },
  });
}
