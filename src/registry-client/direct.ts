/**
 * Direct connections to a registry on node:http and node:https: one keep-alive Agent per scheme,
 * whose free sockets never keep the process alive. node's parser hands out slices of the socket's
 * buffer and keeps a HEAD's connection (a body-less answer) for the next request.
 */
import type * as http from 'node:http';
import type * as https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream';
import { abortError } from '../errors.js';
import { watchAbort } from '../util/abort-watch.js';
import type { ConnectionOptions, HTTPMethod, RawSend, RegistryResponse } from './raw-send.js';
import { BODY_TIMEOUT, CONNECT_TIMEOUT, HEADERS_TIMEOUT, REQUEST_LENGTH_MISMATCH } from './network-error.js';
import { tlsOptions } from './tls-options.js';

/** A connection attempt that has not connected by then fails; also how long a free socket stays in the pool. */
const CONNECT_AND_IDLE_MS = 10_000;
/** What dump() reads of a body before it gives up on the connection (undici's default too). */
const DUMP_LIMIT = 128 * 1024;

/** node:http and node:https, loaded when the first request is sent: commands without one skip them. */
let httpModule: typeof http | undefined;
let httpsModule: typeof https | undefined;
function nodeHTTP(): typeof http {
  httpModule ??= createRequire(import.meta.url)('node:http') as typeof http;
  return httpModule;
}
function nodeHTTPS(): typeof https {
  httpsModule ??= createRequire(import.meta.url)('node:https') as typeof https;
  return httpsModule;
}

export class DirectPool {
  readonly #options: ConnectionOptions;
  #http: http.Agent | undefined;
  #https: https.Agent | undefined;

  constructor(options: ConnectionOptions) {
    this.#options = options;
  }

  /** The Agent of `protocol`; the https one (and the TLS context) made on the first https request. */
  #agent(protocol: string): http.Agent {
    if (protocol === 'https:') {
      this.#https ??= new (nodeHTTPS().Agent)({
        keepAlive: true,
        timeout: CONNECT_AND_IDLE_MS,
        ...tlsOptions({ rejectUnauthorized: this.#options.tlsVerify !== false }, this.#options.tls),
      });
      return this.#https;
    }
    this.#http ??= new (nodeHTTP().Agent)({ keepAlive: true, timeout: CONNECT_AND_IDLE_MS });
    return this.#http;
  }

  readonly send: RawSend = (method, url, headers, body, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      const secure = url.protocol === 'https:';
      let req: http.ClientRequest;
      try {
        req = (secure ? nodeHTTPS() : nodeHTTP()).request({
          agent: this.#agent(url.protocol),
          method,
          protocol: url.protocol,
          // node wants an IPv6 literal without its brackets
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port,
          path: `${url.pathname}${url.search}`,
          headers: requestHeaders(method, headers, body),
        });
      } catch (e) {
        reject(e); // a header value node refuses, or a TLS context that cannot be made
        return;
      }
      new Exchange(req, method, url, body, signal, this.#options, resolve, reject);
    });

  /** Destroys every socket, in use or free: a body still being read fails. */
  async close(): Promise<void> {
    this.#http?.destroy();
    this.#https?.destroy();
  }
}

/** The caller's headers, with a Content-Length for a Buffer body or none (as undici sends). */
function requestHeaders(
  method: HTTPMethod,
  headers: Record<string, string>,
  body: Buffer | Readable | undefined,
): Record<string, string> {
  const hasLength = Object.keys(headers).some((k) => k.toLowerCase() === 'content-length');
  if (hasLength) return headers;
  if (Buffer.isBuffer(body)) return { ...headers, 'content-length': String(body.length) };
  if (body === undefined && (method === 'PUT' || method === 'POST' || method === 'PATCH'))
    return { ...headers, 'content-length': '0' };
  return headers;
}

/** An error with a code, as node's own network errors have. */
function codedError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * One request and its answer: sends the body, applies the timeouts of the phase it is in (connect,
 * headers, body) and the abort signal, and settles the promise once.
 */
class Exchange {
  readonly #req: http.ClientRequest;
  readonly #signal: AbortSignal | undefined;
  readonly #options: ConnectionOptions;
  readonly #reject: (e: unknown) => void;
  #res: http.IncomingMessage | undefined;
  #settled = false;
  readonly #unwatch: (() => void) | undefined;

