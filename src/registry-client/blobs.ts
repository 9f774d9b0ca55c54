/**
 * Layer 4, blobs (distribution-spec "Pulling blobs", "Checking if content exists"): HEAD, and GET
 * as a stream resumed with `Range` when it breaks. Redirects to storage hosts are the redirect
 * layer's (followed without the registry's credentials).
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { blobPath, pull } from './paths.js';
import { contentLength, header } from './response.js';
import { resumableStream } from './resumable.js';
import type { RegistryTransport } from './transport.js';

/** The blob's size when the repository has it, undefined when it does not. */
export async function blobExists(
  t: RegistryTransport,
  repository: string,
  digest: Digest,
  signal?: AbortSignal,
): Promise<{ size: number } | undefined> {
  const res = await t.send({ method: 'HEAD', url: blobPath(repository, digest), scopes: [pull(repository)], signal });
  if (res.status === 404) {
    await res.body.dump();
    return undefined;
  }
  if (res.status !== 200) throw await t.failure(res, `checking blob ${digest} in ${t.host}/${repository}`, 'blob');
  await res.body.dump();
  return { size: contentLength(res) };
}

/** A blob as a stream; a read that breaks is resumed with `Range` up to `maxResumes` times. The caller verifies the digest. */
export async function getBlob(
  t: RegistryTransport,
  repository: string,
  digest: Digest,
  maxResumes: number,
  signal?: AbortSignal,
): Promise<{ stream: Readable; size: number }> {
  const what = `blob ${digest} in ${t.host}/${repository}`;
  const url = blobPath(repository, digest);
  const scopes = [pull(repository)];
  const res = await t.send({ method: 'GET', url, scopes, signal });
  if (res.status !== 200) throw await t.failure(res, `reading ${what}`, 'blob');
  const size = contentLength(res);
  const reopen = async (offset: number): Promise<Readable> => {
    const r = await t.send({ method: 'GET', url, scopes, headers: { range: `bytes=${offset}-` }, signal });
    const range = /^bytes ([0-9]+)-/.exec(header(r, 'content-range') ?? '');
    if (r.status !== 206 || range === null || Number(range[1]) !== offset) {
      await r.body.dump().catch(() => {});
      // Still a broken read: the copy engine starts the blob again from byte 0.
      throw new FerryError(
        'REGISTRY_UNREACHABLE',
        `reading ${what} broke at byte ${offset}, and the registry cannot resume it (HTTP ${r.status} without that range)`,
        {
          details: { offset },
        },
      );
    }
    return r.body;
  };
  const stream = resumableStream(res.body, reopen, { size, maxResumes, what, ...(signal ? { signal } : {}) });
  return { stream, size };
}
