/**
 * Dead read buffers, collected while blobs stream. Every socket or file read hands out a fresh 64 KiB
 * buffer; once passed on it is garbage, but V8 collects it only when its young generation fills or
 * external memory has grown by ~32 MiB, so a pull's peak RSS carried ~32 MiB of dead buffers. The
 * blob pipeline reports the bytes it moves here, and every COLLECT_EVERY bytes a young-generation
 * collection runs (~0.5 ms) if a collector is installed. Only the CLI installs one (bin/ferry.cjs, for
 * commands that move blobs); in a library user's process nothing is installed and V8's own pacing applies.
 */

/** Where the CLI's launcher puts the collector: a function that runs one young-generation collection. */
export const YOUNG_GARBAGE_COLLECTOR = Symbol.for('ferry.collectYoungGarbage');

const COLLECT_EVERY = 4 * 1024 * 1024;
let sinceLast = 0;

/** Counts `bytes` moved by a blob stream; runs the installed collector each COLLECT_EVERY bytes. */
export function noteBytesStreamed(bytes: number): void {
  sinceLast += bytes;
  if (sinceLast < COLLECT_EVERY) return;
  sinceLast = 0;
  const collect = (globalThis as Record<symbol, unknown>)[YOUNG_GARBAGE_COLLECTOR];
  if (typeof collect === 'function') collect();
}
