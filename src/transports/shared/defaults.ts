/**
 * Behaviour most transports share, in one place (containers/image's stubs and impl): a source or
 * destination takes the default it has and writes out only what differs. Capability defaults are
 * DEFAULT_DESTINATION_CAPABILITIES in the contract (types.ts); these are the matching methods.
 */
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError, throwIfAborted } from '../../errors.js';
import type { BlobInfo } from '../../manifest/blob-info.js';
import type { PutBlobOptions } from '../types.js';
import { type StoreBlobOptions, storeBlob } from './blob-store.js';
import { fileSize } from './files.js';

/** getSignatures of a source that has none (every transport but dir:). */
export async function noSignatures(_instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]> {
  throwIfAborted(signal);
  return [];
}

/** putSignatures of a destination with `supportsSignatures: false`: none is fine, any is UNSUPPORTED_OPERATION. */
export function refuseSignatures(what: string, signatures: readonly Buffer[], reason: string): void {
  if (signatures.length > 0) throw new FerryError('UNSUPPORTED_OPERATION', `${what}: ${reason}`);
}

/** A destination with `supportsMultipleImages: false`: an instance of a list is UNSUPPORTED_OPERATION. */
export function refuseInstance(what: string, instanceDigest: Digest | undefined, reason: string): void {
  if (instanceDigest !== undefined) throw new FerryError('UNSUPPORTED_OPERATION', `${what}: ${reason}`);
}

/**
 * putBlob over content-addressed files (oci:, dir:): `stream` stored at `where.pathFor(digest)`,
 * reported with the media type the caller gave.
 */
export async function putStoredFile(
  stream: Readable,
  info: { digest?: Digest; size: number; mediaType?: string },
  options: PutBlobOptions,
  where: Pick<StoreBlobOptions, 'tempDir' | 'pathFor' | 'ensureDir'>,
): Promise<BlobInfo> {
  const stored = await storeBlob(stream, {
    ...where,
    expectedDigest: info.digest,
    expectedSize: info.size,
    callerVerifiesDigest: options.callerVerifiesDigest === true,
    signal: options.signal,
  });
  return {
    digest: stored.digest,
    size: stored.size,
    ...(info.mediaType === undefined ? {} : { mediaType: info.mediaType }),
  };
}

/**
 * tryReusingBlob over content-addressed files (oci:, dir:): the blob is there when its file is, with
 * the expected size (a size of -1 matches any).
 */
export async function reuseStoredFile(path: string, info: BlobInfo): Promise<BlobInfo | undefined> {
  const size = await fileSize(path);
  if (size === undefined || (info.size >= 0 && size !== info.size)) return undefined;
  return { ...info, size };
}
