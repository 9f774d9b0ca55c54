/**
 * Layer 1, the connection pool of one registry: keep-alive node:http / node:https Agents
 * (direct.ts), or, when HTTPS_PROXY / HTTP_PROXY is set, undici's proxy agent (proxied.ts), with
 * the registry's TLS context and timeouts. It sends one request as given: no auth, no redirects,
 * no retries (the layers above add those).
 */
import { DirectPool } from './direct.js';
import { ProxiedPool, proxyIsSet } from './proxied.js';
import type { ConnectionOptions, RawSend } from './raw-send.js';

export type { ConnectionOptions, HTTPMethod, RawSend, RegistryResponse } from './raw-send.js';

/** One pool of connections: direct (node:http) or through a proxy (undici). */
interface Pool {
  send: RawSend;
  close(): Promise<void>;
}

export class Connection {
  readonly #userAgent: string;
  readonly #pool: Pool;

  constructor(options: ConnectionOptions) {
    this.#userAgent = options.userAgent;
    const env = options.env ?? process.env;
    this.#pool = proxyIsSet(env) ? new ProxiedPool(options, env) : new DirectPool(options);
  }

  /** Sends one request; the caller consumes the body. */
  readonly send: RawSend = (method, url, headers, body, signal) =>
    this.#pool.send(method, url, { 'user-agent': this.#userAgent, ...headers }, body, signal);

  /** Closes every connection; a body still being read fails (closing means the caller is done). */
  async close(): Promise<void> {
    await this.#pool.close();
  }
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
