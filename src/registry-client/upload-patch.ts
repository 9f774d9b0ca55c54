/**
 * Layer 4, the PATCH step of a blob upload (distribution-spec "Pushing a blob in chunks", "Pushing
 * a blob monolithically" with a streamed PATCH): one streamed PATCH of the whole blob, or
 * fixed-size chunks with Content-Range, each a Buffer that the retry layer may send again.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Digest, DigestAlgorithm } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import type { RegistryResponse } from './connection.js';
import { header } from './response.js';
import type { RegistryTransport } from './transport.js';
import { hashingBody } from './upload-body.js';

/** Most bytes of a whole-blob PATCH kept in memory to replay it in chunks after a 413. */
export const MAX_REPLAY = 4 * 1024 * 1024;

export interface PatchTarget {
  location: string;
  scopes: string[];
  what: string;
  signal?: AbortSignal | undefined;
}

export interface Patched {
  /** Where the upload continues (the last Location the registry gave). */
  location: string;
  digest: Digest;
  size: number;
}

/**
 * One streamed PATCH of the whole blob (the fast path, and the only one containers/image uses).
 * A 413 answer gives `tooLarge` with a stream replaying the bytes already taken from the source
 * (kept up to MAX_REPLAY bytes) followed by the rest of it; past that it is TOO_LARGE.
 */
export async function patchWhole(
  t: RegistryTransport,
  target: PatchTarget,
  stream: Readable,
  algorithm: DigestAlgorithm,
  size: number,
  trusted?: Digest,
): Promise<Patched | { tooLarge: true; replay: Readable }> {
  const { location, scopes, what, signal } = target;
  // A digest the caller verifies is not computed a second time here.
  const hashing = hashingBody(stream, trusted === undefined ? algorithm : undefined, MAX_REPLAY);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (size >= 0) headers['content-length'] = String(size);
  let patch: RegistryResponse;
  try {
    patch = await t.send({ method: 'PATCH', url: location, scopes, headers, body: hashing.body, signal });
  } catch (e) {
    hashing.body.destroy();
    throw e;
  }
  if (patch.status === 413) {
    await patch.body.dump().catch(() => {});
    hashing.body.destroy();
    const taken = hashing.taken();
    if (taken === undefined) {
      throw new FerryError(
        'TOO_LARGE',
        `${what}: the server refused the blob as too large (HTTP 413) after more than ${MAX_REPLAY} bytes were sent; set an upload chunk size`,
        {
          details: { status: 413 },
        },
      );
    }
    return { tooLarge: true, replay: prefixed(taken, stream) };
  }
  if (patch.status !== 202 && patch.status !== 204) throw await t.failure(patch, what, 'blob');
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
export async function patchChunks(
  t: RegistryTransport,
  target: PatchTarget,
  stream: Readable,
  algorithm: DigestAlgorithm,
  chunkSize: number,
): Promise<Patched> {
  const { scopes, what, signal } = target;
  let location = target.location;
  const hash = createHash(algorithm);
  let offset = 0;
  const send = async (chunk: Buffer): Promise<void> => {
    const headers = {
      'content-type': 'application/octet-stream',
      'content-length': String(chunk.length),
      'content-range': `${offset}-${offset + chunk.length - 1}`,
    };
    const patch = await t.send({ method: 'PATCH', url: location, scopes, headers, body: chunk, signal });
    if (patch.status !== 202 && patch.status !== 204) throw await t.failure(patch, what, 'blob');
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

/** The upload session URL a POST or PATCH answer names (relative to the URL that answered). */
export function uploadLocation(res: RegistryResponse, what: string): string {
  const location = header(res, 'location');
  if (location === undefined)
    throw new FerryError('REGISTRY_ERROR', `${what}: the registry answered ${res.status} without a Location`);
  return new URL(location, res.url).toString();
}

/** `head`, then the rest of `source`. */
function prefixed(head: Buffer, source: Readable): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for await (const c of source) yield typeof c === 'string' ? Buffer.from(c) : (c as Buffer);
  }
  return Readable.from(chunks(), { objectMode: false });
}
