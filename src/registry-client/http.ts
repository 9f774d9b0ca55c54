/**
 * HTTP to one registry host: scheme discovery by `/v2/` ping, keep-alive through one undici Agent,
 * Authorization from the Authenticator, redirects followed by hand (the Authorization header only
 * ever goes to the registry's own origin), and bounded retries.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type * as tls from 'node:tls';
import { createRequire } from 'node:module';
import type { Agent, buildConnector, Dispatcher, EnvHttpProxyAgent } from 'undici';
import { type TLSFiles, tlsSecureContext } from '../config/certs.js';
import { abortError, FerryError } from '../errors.js';
import { readAllLimited } from '../manifest/limits.js';
import { type AuthOptions, Authenticator } from './auth.js';
import { parseChallenges } from './challenge.js';
import { printableURL, type RegistryOperation, registryError } from './errors.js';
import { isRetryableNetworkError, isRetryableStatus, parseRetryAfter, type RetryPolicy, retryDelay, sleep } from './retry.js';

export type HTTPMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

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
  signal?: AbortSignal;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable & { dump(opts?: { limit: number }): Promise<void> };
  /** The URL that answered (after redirects). */
  url: URL;
}

export interface RegistryHTTPOptions extends AuthOptions {
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

const MAX_REDIRECTS = 10;

/**
 * undici, loaded on first use and only the parts used: its root module loads ~110 files (fetch,
 * WebSocket, mocks, caches) that cost ~0.3 s of CLI start-up; Agent plus the request API are ~30.
 * undici has no `exports` map, so these deep paths are stable public files of the package.
 */
interface Undici {
  Agent: typeof Agent;
  request: (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  buildConnector: typeof buildConnector;
}
let undici: Undici | undefined;
function loadUndici(): Undici {
  if (undici === undefined) {
    undici = {
      Agent: createRequire(import.meta.url)('undici/lib/dispatcher/agent.js') as typeof Agent,
      request: createRequire(import.meta.url)('undici/lib/api/api-request.js') as Undici['request'],
      buildConnector: createRequire(import.meta.url)('undici/lib/core/connect.js') as typeof buildConnector,
    };
  }
  return undici;
}
/** Largest error or token body read into memory. */
export const MAX_SMALL_BODY = 1024 * 1024;

export class RegistryHTTP {
  readonly host: string;
  readonly auth: Authenticator;
  readonly #options: RegistryHTTPOptions;
  readonly #agent: Dispatcher;
  #base: URL | undefined;
  #pinging: Promise<URL> | undefined;

  constructor(host: string, options: RegistryHTTPOptions) {
    this.host = host;
    this.#options = options;
    this.#agent = registryDispatcher(options);
    this.auth = new Authenticator(options, (url, init, signal) => this.#fetchToken(url, init, signal));
  }

  /** How requests are retried (`--retry-times`, `--retry-delay`). */
  get retryPolicy(): RetryPolicy {
    return this.#options.retry;
  }

  /** `https://HOST` or `http://HOST`, found by pinging `/v2/` once. */
  async base(signal?: AbortSignal): Promise<URL> {
    if (this.#base !== undefined) return this.#base;
    this.#pinging ??= this.#ping(signal).finally(() => {
      this.#pinging = undefined;
    });
    return this.#pinging;
  }

  async #ping(signal?: AbortSignal): Promise<URL> {
    const schemes = this.#options.tlsVerify === false ? ['https', 'http'] : ['https'];
    // Without verification, plain http is asked at the same time as https: its answer is used only
    // when https fails, but a failed TLS attempt no longer delays it.
    const attempts = schemes.map((scheme) =>
      this.#withStatusRetries(() => this.#raw('GET', new URL(`${scheme}://${this.host}/v2/`), {}, undefined, signal), signal).then(
        (res) => ({ scheme, res }),
        (error: unknown) => ({ scheme, error }),
      ),
    );
    const discardFrom = (index: number): void => {
      for (const later of attempts.slice(index)) void later.then((a) => ('res' in a ? a.res.body.dump().catch(() => {}) : undefined));
    };
    const failures: string[] = [];
    let lastError: unknown;
    for (const [index, attempt] of attempts.entries()) {
      const outcome = await attempt;
      if (!('res' in outcome)) {
        const e = outcome.error;
        if (signal?.aborted || e instanceof FerryError) discardFrom(index + 1);
        if (signal?.aborted) throw abortError(signal);
        if (e instanceof FerryError) throw e;
        failures.push(`${outcome.scheme}: ${describeNetworkError(e)}`);
        lastError = e;
        continue;
      }
      discardFrom(index + 1);
      const { scheme, res } = outcome;
      if (res.status === 200 || res.status === 401) {
        await res.body.dump();
        if (res.status === 401) this.auth.setChallenges(parseChallenges(res.headers['www-authenticate']));
        this.#base = new URL(`${scheme}://${this.host}`);
        return this.#base;
      }
      throw await this.failure(res, `pinging container registry ${this.host}`, 'other');
    }
    const hint = this.#options.tlsVerify === false ? '' : ' (plain http is only tried with tlsVerify: false)';
    throw new FerryError('REGISTRY_UNREACHABLE', `pinging container registry ${this.host} failed: ${failures.join('; ')}${hint}`, {
      cause: lastError,
      details: { host: this.host },
    });
  }

