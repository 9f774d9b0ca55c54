/**
 * Layer 4, blob uploads and mounts (distribution-spec "Pushing blobs", "Mounting a blob from
 * another repository"): POST (optionally `?mount=&from=`), PATCH (upload-patch.ts), PUT
 * `?digest=`; a failed upload is cancelled.
 */
import type { Readable } from 'node:stream';
import { type Digest, digestAlgorithm } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { blobExists } from './blobs.js';
import type { RegistryResponse } from './connection.js';
import { checkRepository, pull, push, repositoryPath } from './paths.js';
import { type Patched, patchChunks, patchWhole, uploadLocation } from './upload-patch.js';
import type { RegistryTransport } from './transport.js';

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

export interface UploadChunking {
  /** PATCHes of this many bytes; undefined: one PATCH of the whole blob. */
  chunkSize: number | undefined;
  /** Chunk size after a 413 answer to the whole-blob PATCH. */
  fallbackChunkSize: number;
}

/**
 * Uploads a blob: POST (optionally `?mount=&from=`), one streamed PATCH, PUT `?digest=` with the
 * digest computed while streaming. A failed upload is cancelled.
 */
export async function uploadBlob(
  t: RegistryTransport,
  repository: string,
  stream: Readable,
  options: UploadBlobOptions,
  chunking: UploadChunking,
): Promise<UploadedBlob> {
  const { signal } = options;
  const scopes = [push(repository)];
  let startURL = `${repositoryPath(repository)}/blobs/uploads/`;
  const mount = options.mountFrom !== undefined && options.digest !== undefined;
  if (mount) {
    scopes.push(pull(options.mountFrom!));
    startURL += `?mount=${encodeURIComponent(options.digest!)}&from=${encodeURIComponent(checkRepository(options.mountFrom!))}`;
  }
  const what = `uploading a blob to ${t.host}/${repository}`;
  let start: RegistryResponse;
  try {
    start = await t.send({ method: 'POST', url: startURL, scopes, body: Buffer.alloc(0), signal });
  } catch (e) {
    stream.destroy();
    throw e;
  }
  if (mount && start.status === 201) {
    await start.body.dump();
    stream.destroy();
    const size =
      options.size !== undefined && options.size >= 0
        ? options.size
        : ((await blobExists(t, repository, options.digest!, signal))?.size ?? -1);
    return { digest: options.digest!, size, mounted: true };
  }
  if (start.status !== 202) {
    stream.destroy();
    throw await t.failure(start, what, 'blob');
  }
  let location = uploadLocation(start, what);
  await start.body.dump();
  try {
    const algorithm = options.digest === undefined ? 'sha256' : digestAlgorithm(options.digest);
    let sent: Patched;
    if (chunking.chunkSize !== undefined) {
      sent = await patchChunks(t, { location, scopes, what, signal }, stream, algorithm, chunking.chunkSize);
    } else {
      const trusted =
        options.callerVerifiesDigest === true && options.digest !== undefined ? options.digest : undefined;
      const whole = await patchWhole(
        t,
        { location, scopes, what, signal },
        stream,
        algorithm,
        options.size ?? -1,
        trusted,
      );
      if ('tooLarge' in whole) {
        // 413 to the whole body (a proxy or the registry limits request sizes): a new session, in chunks.
        await cancelUpload(t, location, scopes);
        const again = await t.send({
          method: 'POST',
          url: `${repositoryPath(repository)}/blobs/uploads/`,
          scopes,
          body: Buffer.alloc(0),
          signal,
        });
        if (again.status !== 202) throw await t.failure(again, what, 'blob');
        location = uploadLocation(again, what);
        await again.body.dump();
        sent = await patchChunks(
          t,
          { location, scopes, what, signal },
          whole.replay,
          algorithm,
          chunking.fallbackChunkSize,
        );
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
    await finishUpload(t, repository, location, digest, scopes, what, signal);
    return { digest, size, mounted: false };
  } catch (e) {
    stream.destroy();
    await cancelUpload(t, location, scopes);
    throw e;
  }
}

/** Cross-repository mount: true when mounted; on 202 the upload it opened is cancelled and false returned. */
export async function mountBlob(
  t: RegistryTransport,
  repository: string,
  digest: Digest,
  from: string,
  signal?: AbortSignal,
): Promise<boolean> {
  const url = `${repositoryPath(repository)}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(checkRepository(from))}`;
  const scopes = [push(repository), pull(from)];
  const res = await t.send({ method: 'POST', url, scopes, body: Buffer.alloc(0), signal });
  if (res.status === 201) {
    await res.body.dump();
    return true;
  }
  const what = `mounting blob ${digest} from ${from} into ${t.host}/${repository}`;
  if (res.status !== 202) throw await t.failure(res, what, 'blob');
  const location = uploadLocation(res, what);
  await res.body.dump();
  await cancelUpload(t, location, scopes);
  return false;
}

// A retried PUT whose first try did land is refused (the session is gone): the blob being there is success.
async function finishUpload(
  t: RegistryTransport,
  repository: string,
  location: string,
  digest: Digest,
  scopes: string[],
  what: string,
  signal?: AbortSignal,
): Promise<void> {
  let failure: unknown;
  try {
    const put = await t.send({
      method: 'PUT',
      url: withQuery(location, 'digest', digest),
      scopes,
      body: Buffer.alloc(0),
      signal,
    });
    if (put.status === 201 || put.status === 204) {
      await put.body.dump();
      return;
    }
    failure = await t.failure(put, what, 'blob');
  } catch (e) {
    failure = e;
  }
  if (!signal?.aborted && (await blobExists(t, repository, digest, signal).catch(() => undefined)) !== undefined)
    return;
  throw failure;
}

async function cancelUpload(t: RegistryTransport, location: string, scopes: string[]): Promise<void> {
  try {
    const res = await t.send({ method: 'DELETE', url: location, scopes, signal: AbortSignal.timeout(10_000) });
    await res.body.dump();
  } catch {
    // best effort: the registry expires abandoned uploads on its own
  }
}

function withQuery(url: string, key: string, value: string): string {
  const u = new URL(url);
  u.searchParams.append(key, value);
  return u.toString();
}
