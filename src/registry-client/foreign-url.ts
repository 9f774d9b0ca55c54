/**
 * Reading a blob from a URL that is not a registry (a foreign layer's `urls`, image-spec
 * descriptor.md): the connection layer (certs.d of that host, proxy variables, timeouts) and the
 * redirect layer, never the auth layer: no credentials.
 */
import type { Readable } from 'node:stream';
import { loadTLSFilesFor, type TLSFiles } from '../config/certs.js';
import { FerryError } from '../errors.js';
import { Connection } from './connection.js';
import { printableURL } from './errors.js';
import { registryTimeouts, USER_AGENT } from './options.js';
import { getWithoutCredentials } from './redirects.js';

export interface ForeignURLOptions {
  /** Environment for certs.d, proxies and FERRY_REGISTRY_TIMEOUT_MS (default process.env). */
  env?: Record<string, string | undefined>;
  /** false: accept any certificate (a lookaside read with the registry's `--tls-verify=false`). Default true. */
  tlsVerify?: boolean;
  /** TLS files to use instead of the URL host's certs.d (a lookaside read uses its registry's). */
  tls?: TLSFiles;
  signal?: AbortSignal;
}

/**
 * A GET of `url` (http or https): its body and size (-1 when unknown); REGISTRY_ERROR unless it
 * answers 200 (the status in `details.status`).
 */
export async function openForeignURL(
  url: URL,
  options: ForeignURLOptions = {},
): Promise<{ stream: Readable; size: number }> {
  const tls = options.tls ?? (await loadTLSFilesFor(url.host, options.env === undefined ? {} : { env: options.env }));
  const http = new Connection({
    ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
    tls,
    ...(options.env === undefined ? {} : { env: options.env }),
    userAgent: USER_AGENT,
    ...registryTimeouts(options.env === undefined ? {} : { env: options.env }),
  });
  try {
    const res = await getWithoutCredentials(http.send, url, options.signal);
    if (res.status !== 200) {
      await res.body.dump().catch(() => {});
      throw new FerryError('REGISTRY_ERROR', `GET ${printableURL(url)}: HTTP ${res.status}`, {
        details: { status: res.status },
      });
    }
    // The pool is this one body's: closed once the body is.
    res.body.once('close', () => void http.close().catch(() => {}));
    const length = res.headers['content-length'];
    const size = typeof length === 'string' && /^[0-9]+$/.test(length) ? Number(length) : -1;
    return { stream: res.body, size };
  } catch (e) {
    await http.close().catch(() => {});
    throw e;
  }
}