  /** Sends a request to the registry with auth, redirects and retries; the caller consumes the body. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const base = await this.base(req.signal);
    // An upload Location may name another host; #sendFollowing sends credentials to the registry's origin only.
    const url = new URL(req.url, base);
    const replayable = req.body === undefined || Buffer.isBuffer(req.body);
    const policy = this.#options.retry;
    let scopes = [...req.scopes];
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        const authorization = await this.auth.authorization(scopes, req.signal);
        res = await this.#sendFollowing(req, url, base, authorization);
      } catch (e) {
        if (req.signal?.aborted) throw abortError(req.signal);
        if (e instanceof FerryError) throw e;
        if (replayable && attempt < policy.maxAttempts && isRetryableNetworkError(e)) {
          await sleep(retryDelay(policy, attempt), req.signal);
          continue;
        }
        throw networkError(`${req.method} ${printableURL(url)}`, e);
      }
      if ((res.status === 401 || res.status === 403) && res.url.origin !== base.origin) {
        // Challenges come from the registry's own origin only: a storage host never gets credentials or tokens.
        await res.body.dump().catch(() => {});
        throw foreignRefusal(req.method, url, res);
      }
      if (res.status === 401 && replayable && !authRetried) {
        const challenges = parseChallenges(res.headers['www-authenticate']);
        if (challenges.length > 0) {
          authRetried = true;
          await res.body.dump();
          this.auth.invalidate(scopes);
          scopes = [...new Set([...scopes, ...this.auth.setChallenges(challenges)])];
          attempt--; // an auth round is not a retry
          continue;
        }
      }
      if (replayable && attempt < policy.maxAttempts && isRetryableStatus(res.status)) {
        const delay = retryDelay(policy, attempt, parseRetryAfter(res.headers['retry-after']));
        await res.body.dump();
        await sleep(delay, req.signal);
        continue;
      }
      return res;
    }
  }

  async #sendFollowing(req: RegistryRequest, start: URL, base: URL, authorization: string | undefined): Promise<RegistryResponse> {
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    let url = start;
    let method = req.method;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { ...req.headers };
      // Only the registry's own origin ever sees its credentials (a redirect may lead to a storage host).
      if (authorization !== undefined && url.origin === base.origin) headers.authorization = authorization;
      const res = await this.#raw(method, url, headers, method === 'GET' || method === 'HEAD' ? undefined : req.body, req.signal);
      const location = res.headers.location;
      if (!follow || !isRedirect(res.status) || typeof location !== 'string') return res;
      await res.body.dump();
      if (hop >= MAX_REDIRECTS) {
        throw new FerryError('REGISTRY_ERROR', `${req.method} ${printableURL(start)}: more than ${MAX_REDIRECTS} redirects`);
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
   * A GET of a URL outside the registry API (a foreign layer's `urls`): this connection pool's TLS,
   * proxy and timeouts, no Authorization ever, redirects followed (bounded). The caller consumes the body.
   */
  async getWithoutCredentials(start: URL, signal?: AbortSignal): Promise<RegistryResponse> {
    let url = start;
    for (let hop = 0; ; hop++) {
      let res: RegistryResponse;
      try {
        res = await this.#raw('GET', url, {}, undefined, signal);
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        throw networkError(`GET ${printableURL(url)}`, e);
      }
      const location = res.headers.location;
      if (!isRedirect(res.status) || typeof location !== 'string') return res;
      await res.body.dump();
      const next = new URL(location, url);
      if (hop >= MAX_REDIRECTS || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
        throw new FerryError('REGISTRY_ERROR', `GET ${printableURL(start)}: too many redirects, or one to a non-http(s) URL`);
      }
      url = next;
    }
  }

