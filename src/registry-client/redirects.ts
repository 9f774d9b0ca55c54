/**
 * Layer 3a, redirects, followed by hand: the Authorization header goes to the registry's own origin
 * only, never to a host a redirect leads to (a storage host, a CDN), and a 401/403 from such a host
 * is refused rather than answered with the registry's credentials.
 */
import type { Readable } from 'node:stream';
import { abortError, FerryError } from '../errors.js';
import type { HTTPMethod, RawSend, RegistryResponse } from './connection.js';
import { printableURL } from './errors.js';
import { networkError } from './network-error.js';

export const MAX_REDIRECTS = 10;

export interface RedirectRequest {
  method: HTTPMethod;
  headers?: Record<string, string>;
  /** Sent with the first hop only when it is not a GET or HEAD (redirects of uploads are not followed). */
  body?: Buffer | Readable;
  /** Default: true for GET and HEAD. */
  followRedirects?: boolean;
  signal?: AbortSignal;
}

/** Sends `req` to `start`, following redirects; `authorization` is sent only to URLs of `credentialOrigin`. */
export async function sendFollowingRedirects(
  send: RawSend,
  req: RedirectRequest,
  start: URL,
  credentialOrigin: string,
  authorization: string | undefined,
): Promise<RegistryResponse> {
  const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
  let url = start;
  let method = req.method;
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = { ...req.headers };
    // Only the registry's own origin ever sees its credentials (a redirect may lead to a storage host).
    if (authorization !== undefined && url.origin === credentialOrigin) headers.authorization = authorization;
    const res = await send(
      method,
      url,
      headers,
      method === 'GET' || method === 'HEAD' ? undefined : req.body,
      req.signal,
    );
    const location = res.headers.location;
    if (!follow || !isRedirect(res.status) || typeof location !== 'string') return res;
    await res.body.dump();
    if (hop >= MAX_REDIRECTS) {
      throw new FerryError(
        'REGISTRY_ERROR',
        `${req.method} ${printableURL(start)}: more than ${MAX_REDIRECTS} redirects`,
      );
    }
    const next = new URL(location, url);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw new FerryError('REGISTRY_ERROR', `${req.method} ${printableURL(start)}: redirect to a non-http(s) URL`);
    }
    if (res.status === 303 && method !== 'HEAD') method = 'GET';
    url = next;
  }
}

/**
 * A GET of a URL outside the registry API (a foreign layer's `urls`): no Authorization ever,
 * redirects followed (bounded). The caller consumes the body.
 */
export async function getWithoutCredentials(
  send: RawSend,
  start: URL,
  signal?: AbortSignal,
): Promise<RegistryResponse> {
  let url = start;
  for (let hop = 0; ; hop++) {
    let res: RegistryResponse;
    try {
      res = await send('GET', url, {}, undefined, signal);
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      throw networkError(`GET ${printableURL(url)}`, e);
    }
    const location = res.headers.location;
    if (!isRedirect(res.status) || typeof location !== 'string') return res;
    await res.body.dump();
    const next = new URL(location, url);
    if (hop >= MAX_REDIRECTS || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
      throw new FerryError(
        'REGISTRY_ERROR',
        `GET ${printableURL(start)}: too many redirects, or one to a non-http(s) URL`,
      );
    }
    url = next;
  }
}

/** A 401/403 from a host the registry redirected to: the registry's credentials cannot help there. */
export function foreignRefusal(method: HTTPMethod, requested: URL, res: RegistryResponse): FerryError {
  return new FerryError(
    'REGISTRY_ERROR',
    `${method} ${printableURL(requested)}: the storage host ${res.url.host} the registry redirected to refused the request (HTTP ${res.status}); registry credentials are not sent to other hosts`,
    { details: { status: res.status, host: res.url.host } },
  );
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
