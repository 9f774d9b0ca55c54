/** Size limits on manifests and configs held in memory (a hostile server must not exhaust memory). */
import type { Readable } from 'node:stream';
import { FerryError } from '../errors.js';

/** Largest manifest Ferry reads (as containers/image: 4 MiB). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
/** Largest image config Ferry reads. */
export const MAX_CONFIG_SIZE = 4 * 1024 * 1024;

function tooLarge(what: string, limit: number): FerryError {
  return new FerryError('TOO_LARGE', `${what} is larger than the ${limit}-byte limit`, { details: { what, limit } });
}

/** Reads a whole stream into memory, failing with TOO_LARGE as soon as it passes `limit` bytes. */
export async function readAllLimited(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    total += buf.length;
    if (total > limit) {
      stream.destroy();
      throw tooLarge(what, limit);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}
