/** Reading what a registry answered: small bodies whole (bounded), headers safely, failures as typed errors. */
import { FerryError } from '../errors.js';
import { readAllLimited } from '../manifest/limits.js';
import type { RegistryResponse } from './connection.js';
import { type RegistryOperation, registryError } from './errors.js';
import { describeNetworkError } from './network-error.js';
import { parseRetryAfter } from './retry.js';

/** Largest error or token body read into memory. */
export const MAX_SMALL_BODY = 1024 * 1024;

/** Reads a small body whole (manifest, tags page): past `limit` TOO_LARGE, cut short REGISTRY_UNREACHABLE. */
export async function readSmallBody(res: RegistryResponse, limit: number, what: string): Promise<Buffer> {
  try {
    return await readAllLimited(res.body, limit, what);
  } catch (e) {
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      'REGISTRY_UNREACHABLE',
      `${what}: the response body was cut short: ${describeNetworkError(e)}`,
      {
        cause: e,
        details: { cutShort: true },
      },
    );
  }
}

/** What the auth layer adds to a failure: secrets cut out of the body, and whether credentials were sent. */
export interface FailureContext {
  redact(body: Buffer): Buffer;
  readonly hasCredentials: boolean;
}

/** Reads a failed response's body and turns it into a typed error. */
export async function responseFailure(
  res: RegistryResponse,
  what: string,
  operation: RegistryOperation,
  auth: FailureContext,
): Promise<FerryError> {
  let body: Buffer = Buffer.alloc(0);
  try {
    body = await readAllLimited(res.body, MAX_SMALL_BODY, 'error body');
  } catch {
    // an unreadable error body still leaves the status to report
  }
  const err = registryError({ what, status: res.status, body: auth.redact(body), operation });
  if (res.status === 401 && auth.hasCredentials) err.details.credentialsRejected = true;
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  if (retryAfter !== undefined) err.details.retryAfterMs = retryAfter;
  return err;
}

/**
 * A response header's first value. The headers read here are ASCII by their specs; one with other
 * bytes (obs-text, which can hold C1 terminal controls) is ignored rather than quoted anywhere.
 */
export function header(res: RegistryResponse, name: string): string | undefined {
  const raw = res.headers[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined || /^[\t\x20-\x7e]*$/.test(v) ? v : undefined;
}

/** Content-Length, or -1 when absent or not a number. */
export function contentLength(res: RegistryResponse): number {
  const v = header(res, 'content-length');
  if (v === undefined || !/^[0-9]+$/.test(v)) return -1;
  return Number(v);
}
