/**
 * The registry transport: layers 1–3 composed for one registry host. A request goes
 * retries (retrying.ts) → auth round (auth-round.ts) → redirects (redirects.ts) → connection
 * (connection.ts); a failed HEAD is explained by a GET (head-error.ts). The distribution API
 * (manifests, blobs, uploads, listing) is written against the `RegistryTransport` interface only.
 */
import type { Readable } from 'node:stream';
import type { TLSFiles } from '../config/certs.js';
import { type FerryError, isFerryError } from '../errors.js';
import { createHash } from 'node:crypto';
import { type AuthOptions, Authenticator } from './auth.js';
import { authorizedAttempt } from './auth-round.js';
import {
  type HTTPMethod,
  type RawSend,
  type RegistryResponse,
  type SharedConnection,
  sharedConnection,
} from './connection.js';
import { printableURL, type RegistryOperation } from './errors.js';
import { explainedHeadFailure } from './head-error.js';
import { type PingAnswer, pingBase, sharedPing } from './ping.js';
import { sendFollowingRedirects } from './redirects.js';
import { readSmallBody, responseFailure } from './response.js';
import type { RetryPolicy } from './retry.js';
import { fetchSmallRetrying, sendRetrying } from './retrying.js';

export type { HTTPMethod, RegistryResponse };

export interface RegistryRequest {
  method: HTTPMethod;
  /** A path with query on the registry (`/v2/...`), or an absolute URL on it (an upload location). */
  url: string;
  scopes: readonly string[];
  headers?: Record<string, string>;
  /** A Buffer can be re-sent (retries, auth); a stream is sent once. */
  body?: Buffer | Readable;
  /** Default: true for GET and HEAD. */
  followRedirects?: boolean;
  signal?: AbortSignal | undefined;
}

/** What the distribution API needs of the layers below it. */
export interface RegistryTransport {
  readonly host: string;
  /** How requests are retried (`--retry-times`, `--retry-delay`). */
  readonly retryPolicy: RetryPolicy;
  /** `https://HOST` or `http://HOST`, found by pinging `/v2/` once. */
  base(signal?: AbortSignal): Promise<URL>;
  /** Sends a request with auth, redirects and retries; the caller consumes the body. */
  send(req: RegistryRequest): Promise<RegistryResponse>;
  /** Reads a small body whole: past `limit` TOO_LARGE, cut short REGISTRY_UNREACHABLE. */
  readBody(res: RegistryResponse, limit: number, what: string): Promise<Buffer>;
  /** Reads a failed response's body (secrets redacted) and turns it into a typed error. */
  failure(res: RegistryResponse, what: string, operation: RegistryOperation): Promise<FerryError>;
  close(): Promise<void>;
}

export interface RegistryTransportOptions extends AuthOptions {
  /** false: accept any certificate and fall back to plain http. */
  tlsVerify?: boolean;
  /** CAs and a client certificate for this registry (certs.d or `certDir`). */
  tls?: TLSFiles;
  /** Environment for HTTPS_PROXY / HTTP_PROXY / NO_PROXY (default process.env). */
  env?: Record<string, string | undefined>;
  retry: RetryPolicy;
  userAgent: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

export class HTTPTransport implements RegistryTransport {
  readonly host: string;
  readonly auth: Authenticator;
  readonly #options: RegistryTransportOptions;
  readonly #connection: SharedConnection | undefined;
  readonly #send: RawSend;
  #base: URL | undefined;
  /** The requests of HEAD answers, so that a failure can ask for the error body with a GET. */
  readonly #heads = new WeakMap<RegistryResponse, RegistryRequest>();
  #pinging: Promise<URL> | undefined;

