/**
 * The terminal display of `ferry copy`: one cli-progress bar per blob (short digest, bytes done /
 * total, rate, ETA), "skipped: already exists" for blobs the destination has, skopeo's step lines
 * between them, and a summary when the copy ends. Loaded only when stderr is a terminal.
 * The terminal's modes are left alone (no hidden cursor, no wrapping change): a killed process
 * leaves a usable terminal.
 */
import { MultiBar, type SingleBar } from 'cli-progress';
import type { Digest, ProgressEvent } from '../index.js';
import { type CopyProgress, type ProgressStream, progressPrinter } from './progress-lines.js';
import { CopyTally, formatBytes, formatDuration, formatRate, shortDigest } from './progress-format.js';

interface BlobBar {
  bar: SingleBar;
  label: string;
  startedAt: number;
  bytes: number;
  /** Size in bytes; negative when unknown. */
  total: number;
  finished: boolean;
}

const BAR_FORMAT = '{label} [{bar}] {amount}  {rate}  {status}';
const SKIPPED_FORMAT = '{label} skipped: already exists';
/** Redraws per second. */
const FPS = 8;

export class TtyCopyProgress implements CopyProgress {
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #startedAt: number;
  readonly #tally = new CopyTally();
  readonly #lines: (event: ProgressEvent) => void;
  #multibar: MultiBar | undefined;
  /** The bars of the current MultiBar, oldest first, by digest. */
  #bars = new Map<Digest, BlobBar>();
  #onSignal: ((signal: NodeJS.Signals) => void) | undefined;

  constructor(stream: ProgressStream, now: () => number, signing = false) {
    this.#stream = stream;
    this.#now = now;
    this.#startedAt = now();
    this.#lines = progressPrinter((line) => this.#writeLine(line), { now, blobLines: false, signing });
  }

  onProgress(event: ProgressEvent): void {
    // The image's bars are complete once its manifest is written: freeze them so the step lines
    // follow them, as skopeo prints. Bars still moving (another image in parallel) stay live.
    if (event.kind === 'manifest-writing' && this.#idle()) this.#close();
    this.#lines(event);
    switch (event.kind) {
      case 'blob-started':
        this.#tally.blobStarted(event.blob.digest, event.blob.size);
        this.#start(event.blob.digest, event.isConfig, event.blob.size);
        break;
      case 'blob-bytes':
        this.#tally.blobBytes(event.blob.digest, event.bytes, event.total);
        this.#progress(event.blob.digest, event.bytes, event.total, false);
        break;
      case 'blob-done': {
        this.#tally.blobDone(event.blob.digest);
        const state = this.#bars.get(event.blob.digest);
        if (state !== undefined)
          this.#progress(event.blob.digest, Math.max(state.bytes, state.total), state.total, true);
        break;
      }
      case 'blob-skipped':
        this.#tally.blobSkipped();
        this.#skipped(event.blob.digest, event.isConfig);
        break;
      default:
        break;
    }
  }

  finish(): void {
    this.#close();
    const elapsed = this.#now() - this.#startedAt;
    const copied = this.#tally.done - this.#tally.skipped;
    const bytes = this.#tally.bytes;
    this.#stream.write(
      `Copied ${copied} ${copied === 1 ? 'blob' : 'blobs'}, skipped ${this.#tally.skipped} (already exist): ` +
        `${formatBytes(bytes)} in ${formatDuration(elapsed)}, ${formatRate(bytes, elapsed)}\n`,
    );
  }

  fail(): void {
    this.#close();
  }

