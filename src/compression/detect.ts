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
 * yields every byte, the peeked ones included. That stream is `readable` itself (the peeked bytes
 * are unshifted back) unless it already ended, so errors and destruction behave as on `readable`.
 */
export async function detectStreamCompression(
  readable: Readable,
): Promise<{ algorithm: DetectedCompression; stream: Readable }> {
  const { head, ended } = await readHead(readable);
  const algorithm = detectCompression(head);
  if (!ended) {
    if (head.length > 0) readable.unshift(head);
    return { algorithm, stream: readable };
  }
  return { algorithm, stream: Readable.from(head.length > 0 ? [head] : [], { objectMode: false }) };
}

/** Reads at least MAGIC_LENGTH bytes (or up to the end) without consuming the stream in flowing mode. */
function readHead(readable: Readable): Promise<{ head: Buffer; ended: boolean }> {
  if (readable.destroyed) return Promise.reject(readable.errored ?? new Error('stream already destroyed'));
  if (readable.readableEnded) return Promise.resolve({ head: Buffer.alloc(0), ended: true });
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = () => {
      readable.off('readable', onReadable);
      readable.off('end', onEnd);
      readable.off('error', onError);
      readable.off('close', onClose);
    };
    const finish = (ended: boolean) => {
      cleanup();
      resolve({ head: Buffer.concat(chunks, length), ended });
    };
    function onReadable(): void {
      while (length < MAGIC_LENGTH) {
        const chunk: unknown = readable.read();
        if (chunk === null) return;
        const bytes = toBuffer(chunk);
        chunks.push(bytes);
        length += bytes.length;
      }
      finish(false);
    }
    const onEnd = () => finish(true);
    const onError = (e: Error) => {
      cleanup();
      reject(e);
    };
    const onClose = () => {
      cleanup();
      reject(readable.errored ?? new Error('stream closed before its first bytes could be read'));
    };
    readable.on('readable', onReadable);
    readable.on('end', onEnd);
    readable.on('error', onError);
    readable.on('close', onClose);
  });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}
