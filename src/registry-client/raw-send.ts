/** The contract of layer 1: one request sent as given, its answer, and the settings of a pool. */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { TLSFiles } from '../config/certs.js';

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
