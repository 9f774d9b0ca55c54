/**
 * Fetching a foreign (non-distributable) layer from the `urls` of its descriptor
 * (image-spec descriptor.md#properties: `urls`). Only http(s) URLs are tried, in order.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { abortError, FerryError } from '../../errors.js';
import type { BlobInfo, BlobStream } from '../types.js';

export async function fetchExternalBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
  const failures: string[] = [];
  for (const url of info.urls ?? []) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      failures.push(`${url}: not a URL`);
      continue;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      failures.push(`${url}: unsupported scheme`);
      continue;
    }
    let response: Response;
    try {
      response = await fetch(parsed, { signal });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      failures.push(`${url}: ${(e as Error).message}`);
      continue;
    }
    if (response.status !== 200 || response.body === null) {
      await response.body?.cancel().catch(() => {});
      failures.push(`${url}: HTTP ${response.status}`);
      continue;
    }
    const length = Number.parseInt(response.headers.get('content-length') ?? '', 10);
    return {
      stream: Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      size: Number.isSafeInteger(length) && length >= 0 ? length : -1,
    };
  }
  throw new FerryError('BLOB_NOT_FOUND', `blob ${info.digest} is not stored locally and could not be fetched from its urls (${failures.join('; ')})`, {
    details: { digest: info.digest, urls: info.urls ?? [] },
  });
}
