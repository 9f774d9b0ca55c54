/**
 * Compression detection by magic bytes (the same signatures containers/image pkg/compression uses).
 */
import { Readable } from 'node:stream';

/** Algorithms Ferry can read and write. */
export type StreamCompression = 'gzip' | 'zstd';

/** Algorithms Ferry can read: xz is read only (containers/image never writes it either). */
export type DecodableCompression = StreamCompression | 'xz';

/** Everything detection can report; `bzip2` is recognised only to be refused. */
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
 * yields every byte, the peeked ones included. The peeked bytes are put back (`unshift`), so the
 * returned stream is normally `readable` itself: no extra stage, errors and destruction are its own.
 * Only input that ended within the peek is handed back as a new stream of the bytes seen.
 */
export async function detectStreamCompression(
  readable: Readable,
): Promise<{ algorithm: DetectedCompression; stream: Readable }> {
  const head: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < MAGIC_LENGTH) {
    const chunk: unknown = readable.read();
    if (chunk !== null) {
      const bytes = toBuffer(chunk);
      head.push(bytes);
      length += bytes.length;
      continue;
    }
    if (readable.readableEnded) {
      ended = true;
      break;
    }
    // Failed or closed before the wait below could see it happen.
    if (readable.errored !== null) throw readable.errored;
    if (readable.destroyed) throw prematureClose();
    ended = await nextReadable(readable);
    if (ended) break;
  }
  const bytes = Buffer.concat(head, length);
  const algorithm = detectCompression(bytes);
  if (ended) return { algorithm, stream: Readable.from(length === 0 ? [] : [bytes], { objectMode: false }) };
  readable.unshift(bytes);
  return { algorithm, stream: readable };
}

/** Waits until `readable` has data to read (false) or has ended (true); rejects with its error. */
function nextReadable(readable: Readable): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    const done = (result: boolean | Error) => {
      readable.off('readable', onReadable);
      readable.off('end', onEnd);
      readable.off('error', onError);
      readable.off('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onReadable = () => done(readable.readableEnded && readable.readableLength === 0);
    const onEnd = () => done(true);
    const onError = (e: Error) => done(e);
    const onClose = () => done(readable.readableEnded ? true : (readable.errored ?? prematureClose()));
    readable.on('readable', onReadable);
    readable.on('end', onEnd);
    readable.on('error', onError);
    readable.on('close', onClose);
  });
}

function prematureClose(): Error {
  return Object.assign(new Error('the stream closed before its compression could be detected'), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return Buffer.from(String(chunk));
}
