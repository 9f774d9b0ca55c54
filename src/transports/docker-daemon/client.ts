/**
 * Talking to a Docker daemon over the Docker Engine API (what containers/image's docker/daemon does
 * with docker's Go client): where the daemon is (`--daemon-host`, $DOCKER_HOST, the default socket),
 * TLS as containers/image sets it up, API version negotiation through `/_ping`, and HTTP requests
 * whose bodies and answers are streams.
 */
import { readFile } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { abortError, FerryError, isFerryError } from '../../errors.js';
import { readAllLimited } from '../../manifest/limits.js';
import { escapeControl, quoteInput } from '../../util/quote.js';
import type { DockerDaemonSourceOptions } from '../types.js';

/** docker's client DefaultDockerHost on Linux. */
export const DEFAULT_DAEMON_HOST = 'unix:///var/run/docker.sock';

/**
 * The newest API version Ferry asks for; an older daemon's own version is used instead, as docker's
 * client negotiates (containers/image ≥ 5.30 negotiates; older ones pinned 1.22, which Docker ≥ 25 refuses).
 * Ferry uses only image save and load, unchanged since long before 1.41.
 */
const MAX_API_VERSION = '1.41';
/** What docker's client assumes when `/_ping` names no version. */
const FALLBACK_API_VERSION = '1.24';

/**
 * What a missing image is called in an error answer that is not a 404: podman's compat API answers 500
 * with containers/storage's "image not known"; older dockers say "No such image" or "reference does not exist".
 */
const NOT_FOUND_MESSAGES = /image not known|no such image|reference does not exist/i;

/** Error bodies are small JSON (`{"message": ...}`); more is not read. */
const MAX_ERROR_BODY = 64 * 1024;

/** Where a daemon listens, from a host string. */
export type DaemonEndpoint =
  | { kind: 'unix'; host: string; socketPath: string }
  | { kind: 'http' | 'https'; host: string; hostname: string; port: number; basePath: string };

function invalidHost(host: string, rule: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', `invalid docker daemon host ${quoteInput(host)}: ${rule}`, {
    details: { host },
  });
}

/**
 * Parses a daemon host as docker's client does (client.ParseHostURL): `unix:///PATH`; `tcp://HOST:PORT[/BASE]`,
 * which containers/image speaks TLS to (docker's client adds TLS to every scheme but unix, npipe and http);
 * `https://`; and `http://` for plain HTTP.
 */
export function parseDaemonHost(host: string): DaemonEndpoint {
  const sep = host.indexOf('://');
  if (sep <= 0 || sep + 3 === host.length)
    throw invalidHost(host, 'expected unix:///PATH, tcp://HOST:PORT or http(s)://HOST:PORT');
  const scheme = host.slice(0, sep);
  const rest = host.slice(sep + 3);
  if (scheme === 'unix') {
    if (rest.includes('\0')) throw invalidHost(host, 'a socket path cannot contain a NUL character');
    return { kind: 'unix', host, socketPath: rest };
  }
  if (scheme !== 'tcp' && scheme !== 'http' && scheme !== 'https') {
    throw invalidHost(host, `the scheme ${quoteInput(scheme)} is not supported (unix, tcp, http or https)`);
  }
  let url: URL;
  try {
    url = new URL(`http://${rest}`);
  } catch {
    throw invalidHost(host, 'not a valid HOST:PORT');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw invalidHost(host, 'only HOST:PORT and a base path are allowed');
  }
  const defaultPort = scheme === 'http' ? 80 : scheme === 'https' ? 443 : undefined;
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (port === undefined) throw invalidHost(host, 'a tcp:// host needs a port');
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    kind: scheme === 'http' ? 'http' : 'https',
    host,
    hostname,
    port,
    basePath: url.pathname.replace(/\/+$/, ''),
  };
}

