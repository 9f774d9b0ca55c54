/**
 * Connections through HTTPS_PROXY / HTTP_PROXY (NO_PROXY hosts directly): undici's
 * EnvHttpProxyAgent tunnels with CONNECT. undici is loaded only here, when a proxy is set.
 */
import { createRequire } from 'node:module';
import type { Dispatcher, EnvHttpProxyAgent } from 'undici';
import { abortError } from '../errors.js';
import { watchAbort } from '../util/abort-watch.js';
import type { ConnectionOptions, RawSend, RegistryResponse } from './raw-send.js';
import { checkProxyURL } from './proxy-url.js';
import { tlsOptions } from './tls-options.js';

export const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

export function proxyIsSet(env: Record<string, string | undefined>): boolean {
  return PROXY_VARIABLES.some((name) => (env[name] ?? '') !== '');
}

export class ProxiedPool {
  readonly #agent: Dispatcher;

  constructor(options: ConnectionOptions, env: Record<string, string | undefined>) {
    this.#agent = proxyDispatcher(options, env);
  }

  readonly send: RawSend = async (method, url, headers, body, signal) => {
    if (signal?.aborted) throw abortError(signal);
    // undici adds an 'abort' listener to the signal it is given: each request gets a signal of its
    // own, fed by one watcher of the caller's (util/abort-watch.ts), until its answer is read.
    const own = signal === undefined ? undefined : new AbortController();
    const unwatch =
      signal === undefined || own === undefined ? undefined : watchAbort(signal, () => own.abort(signal.reason));
    let res: Dispatcher.ResponseData;
    try {
      res = await this.#agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        body: body ?? null,
        ...(own === undefined ? {} : { signal: own.signal }),
      });
    } catch (e) {
      unwatch?.();
      throw e;
    }
    if (unwatch !== undefined) res.body.once('close', unwatch);
    const responseBody = res.body as RegistryResponse['body'];
    if (method === 'HEAD') {
      // A HEAD answer has no body, but undici's dump() goes by Content-Length (a blob's size) and
      // above its 128 KiB limit destroys the stream, and the keep-alive connection with it.
      const dump = responseBody.dump.bind(responseBody);
      responseBody.dump = () => dump({ limit: Number.MAX_SAFE_INTEGER });
    }
    return { status: res.statusCode, headers: res.headers, body: responseBody, url };
  };

  async close(): Promise<void> {
    await this.#agent.destroy();
  }
}

/** The registry's TLS settings apply to the tunnelled connection too. */
function proxyDispatcher(options: ConnectionOptions, env: Record<string, string | undefined>): Dispatcher {
  const timeouts = {
    ...(options.headersTimeoutMs === undefined ? {} : { headersTimeout: options.headersTimeoutMs }),
    ...(options.bodyTimeoutMs === undefined ? {} : { bodyTimeout: options.bodyTimeoutMs }),
  };
  const tls = tlsOptions({ rejectUnauthorized: options.tlsVerify !== false }, options.tls);
  const httpProxy = env.http_proxy || env.HTTP_PROXY || undefined;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY || undefined;
  checkProxyURL(httpProxy, env.http_proxy ? 'http_proxy' : 'HTTP_PROXY');
  checkProxyURL(httpsProxy, env.https_proxy ? 'https_proxy' : 'HTTPS_PROXY');
  const noProxy = env.no_proxy ?? env.NO_PROXY ?? '';
  // The proxy agents use the whole dispatcher API (CONNECT, request()): undici's root module installs it.
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