  /**
   * Retries retryable answers and connection resets of a body-less request (the ping); a refused
   * or timed-out connection is not retried here, so a registry that is down is reported at once.
   */
  async #withStatusRetries(send: () => Promise<RegistryResponse>, signal?: AbortSignal): Promise<RegistryResponse> {
    const policy = this.#options.retry;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = await send();
      } catch (e) {
        if (signal?.aborted || attempt >= policy.maxAttempts || !isRetryableNetworkError(e) || isDownOrSilent(e)) throw e;
        await sleep(retryDelay(policy, attempt), signal);
        continue;
      }
      if (attempt >= policy.maxAttempts || !isRetryableStatus(res.status)) return res;
      await res.body.dump();
      await sleep(retryDelay(policy, attempt, parseRetryAfter(res.headers['retry-after'])), signal);
    }
  }

  async #raw(
    method: HTTPMethod,
    url: URL,
    headers: Record<string, string>,
    body: Buffer | Readable | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RegistryResponse> {
    const res = await loadUndici().request.call(this.#agent, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { 'user-agent': this.#options.userAgent, ...headers },
      body: body ?? null,
      ...(signal === undefined ? {} : { signal }),
    });
    const responseBody = res.body as RegistryResponse['body'];
    if (method === 'HEAD') {
      // A HEAD answer has no body, but undici's dump() goes by Content-Length (a blob's size) and
      // above its 128 KiB limit destroys the stream, and the keep-alive connection with it: every
      // HEAD of a layer cost a new connection.
      const dump = responseBody.dump.bind(responseBody);
      responseBody.dump = () => dump({ limit: Number.MAX_SAFE_INTEGER });
    }
    return { status: res.statusCode, headers: res.headers, body: responseBody, url };
  }

  async #fetchToken(
    url: URL,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
    signal?: AbortSignal,
  ): Promise<{ status: number; body: Buffer }> {
    const policy = this.#options.retry;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = await this.#raw(init.method, url, init.headers, init.body, signal);
      } catch (e) {
        if (signal?.aborted) throw abortError(signal);
        if (attempt < policy.maxAttempts && isRetryableNetworkError(e)) {
          await sleep(retryDelay(policy, attempt), signal);
          continue;
        }
        throw networkError(`token request to ${printableURL(url)}`, e);
      }
      if (attempt < policy.maxAttempts && isRetryableStatus(res.status)) {
        await res.body.dump();
        await sleep(retryDelay(policy, attempt, parseRetryAfter(res.headers['retry-after'])), signal);
        continue;
      }
      try {
        return { status: res.status, body: await this.readBody(res, MAX_SMALL_BODY, `token response from ${printableURL(url)}`) };
      } catch (e) {
        if (signal?.aborted || attempt >= policy.maxAttempts || !(e instanceof FerryError) || e.details.cutShort !== true) throw e;
        await sleep(retryDelay(policy, attempt), signal);
      }
    }
  }

  /** Reads a small body whole (manifest, tags page): past `limit` TOO_LARGE, cut short REGISTRY_UNREACHABLE. */
  async readBody(res: RegistryResponse, limit: number, what: string): Promise<Buffer> {
    try {
      return await readAllLimited(res.body, limit, what);
    } catch (e) {
      if (e instanceof FerryError) throw e;
      throw new FerryError('REGISTRY_UNREACHABLE', `${what}: the response body was cut short: ${describeNetworkError(e)}`, {
        cause: e,
        details: { cutShort: true },
      });
    }
  }

  /** Reads a failed response's body and turns it into a typed error. */
  async failure(res: RegistryResponse, what: string, operation: RegistryOperation): Promise<FerryError> {
    let body: Buffer = Buffer.alloc(0);
    try {
      body = await readAllLimited(res.body, MAX_SMALL_BODY, 'error body');
    } catch {
      // an unreadable error body still leaves the status to report
    }
    const err = registryError({ what, status: res.status, body, operation });
    if (res.status === 401 && this.auth.hasCredentials) err.details.credentialsRejected = true;
    const retryAfter = parseRetryAfter(res.headers['retry-after']);
    if (retryAfter !== undefined) err.details.retryAfterMs = retryAfter;
    return err;
  }

  /** Closes every connection; a body still being read fails (closing means the caller is done). */
  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/**
 * The one connection pool of a registry: a plain Agent, or, when HTTPS_PROXY / HTTP_PROXY is set,
 * an EnvHttpProxyAgent that tunnels through the proxy (CONNECT) except for NO_PROXY hosts. The
 * registry's TLS settings apply to the tunnelled connection too.
 */
