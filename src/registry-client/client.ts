/**
 * A client for one registry host speaking the Distribution API
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md): manifests, blobs,
 * uploads, cross-repository mounts, tags and the catalog.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { type Digest, type DigestAlgorithm, digestAlgorithm, isDigest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import { manifestDigest, manifestMatchesDigest } from '../manifest/digest.js';
import { MAX_MANIFEST_SIZE } from '../manifest/limits.js';
import { ACCEPTED_MANIFEST_TYPES } from '../manifest/mediatypes.js';
import { CATALOG_SCOPE, type Credentials, repositoryScope } from './auth.js';
import { parseJSONObjectBody } from './errors.js';
import { RegistryHTTP, type RegistryResponse } from './http.js';
import { nextLink } from './link.js';
import { checkManifestDigests, manifestMIMEType } from './manifest-check.js';
import { blobPath, checkRepository, manifestPath, pageQuery, pull, push, repositoryPath } from './paths.js';
import { resumableStream } from './resumable.js';
import { type RetryOptions, retryDelay, retryPolicy, sleep } from './retry.js';
import { loadTLSFilesFor, type TLSFiles } from '../config/certs.js';
import { hashingBody } from './upload-body.js';

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

export interface FetchedManifest {
  /** The exact bytes the registry sent. */
  bytes: Buffer;
  mimeType: string;
  digest: Digest;
}

export interface ManifestHead {
  /** `Docker-Content-Digest`, when the registry sent a valid one. */
  digest?: Digest;
  mimeType?: string;
  /** -1 when unknown. */
  size: number;
}

export interface UploadBlobOptions {
  /** Expected digest; the computed one must equal it. Unknown: computed while streaming. */
  digest?: Digest;
  /** Expected size; -1 or undefined when unknown. */
  size?: number;
  /** Try a cross-repository mount from this repository first (needs `digest`). */
  mountFrom?: string;
  /**
   * The caller verifies the stream against `digest` and `size` and fails the stream on a mismatch
   * (PutBlobOptions.callerVerifiesDigest): the bytes are not hashed again, and the upload is only
   * completed (PUT) once the stream has ended normally. The registry checks the digest on PUT too.
   */
  callerVerifiesDigest?: boolean;
  signal?: AbortSignal;
}

export interface UploadedBlob {
  digest: Digest;
  /** -1 when mounted and the registry did not say. */
  size: number;
  mounted: boolean;
}

export interface ListOptions {
  /** `n=` page size; the registry may ignore it (Distribution 2.8 does for tags). */
  pageSize?: number;
  /** Most pages followed (default 10 000) and entries kept (default 1 000 000); past them TOO_LARGE. */
  maxPages?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

export const USER_AGENT = 'ferry/0.1.0';
const MANIFEST_ACCEPT = ACCEPTED_MANIFEST_TYPES.join(', ');
/** Largest tags-list or catalog page read into memory. */
const MAX_LIST_PAGE = 32 * 1024 * 1024;
/** Most pages and entries of one tag list or catalog: a registry cannot keep a listing going forever. */
const MAX_PAGES = 10_000;
const MAX_LIST_ENTRIES = 1_000_000;
/** Registry error codes on a manifest PUT that mean "not this format": the copy engine tries the next. */
const REJECTION_CODES = new Set(['MANIFEST_INVALID', 'TAG_INVALID', 'UNSUPPORTED']);

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

/** The API host of a registry domain (`docker.io` is served by `registry-1.docker.io`). */
export function registryAPIHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

export class RegistryClient {
  readonly host: string;
  readonly #http: RegistryHTTP;
  readonly #maxResumes: number;
  readonly #chunkSize: number | undefined;
  readonly #fallbackChunkSize: number;

  private constructor(host: string, http: RegistryHTTP, options: RegistryClientOptions) {
    this.host = host;
    this.#http = http;
    this.#maxResumes = options.maxBlobResumes ?? 5;
    const chunk = options.uploadChunkSize;
    this.#chunkSize = chunk !== undefined && chunk > 0 ? Math.trunc(chunk) : undefined;
    this.#fallbackChunkSize = this.#chunkSize ?? DEFAULT_FALLBACK_CHUNK_SIZE;
  }

