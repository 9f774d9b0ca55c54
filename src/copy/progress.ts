/**
 * Progress reporting: events go to the caller's callback; byte counts are throttled per blob so a
 * fast copy does not flood the caller (at most one `blob-bytes` per interval, plus a final one).
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { BlobInfo } from '../transports/types.js';
import type { ProgressEvent } from './types.js';

/** Minimum gap between two `blob-bytes` events of one blob (≤ 10 per second). */
export const PROGRESS_INTERVAL_MS = 100;

export class ProgressReporter {
  readonly #callback: ((event: ProgressEvent) => void) | undefined;

  constructor(callback: ((event: ProgressEvent) => void) | undefined) {
    this.#callback = callback;
  }

  get enabled(): boolean {
    return this.#callback !== undefined;
  }

  // A failing callback must not break (or half-break) a copy; its errors are dropped.
  emit(event: ProgressEvent): void {
    if (this.#callback === undefined) return;
    try {
      this.#callback(event);
    } catch {
      // ignored on purpose
    }
  }

  /** A pass-through stage that reports the bytes flowing through it as `blob-bytes` events. */
  byteCounter(blob: BlobInfo, isConfig: boolean, total: number): Transform {
    return new ByteCounter((bytes) => this.emit({ kind: 'blob-bytes', blob, isConfig, bytes, total }));
  }
}

class ByteCounter extends Transform {
  #bytes = 0;
  #lastReport = 0;
  #reported = -1;
  readonly #report: (bytes: number) => void;

  constructor(report: (bytes: number) => void) {
    super();
    this.#report = report;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    const now = Date.now();
    if (now - this.#lastReport >= PROGRESS_INTERVAL_MS) {
      this.#lastReport = now;
      this.#reported = this.#bytes;
      this.#report(this.#bytes);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#reported !== this.#bytes) this.#report(this.#bytes);
    callback();
  }
}
