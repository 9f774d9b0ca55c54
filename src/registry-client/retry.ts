/**
 * When and how long to retry a registry request: 408, 429, 500 and 502–504 answers, connection resets and
 * timeouts; exponential backoff, `Retry-After` honoured, bounded in tries and in delay.
 */

export interface RetryOptions {
  /** Total tries per request, the first included (default 5). 1 disables retries. */
  maxAttempts?: number;
  /** Delay before the first retry, doubled each time (default 1000 ms). */
  initialDelayMs?: number;
  /** Upper bound of any one delay, `Retry-After` included (default 60 000 ms). */
  maxDelayMs?: number;
  /** Wait `initialDelayMs` before every retry instead of doubling it (`--retry-delay`). */
  fixedDelay?: boolean;
}

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  fixedDelay: boolean;
}

export function retryPolicy(o: RetryOptions = {}): RetryPolicy {
  return {
    maxAttempts: Math.max(1, Math.trunc(o.maxAttempts ?? 5)),
    initialDelayMs: Math.max(0, o.initialDelayMs ?? 1000),
    maxDelayMs: Math.max(0, o.maxDelayMs ?? 60_000),
    fixedDelay: o.fixedDelay === true,
  };
}

// 500 too: a registry's storage back end fails briefly (S3 resets); every request retried is idempotent.
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status);
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^[0-9]+$/.test(t)) return Number.parseInt(t, 10) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** The delay before try number `attempt + 1` (attempt counts from 1). */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const backoff = policy.fixedDelay ? policy.initialDelayMs : policy.initialDelayMs * 2 ** (attempt - 1);
  return Math.min(policy.maxDelayMs, retryAfterMs ?? backoff);
}

export { isRetryableNetworkError, sleep } from '../util/network.js';