  /** `send` replaces the connection pool (a test seam). */
  constructor(host: string, options: RegistryTransportOptions, send?: RawSend) {
    this.host = host;
    this.#options = options;
    this.#connection = send === undefined ? sharedConnection(connectionKey(host, options), options) : undefined;
    this.#send = send ?? this.#connection!.connection.send;
    this.auth = new Authenticator(options, (url, init, signal) =>
      fetchSmallRetrying(this.#send, options.retry, url, init, signal),
    );
  }

  get retryPolicy(): RetryPolicy {
    return this.#options.retry;
  }

  async base(signal?: AbortSignal): Promise<URL> {
    if (this.#base !== undefined) return this.#base;
    this.#pinging ??= this.#ping(signal)
      .then(({ base, challenges }) => {
        if (challenges.length > 0) this.auth.setChallenges(challenges);
        this.#base = base;
        return base;
      })
      .finally(() => {
        this.#pinging = undefined;
      });
    return this.#pinging;
  }

  /**
   * The ping answer: shared with the other transports of the process for the same registry and
   * settings (ping.ts), except with a test's own `send`. A shared ping that another caller's abort
   * cut short is asked again.
   */
  async #ping(signal?: AbortSignal): Promise<PingAnswer> {
    const ping = () =>
      pingBase(
        {
          host: this.host,
          tlsVerify: this.#options.tlsVerify !== false,
          send: this.#send,
          policy: this.#options.retry,
          failure: (res, what) => this.failure(res, what, 'other'),
        },
        signal,
      );
    if (this.#connection === undefined) return ping();
    const key = pingKey(this.host, this.#options);
    try {
      return await sharedPing(key, ping);
    } catch (e) {
      if (signal?.aborted || !isAbort(e)) throw e;
      return sharedPing(key, ping);
    }
  }

  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const { attempt, url, replayable } = await this.#attempt(req);
    const res = await sendRetrying(
      { policy: this.#options.retry, replayable, what: `${req.method} ${printableURL(url)}`, signal: req.signal },
      attempt,
    );
    if (req.method === 'HEAD') this.#heads.set(res, req);
    return res;
  }

  /** One try of `req` with its auth round and redirects, no retries. */
  async #attempt(
    req: RegistryRequest,
  ): Promise<{ attempt: () => Promise<RegistryResponse>; url: URL; replayable: boolean }> {
    const base = await this.base(req.signal);
    // An upload Location may name another host; the redirect layer sends credentials to the registry's origin only.
    const url = new URL(req.url, base);
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const attempt = authorizedAttempt(
      this.auth,
      { method: req.method, url, scopes: req.scopes, replayable, signal: req.signal },
      base.origin,
      (authorization) => sendFollowingRedirects(this.#send, req, url, base.origin, authorization),
    );
    return { attempt, url, replayable };
  }

  readBody(res: RegistryResponse, limit: number, what: string): Promise<Buffer> {
    return readSmallBody(res, limit, what);
  }

  async failure(res: RegistryResponse, what: string, operation: RegistryOperation): Promise<FerryError> {
    const head = this.#heads.get(res);
    const answer =
      head === undefined
        ? res
        : await explainedHeadFailure(
            res,
            async () => (await this.#attempt({ ...head, method: 'GET' })).attempt(),
            head.signal,
          );
    return responseFailure(answer, what, operation, this.auth);
  }

  async close(): Promise<void> {
    await this.#connection?.release();
  }
}

function isAbort(e: unknown): boolean {
  return isFerryError(e, 'ABORTED') || (e instanceof Error && e.name === 'AbortError');
}

/** What a connection pool depends on: what the ping does, plus the timeouts and the User-Agent it sends. */
function connectionKey(host: string, options: RegistryTransportOptions): string {
  const timeouts = `${options.headersTimeoutMs ?? ''}|${options.bodyTimeoutMs ?? ''}`;
  return `${pingKey(host, options)}|${timeouts}|${JSON.stringify(options.userAgent)}`;
}

/** What a ping's answer depends on: the host, TLS verification and files, and the proxy environment. */
function pingKey(host: string, options: RegistryTransportOptions): string {
  const hash = createHash('sha256');
  const tls = options.tls;
  for (const part of [...(tls?.ca ?? []), tls?.cert, tls?.key]) {
    hash.update(String(part?.length ?? -1));
    hash.update(':');
    if (part !== undefined) hash.update(part);
  }
  const env = options.env ?? process.env;
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy']) {
    hash.update(`${name}=${env[name] ?? ''}\n`);
  }
  return `${host}|${options.tlsVerify !== false}|${hash.digest('hex')}`;
}
