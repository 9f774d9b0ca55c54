/**
 * Layer 3b, retries: the loops that send a request again after a retryable answer (408, 429, 5xx,
 * `Retry-After` honoured) or a connection reset, within the policy (retry.ts). Only a request whose
 * body can be sent again (none, or a Buffer) is retried.
 */
import { abortError, FerryError } from '../errors.js';
import type { RawSend, RegistryResponse } from './connection.js';
import { printableURL } from './errors.js';
import { MAX_SMALL_BODY, readSmallBody } from './response.js';
import { networkError, isDownOrSilent } from './network-error.js';
import {
  isRetryableNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  retryDelay,
  sleep,
} from './retry.js';

export interface RetryingOptions {
  policy: RetryPolicy;
  /** Whether the request can be sent again (its body is none or a Buffer). */
  replayable: boolean;
  /** Names the request in a network error (`GET https://…`). */
  what: string;
  signal?: AbortSignal | undefined;
}

/**
 * Calls `attempt` until it answers with a status that is not retryable or the tries are used up.
 * A FerryError from `attempt` is final; any other error is a network error (REGISTRY_UNREACHABLE).
 */
export async function sendRetrying(
  options: RetryingOptions,
  attempt: () => Promise<RegistryResponse>,
): Promise<RegistryResponse> {
  const { policy, replayable, signal } = options;
  for (let tried = 1; ; tried++) {
    let res: RegistryResponse;
    try {
      res = await attempt();
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      if (e instanceof FerryError) throw e;
      if (replayable && tried < policy.maxAttempts && isRetryableNetworkError(e)) {
        await sleep(retryDelay(policy, tried), signal);
        continue;
      }
      throw networkError(options.what, e);
    }
    if (replayable && tried < policy.maxAttempts && isRetryableStatus(res.status)) {
      const delay = retryDelay(policy, tried, parseRetryAfter(res.headers['retry-after']));
      await res.body.dump();
      await sleep(delay, signal);
      continue;
    }
    return res;
  }
}

/**
 * Retries retryable answers and connection resets of a body-less request (the ping); a refused
 * or timed-out connection is not retried here, so a registry that is down is reported at once.
 * Errors are thrown as they are (the caller words them). Once `moot` aborts (another answer has
 * made them pointless), a failed try is not retried: its error is thrown, at once if it was waiting.
 */
export async function sendRetryingUnlessDown(
  policy: RetryPolicy,
  attempt: () => Promise<RegistryResponse>,
  signal?: AbortSignal,
  moot?: AbortSignal,
): Promise<RegistryResponse> {
  for (let tried = 1; ; tried++) {
    let res: RegistryResponse;
    try {
      res = await attempt();
    } catch (e) {
      if (signal?.aborted || tried >= policy.maxAttempts || !isRetryableNetworkError(e) || isDownOrSilent(e)) throw e;
      if (moot?.aborted) throw e;
      const waitSignal = moot === undefined ? signal : signal === undefined ? moot : AbortSignal.any([signal, moot]);
      try {
        await sleep(retryDelay(policy, tried), waitSignal);
      } catch (wait) {
        if (moot?.aborted && signal?.aborted !== true) throw e;
        throw wait;
      }
      continue;
    }
    if (tried >= policy.maxAttempts || !isRetryableStatus(res.status)) return res;
    await res.body.dump();
    await sleep(retryDelay(policy, tried, parseRetryAfter(res.headers['retry-after'])), signal);
  }
}

/** Calls `op` again while it fails with an error `transient` accepts, within the policy (a manifest cut short or damaged). */
export async function retryingWhen<T>(
  policy: RetryPolicy,
  transient: (e: unknown) => boolean,
  op: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let tried = 1; ; tried++) {
    try {
      return await op();
    } catch (e) {
      if (signal?.aborted || tried >= policy.maxAttempts || !transient(e)) throw e;
      await sleep(retryDelay(policy, tried), signal);
    }
  }
}

/**
 * One request whose small body is read whole (a token): a network error, a retryable status and a
 * body cut short each use one try of the same policy. No Authorization but what `init` carries.
 */
export async function fetchSmallRetrying(
  send: RawSend,
  policy: RetryPolicy,
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
  signal?: AbortSignal,
): Promise<{ status: number; body: Buffer }> {
  for (let tried = 1; ; tried++) {
    let res: RegistryResponse;
    try {
      res = await send(init.method, url, init.headers, init.body, signal);
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      if (tried < policy.maxAttempts && isRetryableNetworkError(e)) {
        await sleep(retryDelay(policy, tried), signal);
        continue;
      }
      throw networkError(`token request to ${printableURL(url)}`, e);
    }
    if (tried < policy.maxAttempts && isRetryableStatus(res.status)) {
      await res.body.dump();
      await sleep(retryDelay(policy, tried, parseRetryAfter(res.headers['retry-after'])), signal);
      continue;
    }
    try {
      return {
        status: res.status,
        body: await readSmallBody(res, MAX_SMALL_BODY, `token response from ${printableURL(url)}`),
      };
    } catch (e) {
      if (signal?.aborted || tried >= policy.maxAttempts || !(e instanceof FerryError) || e.details.cutShort !== true)
        throw e;
      await sleep(retryDelay(policy, tried), signal);
    }
  }
}
