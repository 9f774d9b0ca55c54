/** What a registry client is configured with: TLS, credentials, retries, timeouts, upload chunking. */
import type { TLSFiles } from '../config/certs.js';
import type { Credentials } from './auth.js';
import type { RetryOptions } from './retry.js';

export interface RegistryClientOptions {
  /** false: accept any certificate and allow plain http (default true). */
  tlsVerify?: boolean;
  /**
   * A directory of `*.crt` CAs and `*.cert`/`*.key` client pairs, used instead of the certs.d
   * directories (`$XDG_CONFIG_HOME/containers/certs.d/HOST:PORT`, `/etc/containers/certs.d/…`, `/etc/docker/certs.d/…`).
   */
  certDir?: string;
  /** The `host[:port]` whose certs.d directory is read (default: the client's host; `docker.io` for Docker Hub). */
  certsHost?: string;
  /** TLS files already loaded (skips the certDir / certs.d lookup). */
  tls?: TLSFiles;
  /** Environment for certs.d (XDG_CONFIG_HOME) and proxies (HTTPS_PROXY, HTTP_PROXY, NO_PROXY); default process.env. */
  env?: Record<string, string | undefined>;
  credentials?: Credentials;
  /** A bearer token sent as is (`--registry-token`). */
  registryToken?: string;
  /** Anonymous access even when credentials are given. */
  noCreds?: boolean;
  retry?: RetryOptions;
  userAgent?: string;
  /**
   * Time to wait for response headers (default 120 s: a registry may take a while to complete a
   * large upload) and between two chunks of a body (default 60 s). FERRY_REGISTRY_TIMEOUT_MS in
   * `env` sets both when these are not given. A stall past them is a network error (re-driven).
   */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** How many times a broken blob read is resumed with `Range` (default 5). */
  maxBlobResumes?: number;
  /**
   * Upload in PATCHes of this many bytes with Content-Range (for proxies that refuse large bodies);
   * default one PATCH, and chunks of DEFAULT_FALLBACK_CHUNK_SIZE after a 413 answer to it.
   */
  uploadChunkSize?: number;
}

/** Chunk size of the chunked upload that follows a 413 (Payload Too Large) answer to a whole-blob PATCH. */
export const DEFAULT_FALLBACK_CHUNK_SIZE = 8 * 1024 * 1024;

export const USER_AGENT = 'ferry/0.1.0';

export const DEFAULT_HEADERS_TIMEOUT_MS = 120_000;
export const DEFAULT_BODY_TIMEOUT_MS = 60_000;

/** The timeouts the options ask for, else FERRY_REGISTRY_TIMEOUT_MS (both), else the defaults. */
export function registryTimeouts(options: RegistryClientOptions): { headersTimeoutMs: number; bodyTimeoutMs: number } {
  const text = (options.env ?? process.env).FERRY_REGISTRY_TIMEOUT_MS;
  const fromEnv = text !== undefined && /^[0-9]{1,9}$/.test(text.trim()) && Number(text) > 0 ? Number(text) : undefined;
  return {
    headersTimeoutMs: options.headersTimeoutMs ?? fromEnv ?? DEFAULT_HEADERS_TIMEOUT_MS,
    bodyTimeoutMs: options.bodyTimeoutMs ?? fromEnv ?? DEFAULT_BODY_TIMEOUT_MS,
  };
}

// The API host of a registry domain: kept in reference/ (the blob-info cache's import needs it too).
export { registryAPIHost } from '../reference/reference.js';