/** The host a call talks to: the option, else $DOCKER_HOST, else the default socket. */
export function daemonHostOf(options: DockerDaemonSourceOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (options.daemonHost !== undefined && options.daemonHost !== '') return options.daemonHost;
  if (env.DOCKER_HOST !== undefined && env.DOCKER_HOST !== '') return env.DOCKER_HOST;
  return DEFAULT_DAEMON_HOST;
}

interface TLSMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
}

/**
 * TLS as containers/image's docker/daemon tlsConfig: with a cert dir, its ca.pem, cert.pem and key.pem
 * (each required); verification off only when tlsVerify is false.
 */
async function tlsMaterial(options: DockerDaemonSourceOptions): Promise<TLSMaterial> {
  const material: TLSMaterial = { rejectUnauthorized: options.tlsVerify !== false };
  if (options.certDir !== undefined && options.certDir !== '') {
    const read = async (name: string) => {
      const path = join(options.certDir as string, name);
      try {
        return await readFile(path);
      } catch (e) {
        throw new FerryError(
          'INVALID_ARGUMENT',
          `cannot read the docker daemon TLS file ${quoteInput(path)}: ${(e as Error).message}`,
          {
            cause: e,
            details: { path },
          },
        );
      }
    };
    material.ca = await read('ca.pem');
    material.cert = await read('cert.pem');
    material.key = await read('key.pem');
  }
  return material;
}

/** `{"message": "..."}` of an error body, escaped for a message; or the status line. */
async function errorMessageOf(response: IncomingMessage): Promise<string> {
  let body = '';
  try {
    body = (await readAllLimited(response, MAX_ERROR_BODY, 'docker daemon error body')).toString('utf8');
  } catch {
    // an unreadable body leaves the status line
  }
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { message?: unknown }).message === 'string'
    ) {
      return quoteInput((parsed as { message: string }).message);
    }
  } catch {
    // not JSON: fall through
  }
  const text = body.trim();
  return text === '' ? `HTTP ${response.statusCode}` : quoteInput(text);
}

export interface DaemonRequest {
  method: 'GET' | 'POST';
  /** The path after the version prefix, e.g. `/images/load`. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Sent with chunked transfer encoding as it flows. */
  body?: Readable;
  signal?: AbortSignal;
}

/** An open request: its answer, and a way to end it early (the body stops; the daemon sees a broken upload). */
export interface DaemonExchange {
  response: Promise<IncomingMessage>;
  /** Settles when the request (body included) is sent whole, or fails when the connection breaks first. */
  sent: Promise<void>;
  abort(reason: Error): void;
}

export class DaemonClient {
  readonly endpoint: DaemonEndpoint;
  readonly #tls: TLSMaterial;
  #version: string | undefined;

  private constructor(endpoint: DaemonEndpoint, tls: TLSMaterial) {
    this.endpoint = endpoint;
    this.#tls = tls;
  }

  /** A client for the daemon the options name, its API version negotiated (`/_ping`). */
  static async connect(options: DockerDaemonSourceOptions): Promise<DaemonClient> {
    const endpoint = parseDaemonHost(daemonHostOf(options));
    const client = new DaemonClient(
      endpoint,
      endpoint.kind === 'https' ? await tlsMaterial(options) : { rejectUnauthorized: true },
    );
    await client.#negotiate(options.signal);
    return client;
  }

  /** The API version requests use (`/v1.xx/...`). */
  get apiVersion(): string {
    return this.#version ?? FALLBACK_API_VERSION;
  }

