/**
 * Waiting, and telling transient network failures apart: shared by the registry client's retries and
 * the copy engine's re-drives, so both agree on what a new try can cure.
 */
import { abortError } from '../errors.js';
import { watchAbort } from './abort-watch.js';

/** The codes of the registry client's own timeouts (node:http has only an idle socket timeout). */
export const CONNECT_TIMEOUT = 'FERRY_CONNECT_TIMEOUT';
export const HEADERS_TIMEOUT = 'FERRY_HEADERS_TIMEOUT';
export const BODY_TIMEOUT = 'FERRY_BODY_TIMEOUT';

const TRANSIENT_NETWORK_CODES = new Set([
  CONNECT_TIMEOUT,
  HEADERS_TIMEOUT,
  BODY_TIMEOUT,
  // undici's, on the proxy path

  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENETRESET',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Whether a network-level error (not an HTTP status) is worth another try. */
export function isRetryableNetworkError(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const code = (cur as { code?: unknown }).code;
    // HPE_*: an answer that is not valid HTTP (bytes damaged on the way, a proxy cutting it).
    if (typeof code === 'string' && (TRANSIENT_NETWORK_CODES.has(code) || code.startsWith('HPE_'))) return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Sleeps, failing with ABORTED as soon as `signal` fires. Watched through watchAbort: the retries of
 * many requests sharing a caller's signal (a sync's HEADs answered 429) wait on it together.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let unwatch: (() => void) | undefined;
    const timer = setTimeout(() => {
      unwatch?.();
      resolve();
    }, ms);
    if (signal !== undefined) {
      unwatch = watchAbort(signal, () => {
        clearTimeout(timer);
        reject(abortError(signal));
      });
    }
  });
}