function registryDispatcher(options: RegistryHTTPOptions): Dispatcher {
  const verify = { rejectUnauthorized: options.tlsVerify !== false };
  const timeouts = {
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeout: options.headersTimeoutMs }),
    ...(options.bodyTimeoutMs === undefined ? {} : { bodyTimeout: options.bodyTimeoutMs }),
  };
  const env = options.env ?? process.env;
  const proxied = PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '');
  if (!proxied) return new (loadUndici().Agent)({ connect: lazyTLSConnector(verify, options.tls), ...timeouts });
  const tls = tlsOptions(verify, options.tls);
  const httpProxy = env.http_proxy || env.HTTP_PROXY || undefined;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY || undefined;
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  // The proxy agents use the whole dispatcher API (CONNECT): they need undici's root module, which installs it.
  const { EnvHttpProxyAgent: EnvProxyAgent } = createRequire(import.meta.url)('undici') as { EnvHttpProxyAgent: typeof EnvHttpProxyAgent };
  return new EnvProxyAgent({
    connect: tls,
    // ProxyAgent connects to the target through the tunnel with requestTls (connect is for the proxy hop).
    requestTls: tls,
    ...timeouts,
    ...(httpProxy === undefined ? {} : { httpProxy }),
    ...(httpsProxy === undefined ? {} : { httpsProxy }),
    noProxy,
  });
}

/**
 * undici's connector, with the registry's TLS context made only when a connection really is TLS
 * (a plain-http registry never pays for parsing CA certificates).
 */
function lazyTLSConnector(verify: { rejectUnauthorized: boolean }, files: TLSFiles | undefined): buildConnector.connector {
  const { buildConnector: build } = loadUndici();
  let plain: buildConnector.connector | undefined;
  let secure: buildConnector.connector | undefined;
  return (opts, callback) => {
    if (opts.protocol !== 'https:') {
      plain ??= build(verify);
      return plain(opts, callback);
    }
    secure ??= build(tlsOptions(verify, files));
    return secure(opts, callback);
  };
}

/** Options for node:tls: verification as asked, with the registry's shared context when node's default will not do. */
function tlsOptions(verify: { rejectUnauthorized: boolean }, files: TLSFiles | undefined): tls.ConnectionOptions {
  const context = tlsSecureContext(files, verify.rejectUnauthorized);
  return { ...verify, ...(context === undefined ? {} : { secureContext: context }) };
}

const DOWN_OR_SILENT = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** A refused or timed-out connection: nothing listening, or nothing answering. */
function isDownOrSilent(e: unknown): boolean {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  return DOWN_OR_SILENT.has(String(err.code)) || DOWN_OR_SILENT.has(String(err.cause?.code));
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

function describeNetworkError(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof err.code === 'string' ? err.code : typeof err.cause?.code === 'string' ? err.cause.code : undefined;
  const message = typeof err.cause?.message === 'string' && err.cause.message !== '' ? err.cause.message : String(err.message ?? e);
  return code === undefined ? message : `${message} (${code})`;
}

/** A 401/403 from a host the registry redirected to: the registry's credentials cannot help there. */
function foreignRefusal(method: HTTPMethod, requested: URL, res: RegistryResponse): FerryError {
  return new FerryError(
    'REGISTRY_ERROR',
    `${method} ${printableURL(requested)}: the storage host ${res.url.host} the registry redirected to refused the request (HTTP ${res.status}); registry credentials are not sent to other hosts`,
    { details: { status: res.status, host: res.url.host } },
  );
}

function networkError(what: string, e: unknown): FerryError {
  const code = (e as { code?: unknown }).code;
  if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new FerryError('SIZE_MISMATCH', `${what}: the blob stream did not have the announced size`, { cause: e });
  }
  return new FerryError('REGISTRY_UNREACHABLE', `${what}: ${describeNetworkError(e)}`, { cause: e });
}