  #label(digest: Digest, isConfig: boolean): string {
    return `Copying ${isConfig ? 'config' : 'blob '} ${shortDigest(digest)}`;
  }

  #ensureMultibar(): MultiBar {
    if (this.#multibar !== undefined) return this.#multibar;
    const columns = this.#stream.columns ?? 80;
    this.#multibar = new MultiBar({
      stream: this.#stream as unknown as NodeJS.WritableStream,
      format: BAR_FORMAT,
      fps: FPS,
      barsize: Math.max(10, Math.min(40, columns - 85)),
      barCompleteChar: '=',
      barIncompleteChar: '-',
      // Lines are cut to the terminal's width rather than wrapped (wrapping would break redraws),
      // without switching the terminal's auto-wrap mode off.
      linewrap: true,
      hideCursor: false,
      gracefulExit: false,
      clearOnComplete: false,
      stopOnComplete: false,
    });
    this.#watchSignals();
    return this.#multibar;
  }

  #start(digest: Digest, isConfig: boolean, size: number): void {
    const multibar = this.#ensureMultibar();
    this.#makeRoom();
    const previous = this.#bars.get(digest);
    if (previous !== undefined) {
      multibar.remove(previous.bar);
      this.#bars.delete(digest);
    }
    const state: BlobBar = {
      bar: multibar.create(Math.max(size, 1), 0, {}),
      label: this.#label(digest, isConfig),
      startedAt: this.#now(),
      bytes: 0,
      total: size,
      finished: false,
    };
    this.#bars.set(digest, state);
    state.bar.update(0, this.#payload(state));
  }

  #progress(digest: Digest, bytes: number, total: number, finished: boolean): void {
    const state = this.#bars.get(digest);
    if (state === undefined) return;
    state.bytes = bytes;
    if (total >= 0) state.total = total;
    state.finished = finished;
    const barTotal = Math.max(state.total, bytes, 1);
    if (barTotal !== state.bar.getTotal()) state.bar.setTotal(barTotal);
    // cli-progress lets the value pass the total; keep the bar within it.
    state.bar.update(Math.min(bytes, barTotal), this.#payload(state));
  }

  #skipped(digest: Digest, isConfig: boolean): void {
    const multibar = this.#ensureMultibar();
    this.#makeRoom();
    const label = this.#label(digest, isConfig);
    const bar = multibar.create(1, 1, { label }, { format: SKIPPED_FORMAT });
    this.#bars.delete(digest);
    this.#bars.set(digest, { bar, label, startedAt: this.#now(), bytes: 0, total: 0, finished: true });
  }

  #payload(state: BlobBar): Record<string, string> {
    const elapsed = this.#now() - state.startedAt;
    const known = state.total >= 0;
    const amount = known ? `${formatBytes(state.bytes)} / ${formatBytes(state.total)}` : formatBytes(state.bytes);
    let status = '';
    if (state.finished) status = 'done';
    else if (known && state.bytes > 0 && elapsed > 0) {
      status = `ETA ${formatDuration(((state.total - state.bytes) * elapsed) / state.bytes)}`;
    }
    return { label: state.label, amount, rate: formatRate(state.bytes, elapsed), status };
  }

  /** Keeps the bars within the terminal's height: the oldest finished bar becomes a plain line above them. */
  #makeRoom(): void {
    const multibar = this.#multibar;
    if (multibar === undefined) return;
    const room = Math.max(4, (this.#stream.rows ?? 24) - 3);
    while (this.#bars.size >= room) {
      const oldest = [...this.#bars.entries()].find(([, state]) => state.finished);
      if (oldest === undefined) return;
      const [digest, state] = oldest;
      const total = state.total > 0 ? state.total : state.bytes;
      multibar.log(
        state.bytes === 0 && total === 0
          ? `${state.label} skipped: already exists\n`
          : `${state.label} done ${formatBytes(total)}\n`,
      );
      multibar.remove(state.bar);
      this.#bars.delete(digest);
    }
  }

  #idle(): boolean {
    for (const state of this.#bars.values()) if (!state.finished) return false;
    return true;
  }

  #writeLine(line: string): void {
    if (this.#multibar !== undefined) this.#multibar.log(line);
    else this.#stream.write(line);
  }

  /** Draws the bars one last time (with any pending line above them) and stops redrawing. */
  #close(): void {
    const multibar = this.#multibar;
    if (multibar === undefined) return;
    this.#multibar = undefined;
    this.#bars = new Map();
    this.#unwatchSignals();
    multibar.update();
    multibar.stop();
  }

  // Ctrl-C during a copy: leave the bars drawn and the cursor below them, then die of the signal as before.
  #watchSignals(): void {
    if (this.#onSignal !== undefined) return;
    this.#onSignal = (signal) => {
      this.#close();
      process.kill(process.pid, signal);
    };
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  #unwatchSignals(): void {
    if (this.#onSignal === undefined) return;
    process.removeListener('SIGINT', this.#onSignal);
    process.removeListener('SIGTERM', this.#onSignal);
    this.#onSignal = undefined;
  }
}
