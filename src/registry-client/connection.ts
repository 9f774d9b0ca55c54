/**
 * Layer 1, the connection pool of one registry: one undici dispatcher (an Agent, or a proxy agent
 * from HTTPS_PROXY / HTTP_PROXY / NO_PROXY) with the registry's TLS context and timeouts. It sends
 * one request as given: no auth, no redirects, no retries (the layers above add those).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type * as tls from 'node:tls';
import type { Agent, buildConnector, Dispatcher, EnvHttpProxyAgent } from 'undici';
import { type TLSFiles, tlsSecureContext } from '../config/certs.js';
import { checkProxyURL } from './proxy-url.js';

export type HTTPMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable & { dump(opts?: { limit: number }): Promise<void> };
  /** The URL that answered (after redirects). */
  url: URL;
}

/** One request, sent exactly as given; what the redirect, retry and auth layers are built on. */
export type RawSend = (
  method: HTTPMethod,
  url: URL,
  headers: Record<string, string>,
  body: Buffer | Readable | undefined,
  signal: AbortSignal | undefined,
) => Promise<RegistryResponse>;

export interface ConnectionOptions {
  /** false: accept any certificate. */
  tlsVerify?: boolean;
  /** CAs and a client certificate for this registry (certs.d or `certDir`). */
  tls?: TLSFiles;
  /** Environment for HTTPS_PROXY / HTTP_PROXY / NO_PROXY (default process.env). */
  env?: Record<string, string | undefined>;
  userAgent: string;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

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

export class Connection {
  readonly #userAgent: string;
  readonly #agent: Dispatcher;

  constructor(options: ConnectionOptions) {
    this.#userAgent = options.userAgent;
    this.#agent = registryDispatcher(options);
  }

  /** Sends one request; the caller consumes the body. */
  readonly send: RawSend = async (method, url, headers, body, signal) => {
    const res = await loadUndici().request.call(this.#agent, {
      origin: url.origin,
      path: `${url.pathname}${url.search}`,
      method,
      headers: { 'user-agent': this.#userAgent, ...headers },
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
  };

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
function registryDispatcher(options: ConnectionOptions): Dispatcher {
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
  checkProxyURL(httpProxy, env.http_proxy ? 'http_proxy' : 'HTTP_PROXY');
  checkProxyURL(httpsProxy, env.https_proxy ? 'https_proxy' : 'HTTPS_PROXY');
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  // The proxy agents use the whole dispatcher API (CONNECT): they need undici's root module, which installs it.
  const { EnvHttpProxyAgent: EnvProxyAgent } = createRequire(import.meta.url)('undici') as {
    EnvHttpProxyAgent: typeof EnvHttpProxyAgent;
  };
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
function lazyTLSConnector(
  verify: { rejectUnauthorized: boolean },
  files: TLSFiles | undefined,
): buildConnector.connector {
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

/**
 * Connection pools shared by the clients of one process with the same registry and settings (the
 * key names every option a pool depends on): a copy whose source and destination are on one
 * registry, or a sync of many images, reuses its connections (and TLS sessions). A pool is closed
 * when its last user releases it.
 */
const sharedPools = new Map<string, { connection: Connection; users: number }>();

export interface SharedConnection {
  connection: Connection;
  release(): Promise<void>;
}

export function sharedConnection(key: string, options: ConnectionOptions): SharedConnection {
  let pool = sharedPools.get(key);
  if (pool === undefined) {
    pool = { connection: new Connection(options), users: 0 };
    sharedPools.set(key, pool);
  }
  pool.users++;
  const entry = pool;
  let released = false;
  return {
    connection: entry.connection,
    async release() {
      if (released) return;
      released = true;
      entry.users--;
      if (entry.users > 0) return;
      if (sharedPools.get(key) === entry) sharedPools.delete(key);
      await entry.connection.close();
    },
  };
}