  async #negotiate(signal?: AbortSignal): Promise<void> {
    const response = await this.#send({ method: 'GET', path: '/_ping', signal }, false).response;
    response.resume();
    const server = response.headers['api-version'];
    const version = typeof server === 'string' && /^[0-9]+\.[0-9]+$/.test(server) ? server : FALLBACK_API_VERSION;
    this.#version = compareVersions(version, MAX_API_VERSION) < 0 ? version : MAX_API_VERSION;
  }

  /**
   * Sends a request; the answer resolves at its headers. A non-2xx answer is DAEMON_ERROR, or
   * IMAGE_NOT_FOUND (when `notFound` names what was asked for) if it says the image is missing.
   */
  exchange(request: DaemonRequest, notFound?: string): DaemonExchange {
    const sent = this.#send(request, true);
    const response = sent.response.then(async (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      const message = await errorMessageOf(response);
      if (notFound !== undefined && (status === 404 || NOT_FOUND_MESSAGES.test(message))) {
        throw new FerryError(
          'IMAGE_NOT_FOUND',
          `${notFound}: the docker daemon at ${this.endpoint.host} answered: ${message}`,
          {
            details: { host: this.endpoint.host, status },
          },
        );
      }
      throw new FerryError(
        'DAEMON_ERROR',
        `the docker daemon at ${this.endpoint.host} refused ${request.method} ${request.path}: ${message}`,
        {
          details: { host: this.endpoint.host, status },
        },
      );
    });
    response.catch(() => {});
    return { abort: sent.abort, sent: sent.sent, response };
  }

  #send(request: DaemonRequest, versioned: boolean): DaemonExchange {
    const ep = this.endpoint;
    const query = new URLSearchParams(request.query ?? {}).toString();
    const path = `${ep.kind === 'unix' ? '' : ep.basePath}${versioned ? `/v${this.apiVersion}` : ''}${request.path}${query === '' ? '' : `?${query}`}`;
    const common = { method: request.method, path, headers: request.headers ?? {}, agent: false as const };
    let req: http.ClientRequest;
    let sentOk: () => void = () => {};
    let sentFailed: (e: Error) => void = () => {};
    const sent = new Promise<void>((resolve, reject) => {
      sentOk = resolve;
      sentFailed = reject;
    });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      const fail = (e: Error) => {
        const error = this.#connectionError(e, request.signal);
        sentFailed(error);
        reject(error);
      };
      if (ep.kind === 'unix') req = http.request({ ...common, socketPath: ep.socketPath }, resolve);
      else if (ep.kind === 'http') req = http.request({ ...common, host: ep.hostname, port: ep.port }, resolve);
      else
        req = https.request(
          // SNI takes names only (RFC 6066); an IP address is checked against the certificate's IP SANs.
          {
            ...common,
            host: ep.hostname,
            port: ep.port,
            ...(isIP(ep.hostname) ? {} : { servername: ep.hostname }),
            ...this.#tls,
          },
          resolve,
        );
      req.on('error', fail);
      req.on('finish', () => sentOk());
      req.on('close', () =>
        sentFailed(this.#connectionError(new Error('the connection closed before the request was sent'))),
      );
      const signal = request.signal;
      if (signal !== undefined) {
        const onAbort = () => req.destroy(abortError(signal));
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener('abort', onAbort, { once: true });
          req.on('close', () => signal.removeEventListener('abort', onAbort));
        }
      }
      if (request.body === undefined) req.end();
      else {
        request.body.on('error', (e) => req.destroy(e));
        request.body.pipe(req);
      }
    });
    // Whoever does not wait for one of them must not see it as an unhandled rejection.
    sent.catch(() => {});
    response.catch(() => {});
    return {
      response,
      sent,
      abort: (reason: Error) => {
        req?.destroy(reason);
      },
    };
  }

  #connectionError(e: Error, signal?: AbortSignal): FerryError {
    if (signal?.aborted) return abortError(signal);
    if (isFerryError(e)) return e;
    return new FerryError(
      'DAEMON_UNREACHABLE',
      `cannot talk to the docker daemon at ${this.endpoint.host}: ${escapeControl(e.message)}`,
      { cause: e, details: { host: this.endpoint.host, code: (e as NodeJS.ErrnoException).code } },
    );
  }
}

/** Compares dotted numeric versions (`1.41` < `1.43`). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