  /** A client for `host` (`HOST[:PORT]`); reads `certDir` or certs.d now, connects on first use. */
  static async create(host: string, options: RegistryClientOptions = {}): Promise<RegistryClient> {
    const tls =
      options.tls ??
      (await loadTLSFilesFor(options.certsHost ?? host, {
        ...(options.certDir === undefined ? {} : { certDir: options.certDir }),
        ...(options.env === undefined ? {} : { env: options.env }),
      }));
    const http = new RegistryHTTP(host, {
      ...(options.tlsVerify === undefined ? {} : { tlsVerify: options.tlsVerify }),
      tls,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.registryToken === undefined ? {} : { registryToken: options.registryToken }),
      ...(options.noCreds === undefined ? {} : { noCreds: options.noCreds }),
      retry: retryPolicy(options.retry),
      userAgent: options.userAgent ?? USER_AGENT,
      ...registryTimeouts(options),
    });
    return new RegistryClient(host, http, options);
  }

  /** Pings `/v2/` (once per client): https first, http only when tlsVerify is false. Returns the base URL. */
  async ping(signal?: AbortSignal): Promise<string> {
    return (await this.#http.base(signal)).origin;
  }

  /**
   * Checks the client's credentials the way `login` does: an authenticated `GET /v2/` (for Bearer,
   * a token for no scope is fetched with them first). UNAUTHORIZED when the registry refuses them.
   */
  async checkCredentials(signal?: AbortSignal): Promise<void> {
    const what = `authenticating to ${this.host}`;
    const res = await this.#http.send({ method: 'GET', url: '/v2/', scopes: [], signal });
    if (res.status === 200) {
      await res.body.dump();
      return;
    }
    const err = await this.#http.failure(res, what, 'other');
    if (res.status === 401) {
      throw new FerryError('UNAUTHORIZED', `${what}: invalid username/password`, { cause: err, details: err.details });
    }
    throw err;
  }

  /** A manifest; a body cut short or damaged (a digest mismatch) is asked for again, within the retry policy. */
  async getManifest(repository: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const policy = this.#http.retryPolicy;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#getManifestOnce(repository, ref, signal);
      } catch (e) {
        // A digest mismatch may be bytes damaged in transit: asked for again too.
        const transient = (isFerryError(e, 'REGISTRY_UNREACHABLE') && e.details.cutShort === true) || isFerryError(e, 'DIGEST_MISMATCH');
        if (signal?.aborted || attempt >= policy.maxAttempts || !transient) throw e;
        await sleep(retryDelay(policy, attempt), signal);
      }
    }
  }

  async #getManifestOnce(repository: string, ref: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const path = manifestPath(repository, ref);
    const what = `reading manifest ${this.#imageName(repository, ref)}`;
    const res = await this.#http.send({ method: 'GET', url: path, scopes: [pull(repository)], headers: { accept: MANIFEST_ACCEPT }, signal });
    if (res.status !== 200) throw await this.#http.failure(res, what, 'manifest');
    const length = contentLength(res);
    if (length > MAX_MANIFEST_SIZE) {
      res.body.destroy();
      throw new FerryError('TOO_LARGE', `${what}: the manifest is ${length} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`, {
        details: { size: length, limit: MAX_MANIFEST_SIZE },
      });
    }
    const bytes = await this.#http.readBody(res, MAX_MANIFEST_SIZE, `manifest ${this.#imageName(repository, ref)}`);
    if (length >= 0 && bytes.length !== length) {
      throw new FerryError('SIZE_MISMATCH', `${what}: got ${bytes.length} bytes, Content-Length said ${length}`);
    }
    const digest = checkManifestDigests(bytes, ref, header(res, 'docker-content-digest'), what);
    return { bytes, mimeType: manifestMIMEType(header(res, 'content-type'), bytes), digest };
  }

  /** The manifest's digest, type and size without its body; undefined when the registry has no such manifest. */
  async headManifest(repository: string, ref: string, signal?: AbortSignal): Promise<ManifestHead | undefined> {
    const res = await this.#http.send({
      method: 'HEAD',
      url: manifestPath(repository, ref),
      scopes: [pull(repository)],
      headers: { accept: MANIFEST_ACCEPT },
      signal,
    });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) throw await this.#http.failure(res, `checking manifest ${this.#imageName(repository, ref)}`, 'manifest');
    await res.body.dump();
    const d = header(res, 'docker-content-digest');
    const ct = header(res, 'content-type')?.split(';')[0]?.trim();
    return { ...(d !== undefined && isDigest(d) ? { digest: d } : {}), ...(ct ? { mimeType: ct } : {}), size: contentLength(res) };
  }

  /**
   * Stores a manifest under a tag or its digest and returns its digest. A registry refusing the
   * format (MANIFEST_INVALID, TAG_INVALID, UNSUPPORTED) gives MANIFEST_REJECTED.
   */
  async putManifest(repository: string, ref: string, bytes: Buffer, mimeType: string, signal?: AbortSignal): Promise<Digest> {
    const what = `writing manifest ${this.#imageName(repository, ref)}`;
    if (isDigest(ref) && !manifestMatchesDigest(bytes, ref)) {
      throw new FerryError('DIGEST_MISMATCH', `${what}: the manifest's digest is ${manifestDigest(bytes)}, not ${ref}`, {
        details: { expected: ref, actual: manifestDigest(bytes) },
      });
    }
    const res = await this.#http.send({
      method: 'PUT',
      url: manifestPath(repository, ref),
      scopes: [push(repository)],
      headers: { 'content-type': mimeType },
      body: bytes,
      signal,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) {
      const err = await this.#http.failure(res, what, 'manifest');
      const code = err.details.registryCode;
      if (typeof code === 'string' && REJECTION_CODES.has(code)) {
        throw new FerryError('MANIFEST_REJECTED', err.message, { cause: err, details: { ...err.details, mimeType } });
      }
      throw err;
    }
    await res.body.dump();
    return isDigest(ref) ? ref : manifestDigest(bytes);
  }

  /** Deletes a manifest; a tag is first resolved to the digest it names (registries delete by digest only). */
  async deleteManifest(repository: string, ref: string, signal?: AbortSignal): Promise<Digest> {
    let digest: Digest;
    if (isDigest(ref)) {
      digest = ref;
    } else {
      const head = await this.headManifest(repository, ref, signal);
      if (head === undefined) {
        throw new FerryError('MANIFEST_UNKNOWN', `deleting ${this.#imageName(repository, ref)}: no such manifest`, {
          details: { repository, ref },
        });
      }
      digest = head.digest ?? (await this.getManifest(repository, ref, signal)).digest;
    }
    const res = await this.#http.send({
      method: 'DELETE',
      url: manifestPath(repository, digest),
      scopes: [repositoryScope(checkRepository(repository), '*')],
      signal,
    });
    if (res.status !== 202 && res.status !== 200) {
      throw await this.#http.failure(res, `deleting manifest ${this.#imageName(repository, digest)}`, 'manifest');
    }
    await res.body.dump();
    return digest;
  }

  /** The blob's size when the repository has it, undefined when it does not. */
  async blobExists(repository: string, digest: Digest, signal?: AbortSignal): Promise<{ size: number } | undefined> {
    const res = await this.#http.send({ method: 'HEAD', url: blobPath(repository, digest), scopes: [pull(repository)], signal });
    if (res.status === 404) {
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) throw await this.#http.failure(res, `checking blob ${digest} in ${this.host}/${repository}`, 'blob');
    await res.body.dump();
    return { size: contentLength(res) };
  }

  /**
   * A blob as a stream (redirects to storage hosts followed without the registry's credentials).
   * A read that breaks is resumed with `Range`; the caller verifies the digest.
   */
  async getBlob(repository: string, digest: Digest, signal?: AbortSignal): Promise<{ stream: Readable; size: number }> {
    const what = `blob ${digest} in ${this.host}/${repository}`;
    const url = blobPath(repository, digest);
    const scopes = [pull(repository)];
    const res = await this.#http.send({ method: 'GET', url, scopes, signal });
    if (res.status !== 200) throw await this.#http.failure(res, `reading ${what}`, 'blob');
    const size = contentLength(res);
    const reopen = async (offset: number): Promise<Readable> => {
      const r = await this.#http.send({ method: 'GET', url, scopes, headers: { range: `bytes=${offset}-` }, signal });
      const range = /^bytes ([0-9]+)-/.exec(header(r, 'content-range') ?? '');
      if (r.status !== 206 || range === null || Number(range[1]) !== offset) {
        await r.body.dump().catch(() => {});
        // Still a broken read: the copy engine starts the blob again from byte 0.
        throw new FerryError('REGISTRY_UNREACHABLE', `reading ${what} broke at byte ${offset}, and the registry cannot resume it (HTTP ${r.status} without that range)`, {
          details: { offset },
        });
      }
      return r.body;
    };
    const stream = resumableStream(res.body, reopen, { size, maxResumes: this.#maxResumes, what, ...(signal ? { signal } : {}) });
    return { stream, size };
  }

  /**
   * Uploads a blob: POST (optionally `?mount=&from=`), one streamed PATCH, PUT `?digest=` with the
   * digest computed while streaming. A failed upload is cancelled.
   */
  async uploadBlob(repository: string, stream: Readable, options: UploadBlobOptions = {}): Promise<UploadedBlob> {
    const { signal } = options;
    const scopes = [push(repository)];
    let startURL = `${repositoryPath(repository)}/blobs/uploads/`;
    const mount = options.mountFrom !== undefined && options.digest !== undefined;
    if (mount) {
      scopes.push(pull(options.mountFrom!));
      startURL += `?mount=${encodeURIComponent(options.digest!)}&from=${encodeURIComponent(checkRepository(options.mountFrom!))}`;
    }
    const what = `uploading a blob to ${this.host}/${repository}`;
    let start: RegistryResponse;
    try {
      start = await this.#http.send({ method: 'POST', url: startURL, scopes, body: Buffer.alloc(0), signal });
    } catch (e) {
      stream.destroy();
      throw e;
    }
    if (mount && start.status === 201) {
      await start.body.dump();
      stream.destroy();
      const size = options.size !== undefined && options.size >= 0 ? options.size : ((await this.blobExists(repository, options.digest!, signal))?.size ?? -1);
      return { digest: options.digest!, size, mounted: true };
    }
    if (start.status !== 202) {
      stream.destroy();
      throw await this.#http.failure(start, what, 'blob');
    }
    let location = uploadLocation(start, what);
    await start.body.dump();
    try {
      const algorithm = options.digest === undefined ? 'sha256' : digestAlgorithm(options.digest);
      let sent: { location: string; digest: Digest; size: number };
      if (this.#chunkSize !== undefined) {
        sent = await this.#patchChunks(location, stream, algorithm, this.#chunkSize, scopes, what, signal);
      } else {
        const trusted = options.callerVerifiesDigest === true && options.digest !== undefined ? options.digest : undefined;
        const whole = await this.#patchWhole(location, stream, algorithm, options.size ?? -1, scopes, what, signal, trusted);
        if ('tooLarge' in whole) {
          // 413 to the whole body (a proxy or the registry limits request sizes): a new session, in chunks.
          await this.#cancelUpload(location, scopes);
          const again = await this.#http.send({ method: 'POST', url: `${repositoryPath(repository)}/blobs/uploads/`, scopes, body: Buffer.alloc(0), signal });
          if (again.status !== 202) throw await this.#http.failure(again, what, 'blob');
          location = uploadLocation(again, what);
          await again.body.dump();
          sent = await this.#patchChunks(location, whole.replay, algorithm, this.#fallbackChunkSize, scopes, what, signal);
        } else {
          sent = whole;
        }
      }
      const { digest, size } = sent;
      location = sent.location;
      if (options.size !== undefined && options.size >= 0 && size !== options.size) {
        throw new FerryError('SIZE_MISMATCH', `${what}: expected ${options.size} bytes, the stream had ${size}`, {
          details: { expected: options.size, actual: size },
        });
      }
      if (options.digest !== undefined && digest !== options.digest) {
        throw new FerryError('DIGEST_MISMATCH', `${what}: expected ${options.digest}, the stream's digest is ${digest}`, {
          details: { expected: options.digest, actual: digest },
        });
      }
      await this.#finishUpload(repository, location, digest, scopes, what, signal);
      return { digest, size, mounted: false };
    } catch (e) {
      stream.destroy();
      await this.#cancelUpload(location, scopes);
      throw e;
    }
  }

  /** Cross-repository mount: true when mounted; on 202 the upload it opened is cancelled and false returned. */
  async mountBlob(repository: string, digest: Digest, from: string, signal?: AbortSignal): Promise<boolean> {
    const url = `${repositoryPath(repository)}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(checkRepository(from))}`;
    const scopes = [push(repository), pull(from)];
    const res = await this.#http.send({ method: 'POST', url, scopes, body: Buffer.alloc(0), signal });
    if (res.status === 201) {
      await res.body.dump();
      return true;
    }
    const what = `mounting blob ${digest} from ${from} into ${this.host}/${repository}`;
    if (res.status !== 202) throw await this.#http.failure(res, what, 'blob');
    const location = uploadLocation(res, what);
    await res.body.dump();
    await this.#cancelUpload(location, scopes);
    return false;
  }

  /** Every tag of a repository, following `Link` pagination. */
  async listTags(repository: string, options: ListOptions = {}): Promise<string[]> {
    const first = `${repositoryPath(repository)}/tags/list${pageQuery(options.pageSize)}`;
    return this.#paginate(first, [pull(repository)], 'tags', `listing tags of ${this.host}/${repository}`, options);
  }

  /** Every repository name of the registry (`/v2/_catalog`), following `Link` pagination. */
  async catalog(options: ListOptions = {}): Promise<string[]> {
    return this.#paginate(`/v2/_catalog${pageQuery(options.pageSize)}`, [CATALOG_SCOPE], 'repositories', `listing repositories of ${this.host}`, options);
  }

  async close(): Promise<void> {
    await this.#http.close();
  }

  async #paginate(first: string, scopes: string[], field: 'tags' | 'repositories', what: string, options: ListOptions): Promise<string[]> {
    const { signal } = options;
    const maxPages = options.maxPages ?? MAX_PAGES;
    const maxEntries = options.maxEntries ?? MAX_LIST_ENTRIES;
    const out: string[] = [];
    let url = first;
    const visited = new Set<string>();
    for (let page = 0; page < maxPages; page++) {
      visited.add(url);
      const res = await this.#http.send({ method: 'GET', url, scopes, signal });
      if (res.status !== 200) throw await this.#http.failure(res, what, 'other');
      const body = await this.#http.readBody(res, MAX_LIST_PAGE, what);
      const entries = parseListPage(body, field, what);
      if (out.length + entries.length > maxEntries) {
        throw new FerryError('TOO_LARGE', `${what}: more than ${maxEntries} entries`, { details: { limit: maxEntries } });
      }
      for (const entry of entries) out.push(entry);
      const next = nextLink(res.headers.link);
      if (next === undefined) return out;
      const nextURL = new URL(next, res.url);
      const base = await this.#http.base(signal);
      if (nextURL.origin !== base.origin) {
        throw new FerryError('REGISTRY_ERROR', `${what}: the Link header points to another host (${nextURL.host})`, {
          details: { link: nextURL.host },
        });
      }
      url = nextURL.pathname + nextURL.search;
      if (visited.has(url)) {
        throw new FerryError('REGISTRY_ERROR', `${what}: the Link header of page ${page + 1} leads back to an earlier page`, { details: { page: page + 1 } });
      }
    }
    throw new FerryError('TOO_LARGE', `${what}: more than ${maxPages} pages`, { details: { limit: maxPages } });
  }

  /**
   * One streamed PATCH of the whole blob (the fast path, and the only one containers/image uses).
   * A 413 answer gives `tooLarge` with a stream replaying the bytes already taken from the source
   * (kept up to MAX_REPLAY bytes) followed by the rest of it; past that it is TOO_LARGE.
   */
  async #patchWhole(
    location: string,
    stream: Readable,
    algorithm: DigestAlgorithm,
    size: number,
    scopes: string[],
    what: string,
    signal?: AbortSignal,
    trusted?: Digest,
  ): Promise<{ location: string; digest: Digest; size: number } | { tooLarge: true; replay: Readable }> {
    // A digest the caller verifies is not computed a second time here.
    const hashing = hashingBody(stream, trusted === undefined ? algorithm : undefined, MAX_REPLAY);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (size >= 0) headers['content-length'] = String(size);
    let patch: RegistryResponse;
    try {
      patch = await this.#http.send({ method: 'PATCH', url: location, scopes, headers, body: hashing.body, signal });
    } catch (e) {
      hashing.body.destroy();
      throw e;
    }
    if (patch.status === 413) {
      await patch.body.dump().catch(() => {});
      hashing.body.destroy();
      const taken = hashing.taken();
      if (taken === undefined) {
        throw new FerryError('TOO_LARGE', `${what}: the server refused the blob as too large (HTTP 413) after more than ${MAX_REPLAY} bytes were sent; set an upload chunk size`, {
          details: { status: 413 },
        });
      }
      return { tooLarge: true, replay: prefixed(taken, stream) };
    }
    if (patch.status !== 202 && patch.status !== 204) throw await this.#http.failure(patch, what, 'blob');
    const next = header(patch, 'location') === undefined ? location : uploadLocation(patch, what);
    await patch.body.dump();
    if (trusted !== undefined) {
      // The caller's verdict (the stream's end or error) must be in before the upload is completed.
      await hashing.settled();
      return { location: next, digest: trusted, size: hashing.result(size, what).size };
    }
    const sent = hashing.result(size, what);
    return { location: next, digest: sent.digest as Digest, size: sent.size };
  }

  /** Fixed-size PATCHes with Content-Range: each chunk is a Buffer, so a failed one is retried on its own. */
  async #patchChunks(
    location: string,
    stream: Readable,
    algorithm: DigestAlgorithm,
    chunkSize: number,
    scopes: string[],
    what: string,
    signal?: AbortSignal,
  ): Promise<{ location: string; digest: Digest; size: number }> {
    const hash = createHash(algorithm);
    let offset = 0;
    const send = async (chunk: Buffer): Promise<void> => {
      const headers = {
        'content-type': 'application/octet-stream',
        'content-length': String(chunk.length),
        'content-range': `${offset}-${offset + chunk.length - 1}`,
      };
      const patch = await this.#http.send({ method: 'PATCH', url: location, scopes, headers, body: chunk, signal });
      if (patch.status !== 202 && patch.status !== 204) throw await this.#http.failure(patch, what, 'blob');
      if (header(patch, 'location') !== undefined) location = uploadLocation(patch, what);
      await patch.body.dump();
      offset += chunk.length;
    };
    let pending: Buffer = Buffer.alloc(0);
    for await (const data of stream) {
      const buf = typeof data === 'string' ? Buffer.from(data) : (data as Buffer);
      hash.update(buf);
      pending = pending.length === 0 ? buf : Buffer.concat([pending, buf]);
      while (pending.length >= chunkSize) {
        await send(pending.subarray(0, chunkSize));
        pending = pending.subarray(chunkSize);
      }
    }
    if (pending.length > 0) await send(pending);
    return { location, digest: `${algorithm}:${hash.digest('hex')}`, size: offset };
  }

  // A retried PUT whose first try did land is refused (the session is gone): the blob being there is success.
  async #finishUpload(repository: string, location: string, digest: Digest, scopes: string[], what: string, signal?: AbortSignal): Promise<void> {
    let failure: unknown;
    try {
      const put = await this.#http.send({ method: 'PUT', url: withQuery(location, 'digest', digest), scopes, body: Buffer.alloc(0), signal });
      if (put.status === 201 || put.status === 204) {
        await put.body.dump();
        return;
      }
      failure = await this.#http.failure(put, what, 'blob');
    } catch (e) {
      failure = e;
    }
    if (!signal?.aborted && (await this.blobExists(repository, digest, signal).catch(() => undefined)) !== undefined) return;
    throw failure;
  }

  async #cancelUpload(location: string, scopes: string[]): Promise<void> {
    try {
      const res = await this.#http.send({ method: 'DELETE', url: location, scopes, signal: AbortSignal.timeout(10_000) });
      await res.body.dump();
    } catch {
      // best effort: the registry expires abandoned uploads on its own
    }
  }

  #imageName(repository: string, ref: string): string {
    return `${this.host}/${repository}${isDigest(ref) ? '@' : ':'}${ref}`;
  }
}

