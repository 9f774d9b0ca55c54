/**
 * Compression detection by magic bytes (the same signatures containers/image pkg/compression uses).
 */
import { Readable } from 'node:stream';

/** Algorithms Ferry can read and write. */
export type StreamCompression = 'gzip' | 'zstd';

/** Everything detection can report; `bzip2`/`xz` are recognised only to be refused. */
export type DetectedCompression = StreamCompression | 'bzip2' | 'xz' | 'none';

const MAGIC: ReadonlyArray<readonly [Exclude<DetectedCompression, 'none'>, Buffer]> = [
  ['gzip', Buffer.from([0x1f, 0x8b, 0x08])],
  ['bzip2', Buffer.from([0x42, 0x5a, 0x68])],
  ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])],
  ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd])],
];

/** The number of leading bytes detection needs (shorter input is fine: it is then `none` or a short match). */
export const MAGIC_LENGTH = Math.max(...MAGIC.map(([, m]) => m.length));

/** The compression of data starting with `head`. */
export function detectCompression(head: Uint8Array): DetectedCompression {
  for (const [algorithm, magic] of MAGIC) {
    if (head.length >= magic.length && Buffer.compare(head.subarray(0, magic.length), magic) === 0) return algorithm;
  }
  return 'none';
}

/**
 * Peeks at the first bytes of `readable` and returns its compression together with a stream that
 * yields every byte, the peeked ones included. The returned stream reads `readable` through its
 * async iterator: errors from `readable` surface on it, and destroying it destroys `readable`.
 */
export async function detectStreamCompression(
  readable: Readable,
): Promise<{ algorithm: DetectedCompression; stream: Readable }> {
  const iterator: AsyncIterator<unknown> = readable[Symbol.asyncIterator]();
  const head: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < MAGIC_LENGTH) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    const bytes = toBuffer(next.value);
    head.push(bytes);
    length += bytes.length;
  }
  const algorithm = detectCompression(Buffer.concat(head, length));
  async function* all(): AsyncGenerator<Buffer> {
    try {
      yield* head;
      while (!ended) {
        const next = await iterator.next();
        if (next.done === true) return;
        yield toBuffer(next.value);
      }
    } finally {
      await iterator.return?.();
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  // A generator waiting on the source cannot be returned early: destroy the source directly.
  stream.once('close', () => {
    if (!readable.destroyed) readable.destroy();
  });
  return { algorithm, stream };
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}
