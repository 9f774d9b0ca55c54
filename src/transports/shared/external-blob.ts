/**
 * Fetching a foreign (non-distributable) layer from the `urls` of its descriptor
 * (image-spec descriptor.md#properties: `urls`). Only http(s) URLs are tried, in order, through the
 * registry client's HTTP layer (TLS, proxy, timeouts; never credentials).
 */
import { abortError, FerryError, isFerryError } from '../../errors.js';
import { openForeignURL, printableText } from '../../registry-client/index.js';
import type { BlobInfo, BlobStream } from '../types.js';

export async function fetchExternalBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
  const failures: string[] = [];
  for (const url of info.urls ?? []) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      failures.push(`${printable(url)}: not a URL`);
      continue;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      failures.push(`${printable(url)}: unsupported scheme`);
      continue;
    }
    try {
      return await openForeignURL(parsed, signal === undefined ? {} : { signal });
    } catch (e) {
      if (signal?.aborted) throw abortError(signal);
      failures.push(isFerryError(e) ? e.message : `${printable(url)}: ${(e as Error).message}`);
    }
  }
  throw new FerryError(
    'BLOB_NOT_FOUND',
    `blob ${info.digest} is not stored locally and could not be fetched from its urls (${failures.join('; ')})`,
    {
      details: { digest: info.digest, urls: info.urls ?? [] },
    },
  );
}

/** A URL from a manifest, safe to quote in an error. */
function printable(url: string): string {
  return printableText(url, 200);
}
