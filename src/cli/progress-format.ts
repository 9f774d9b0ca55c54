/** Text helpers shared by the terminal and the line-based copy progress displays. */
import type { Digest } from '../index.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `1536` → `1.5 KiB`; binary units, one decimal above bytes (as skopeo prints sizes). */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Bytes per second over `ms` milliseconds, as `85.3 MiB/s`. */
export function formatRate(bytes: number, ms: number): string {
  return ms > 0 ? `${formatBytes(Math.round((bytes * 1000) / ms))}/s` : '-- B/s';
}

/** `65_000` → `1m05s`; `3_500` → `3.5s`; under a minute keeps one decimal. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${s}s` : `${m}m${s}s`;
}

/** The first 12 hex digits of a digest (`sha256:abc…` → `abc…`), as skopeo names blobs on a terminal. */
export function shortDigest(digest: Digest): string {
  const hex = digest.slice(digest.indexOf(':') + 1);
  return hex.slice(0, 12);
}

/** Running totals of a copy, fed by its progress events. */
export class CopyTally {
  /** Blob copies announced (started or skipped) and finished (done or skipped). */
  started = 0;
  done = 0;
  skipped = 0;
  /** Bytes of finished blobs, and the sizes of finished blobs whose size is known. */
  #doneBytes = 0;
  #doneTotal = 0;
  readonly #active = new Map<string, { bytes: number; total: number }>();

  blobStarted(digest: Digest, total: number): void {
    this.started++;
    this.#active.set(digest, { bytes: 0, total });
  }

  blobBytes(digest: Digest, bytes: number, total: number): void {
    const entry = this.#active.get(digest);
    if (entry === undefined) return;
    entry.bytes = bytes;
    if (total >= 0) entry.total = total;
  }

  blobDone(digest: Digest): void {
    const entry = this.#active.get(digest);
    this.done++;
    if (entry === undefined) return;
    this.#active.delete(digest);
    this.#doneBytes += entry.bytes;
    this.#doneTotal += Math.max(entry.total, entry.bytes);
  }

  blobSkipped(): void {
    this.started++;
    this.done++;
    this.skipped++;
  }

  /** Bytes read so far, finished blobs and blobs in flight. */
  get bytes(): number {
    let sum = this.#doneBytes;
    for (const entry of this.#active.values()) sum += entry.bytes;
    return sum;
  }

  /** Known size of every blob started so far (unknown sizes count what has been read). */
  get total(): number {
    let sum = this.#doneTotal;
    for (const entry of this.#active.values()) sum += Math.max(entry.total, entry.bytes);
    return sum;
  }
}