/** Most bytes of a whole-blob PATCH kept in memory to replay it in chunks after a 413. */
const MAX_REPLAY = 4 * 1024 * 1024;

/** `head`, then the rest of `source`. */
function prefixed(head: Buffer, source: Readable): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for await (const c of source) yield typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * A response header's first value. The headers read here are ASCII by their specs; one with other
 * bytes (obs-text, which can hold C1 terminal controls) is ignored rather than quoted anywhere.
 */
function header(res: RegistryResponse, name: string): string | undefined {
  const raw = res.headers[name];
  const v = Array.isArray(raw) ? raw[0] : raw;
  return v === undefined || /^[\t\x20-\x7e]*$/.test(v) ? v : undefined;
}

function contentLength(res: RegistryResponse): number {
  const v = header(res, 'content-length');
  if (v === undefined || !/^[0-9]+$/.test(v)) return -1;
  return Number(v);
}

function uploadLocation(res: RegistryResponse, what: string): string {
  const location = header(res, 'location');
  if (location === undefined) throw new FerryError('REGISTRY_ERROR', `${what}: the registry answered ${res.status} without a Location`);
  return new URL(location, res.url).toString();
}

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.append(key, value);
  return u.toString();
}

function parseListPage(body: Buffer, field: 'tags' | 'repositories', what: string): string[] {
  const list = parseJSONObjectBody(body, what)[field];
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
    throw new FerryError('REGISTRY_ERROR', `${what}: "${field}" is not a list of strings`);
  }
  return (list as string[]).filter((t) => t !== '');
}