  constructor(
    req: http.ClientRequest,
    method: HTTPMethod,
    url: URL,
    body: Buffer | Readable | undefined,
    signal: AbortSignal | undefined,
    options: ConnectionOptions,
    resolve: (res: RegistryResponse) => void,
    reject: (e: unknown) => void,
  ) {
    this.#req = req;
    this.#signal = signal;
    this.#options = options;
    this.#reject = reject;
    this.#unwatch = signal === undefined ? undefined : watchAbort(signal, () => this.#fail(abortError(signal)));
    // Before the socket connects its idle timeout is the Agent's (connect); after, the headers' (0: none).
    req.setTimeout(options.headersTimeoutMs ?? 0);
    req.on('timeout', () => this.#timedOut());
    req.on('error', (e) => this.#fail(e));
    req.on('response', (res) => {
      this.#res = res;
      this.#settled = true;
      res.socket.setTimeout(options.bodyTimeoutMs ?? 0);
      finished(res, () => this.#done());
      const headers = distinctHeaders(res);
      const responseBody = res as http.IncomingMessage & RegistryResponse['body'];
      responseBody.dump = (opts) =>
        dump(req, res, headers, method === 'HEAD' ? Number.MAX_SAFE_INTEGER : (opts?.limit ?? DUMP_LIMIT));
      // A HEAD answer has no body: read its end now, so the socket goes back to the pool at once.
      if (method === 'HEAD') res.resume();
      resolve({ status: res.statusCode ?? 0, headers, body: responseBody, url });
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else this.#stream(body);
  }

  /** Streams `body` (backpressure both ways), checking it against the Content-Length sent. */
  #stream(body: Readable): void {
    const req = this.#req;
    const announced = req.getHeader('content-length');
    const length = announced === undefined ? undefined : Number(announced);
    let sent = 0;
    let ended = false;
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      sent += buf.length;
      if (length !== undefined && sent > length) {
        this.#fail(mismatch(sent, length));
        return;
      }
      if (!req.write(buf)) body.pause();
    };
    const onDrain = (): void => void body.resume();
    const detach = (): void => {
      body.off('data', onData);
      req.off('drain', onDrain);
    };
    body.on('data', onData);
    req.on('drain', onDrain);
    body.once('end', () => {
      ended = true;
      detach();
      if (length !== undefined && sent !== length) this.#fail(mismatch(sent, length));
      else req.end();
    });
    body.once('error', (e) => {
      detach();
      this.#fail(e);
    });
    // Closed by its owner before its end (the registry answered early): the request ends here if
    // every announced byte went out, else its connection cannot be used again.
    body.once('close', () => {
      if (ended || body.errored !== null) return;
      detach();
      if (length !== undefined && sent === length) req.end();
      else if (this.#res === undefined)
        this.#fail(codedError('the request body was closed before its end', REQUEST_LENGTH_MISMATCH));
      else req.destroy();
    });
    // The registry answered and nothing more will be read from the body: stop sending it.
    req.once('close', detach);
  }

  #timedOut(): void {
    const socket = this.#req.socket;
    if (this.#res !== undefined) {
      this.#fail(codedError(`no response body data for ${this.#options.bodyTimeoutMs} ms`, BODY_TIMEOUT));
    } else if (socket === null || socket.connecting) {
      this.#fail(codedError(`no connection within ${CONNECT_AND_IDLE_MS} ms`, CONNECT_TIMEOUT));
    } else {
      this.#fail(codedError(`no response headers for ${this.#options.headersTimeoutMs} ms`, HEADERS_TIMEOUT));
    }
  }

  /**
   * Before the answer: the promise fails. After: its body fails with `e`, unless it arrived whole
   * and this is not an abort (a socket error after a complete answer leaves it readable).
   */
  #fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.#res === undefined) {
      if (!this.#settled) {
        this.#settled = true;
        this.#reject(err);
      }
      this.#req.destroy(err);
      this.#done();
      return;
    }
    const res = this.#res;
    if (!res.readableEnded && (!res.complete || this.#signal?.aborted === true)) res.destroy(err);
    this.#req.destroy();
  }

  #done(): void {
    this.#unwatch?.();
  }
}

function mismatch(sent: number, length: number): Error {
  return codedError(
    `the request body ${sent > length ? 'has more than' : `had ${sent} of`} the ${length} bytes its Content-Length announced`,
    REQUEST_LENGTH_MISMATCH,
  );
}

/**
 * A header sent once is a string, a repeated one (several WWW-Authenticate challenges) a string[];
 * names in lower case. Built in one pass over the raw headers (node's `headers` and `headersDistinct`
 * each build an object of their own on first use: a no-op sync reads ~1000 answers), with no
 * prototype, so no header name (`__proto__`, `constructor`) means anything but itself.
 */
function distinctHeaders(res: http.IncomingMessage): http.IncomingHttpHeaders {
  const headers = Object.create(null) as Record<string, string | string[]>;
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (typeof seen === 'string') headers[name] = [seen, value];
    else seen.push(value);
  }
  return headers as http.IncomingHttpHeaders;
}

/**
 * Reads and discards the rest of `res` so its socket goes back to the pool; past `limit` bytes
 * (or a Content-Length above it) the socket is given up instead. Resolves once the socket is back
 * in the pool (or closed), so the next request finds it there; never fails.
 */
async function dump(
  req: http.ClientRequest,
  res: http.IncomingMessage,
  headers: http.IncomingHttpHeaders,
  limit: number,
): Promise<void> {
  res.on('error', () => {});
  if (Number(headers['content-length']) > limit) {
    res.destroy();
  } else if (!res.readableEnded && !res.destroyed) {
    await new Promise<void>((resolve) => {
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > limit) res.destroy();
      });
      finished(res, () => resolve());
      res.resume();
    });
  }
  // A request whose body is still being sent keeps its socket until then: not waited for here.
  if (req.closed || !req.writableFinished) return;
  await new Promise<void>((resolve) => req.once('close', () => resolve()));
}
