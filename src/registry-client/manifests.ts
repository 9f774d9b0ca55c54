/**
 * Layer 4, manifests (distribution-spec "Pulling manifests", "Pushing manifests", "Deleting
 * manifests"): read with the digest checked, HEAD, PUT, DELETE by digest.
 */
import { type Digest, isDigest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import { manifestDigest, manifestMatchesDigest } from '../manifest/digest.js';
import { MAX_MANIFEST_SIZE } from '../manifest/limits.js';
import { ACCEPTED_MANIFEST_TYPES } from '../manifest/mediatypes.js';
import { repositoryScope } from './auth.js';
import { checkManifestDigests, manifestMIMEType } from './manifest-check.js';
import { checkRepository, manifestPath, pull, push } from './paths.js';
import { contentLength, header } from './response.js';
import { retryPolicy } from './retry.js';
import { retryingWhen } from './retrying.js';
import type { RegistryTransport } from './transport.js';

export interface FetchedManifest {
  /** The exact bytes the registry sent. */
  bytes: Buffer;
  mimeType: string;
  digest: Digest;
  /** `ETag` as the registry sent it (Distribution: `"sha256:…"`), for a conditional write of the same tag. */
  etag?: string;
}

export interface ManifestHead {
  /** `Docker-Content-Digest`, when the registry sent a valid one. */
  digest?: Digest;
  mimeType?: string;
  /** -1 when unknown. */
  size: number;
}

const MANIFEST_ACCEPT = ACCEPTED_MANIFEST_TYPES.join(', ');
/** Registry error codes on a manifest PUT that mean "not this format": the copy engine tries the next. */
const REJECTION_CODES = new Set(['MANIFEST_INVALID', 'TAG_INVALID', 'UNSUPPORTED']);

/** `HOST/REPOSITORY:TAG` or `HOST/REPOSITORY@DIGEST`, for messages. */
export function imageName(t: RegistryTransport, repository: string, ref: string): string {
  return `${t.host}/${repository}${isDigest(ref) ? '@' : ':'}${ref}`;
}

/** A manifest; a body cut short or damaged (a digest mismatch) is asked for again, within the retry policy. */
export function getManifest(
  t: RegistryTransport,
  repository: string,
  ref: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  // A digest mismatch may be bytes damaged in transit: asked for again too.
  const transient = (e: unknown): boolean =>
    (isFerryError(e, 'REGISTRY_UNREACHABLE') && e.details.cutShort === true) || isFerryError(e, 'DIGEST_MISMATCH');
  return retryingWhen(t.retryPolicy, transient, () => getManifestOnce(t, repository, ref, signal), signal);
}

async function getManifestOnce(
  t: RegistryTransport,
  repository: string,
  ref: string,
  signal?: AbortSignal,
): Promise<FetchedManifest> {
  const path = manifestPath(repository, ref);
  const what = `reading manifest ${imageName(t, repository, ref)}`;
  const res = await t.send({
    method: 'GET',
    url: path,
    scopes: [pull(repository)],
    headers: { accept: MANIFEST_ACCEPT },
    signal,
  });
  if (res.status !== 200) throw await t.failure(res, what, 'manifest');
  const length = contentLength(res);
  if (length > MAX_MANIFEST_SIZE) {
    res.body.destroy();
    throw new FerryError(
      'TOO_LARGE',
      `${what}: the manifest is ${length} bytes, over the ${MAX_MANIFEST_SIZE}-byte limit`,
      {
        details: { size: length, limit: MAX_MANIFEST_SIZE },
      },
    );
  }
  const bytes = await t.readBody(res, MAX_MANIFEST_SIZE, `manifest ${imageName(t, repository, ref)}`);
  if (length >= 0 && bytes.length !== length) {
    throw new FerryError('SIZE_MISMATCH', `${what}: got ${bytes.length} bytes, Content-Length said ${length}`);
  }
  const digest = checkManifestDigests(bytes, ref, header(res, 'docker-content-digest'), what);
  const etag = header(res, 'etag');
  return {
    bytes,
    mimeType: manifestMIMEType(header(res, 'content-type'), bytes),
    digest,
    ...(etag === undefined ? {} : { etag }),
  };
}

/** The manifest's digest, type and size without its body; undefined when the registry has no such manifest. */
export async function headManifest(
  t: RegistryTransport,
  repository: string,
  ref: string,
  signal?: AbortSignal,
): Promise<ManifestHead | undefined> {
  const res = await t.send({
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
  if (res.status !== 200) throw await t.failure(res, `checking manifest ${imageName(t, repository, ref)}`, 'manifest');
  await res.body.dump();
  const d = header(res, 'docker-content-digest');
  const ct = header(res, 'content-type')?.split(';')[0]?.trim();
  return {
    ...(d !== undefined && isDigest(d) ? { digest: d } : {}),
    ...(ct ? { mimeType: ct } : {}),
    size: contentLength(res),
  };
}

/**
 * Stores a manifest under a tag or its digest and returns its digest. A registry refusing the
 * format (MANIFEST_INVALID, TAG_INVALID, UNSUPPORTED) gives MANIFEST_REJECTED.
 */
export async function putManifest(
  t: RegistryTransport,
  repository: string,
  ref: string,
  bytes: Buffer,
  mimeType: string,
  signal?: AbortSignal,
): Promise<Digest> {
  return (await putManifestDetailed(t, repository, ref, bytes, mimeType, signal)).digest;
}

/** What a manifest PUT answered, for callers that need more than the digest. */
export interface PutManifestResult {
  digest: Digest;
  /** `OCI-Subject` (distribution-spec v1.1): the registry processed the manifest's `subject` itself. */
  ociSubject?: string;
}

/**
 * A precondition on a manifest PUT (RFC 9110 §13.1): the tag still holds the representation read
 * (`If-Match`), or does not exist yet (`If-None-Match: *`). A registry that checks it and finds it
 * false answers 412 (a REGISTRY_ERROR with `details.status` 412); one that ignores it writes anyway.
 */
export type PutCondition = { ifMatch: string } | { ifNoneMatch: '*' };

function conditionHeaders(condition: PutCondition | undefined): Record<string, string> {
  if (condition === undefined) return {};
  return 'ifMatch' in condition ? { 'if-match': condition.ifMatch } : { 'if-none-match': condition.ifNoneMatch };
}

/** putManifest, with the response's `OCI-Subject` header, and written only when `condition` holds. */
export async function putManifestDetailed(
  t: RegistryTransport,
  repository: string,
  ref: string,
  bytes: Buffer,
  mimeType: string,
  signal?: AbortSignal,
  condition?: PutCondition,
): Promise<PutManifestResult> {
  const what = `writing manifest ${imageName(t, repository, ref)}`;
  if (isDigest(ref) && !manifestMatchesDigest(bytes, ref)) {
    throw new FerryError('DIGEST_MISMATCH', `${what}: the manifest's digest is ${manifestDigest(bytes)}, not ${ref}`, {
      details: { expected: ref, actual: manifestDigest(bytes) },
    });
  }
  const put = async (): Promise<PutManifestResult> => {
    const res = await t.send({
      method: 'PUT',
      url: manifestPath(repository, ref),
      scopes: [push(repository)],
      headers: { 'content-type': mimeType, ...conditionHeaders(condition) },
      body: bytes,
      signal,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await t.failure(res, what, 'manifest');
    await res.body.dump();
    const ociSubject = header(res, 'oci-subject');
    return {
      digest: isDigest(ref) ? ref : manifestDigest(bytes),
      ...(ociSubject === undefined ? {} : { ociSubject }),
    };
  };
  try {
    return await retryingWhen(BLOB_UNKNOWN_RETRY, namesUnknownBlob, put, signal);
  } catch (e) {
    const code = isFerryError(e) ? e.details.registryCode : undefined;
    if (typeof code !== 'string' || !REJECTION_CODES.has(code)) throw e;
    const err = e as FerryError;
    throw new FerryError('MANIFEST_REJECTED', err.message, { cause: err, details: { ...err.details, mimeType } });
  }
}

/**
 * A manifest PUT answered MANIFEST_BLOB_UNKNOWN is put again, 4 tries in all (100, 200, 400 ms
 * apart). The blobs were put or found just before, so the likely cause is another writer of the
 * repository: Distribution's filesystem storage rewrites a repository's blob links in place
 * (truncate, then write), and a manifest checked meanwhile names a blob it cannot read for a moment.
 * A blob that is really missing fails the same way each time, 0.7 s later.
 */
const BLOB_UNKNOWN_RETRY = retryPolicy({ maxAttempts: 4, initialDelayMs: 100 });

function namesUnknownBlob(err: unknown): boolean {
  const entries = isFerryError(err) ? err.details.registryErrors : undefined;
  return Array.isArray(entries) && entries.some((e) => (e as { code?: unknown }).code === 'MANIFEST_BLOB_UNKNOWN');
}

/** Deletes a manifest; a tag is first resolved to the digest it names (registries delete by digest only). */
export async function deleteManifest(
  t: RegistryTransport,
  repository: string,
  ref: string,
  signal?: AbortSignal,
): Promise<Digest> {
  let digest: Digest;
  if (isDigest(ref)) {
    digest = ref;
  } else {
    const head = await headManifest(t, repository, ref, signal);
    if (head === undefined) {
      throw new FerryError('MANIFEST_UNKNOWN', `deleting ${imageName(t, repository, ref)}: no such manifest`, {
        details: { repository, ref },
      });
    }
    digest = head.digest ?? (await getManifest(t, repository, ref, signal)).digest;
  }
  const res = await t.send({
    method: 'DELETE',
    url: manifestPath(repository, digest),
    scopes: [repositoryScope(checkRepository(repository), '*')],
    signal,
  });
  if (res.status !== 202 && res.status !== 200) {
    throw await t.failure(res, `deleting manifest ${imageName(t, repository, digest)}`, 'manifest');
  }
  await res.body.dump();
  return digest;
}
