import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCopyProgress, type ProgressStream, progressPrinter } from '../../src/cli/progress.js';
import { formatBytes, formatDuration, formatRate, shortDigest } from '../../src/cli/progress-format.js';
import type { Digest } from '../../src/digest/digest.js';
import type { ProgressEvent } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { repoRoot } from '../helpers/paths.js';
import { run, runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;
const digestOfN = (n: number): Digest => `sha256:${String(n).repeat(64).slice(0, 64)}` as Digest;
const L1 = digestOfN(1);
const L2 = digestOfN(2);
const L3 = digestOfN(3);
const CFG = digestOfN(9);

const blob = (digest: Digest, size: number) => ({ digest, size });
const started = (digest: Digest, size: number, isConfig = false): ProgressEvent => ({
  kind: 'blob-started',
  blob: blob(digest, size),
  isConfig,
});
const bytes = (digest: Digest, n: number, total: number, isConfig = false): ProgressEvent => ({
  kind: 'blob-bytes',
  blob: blob(digest, total),
  isConfig,
  bytes: n,
  total,
});
const done = (digest: Digest, size: number, isConfig = false): ProgressEvent => ({
  kind: 'blob-done',
  blob: blob(digest, size),
  isConfig,
  written: blob(digest, size),
});
const skipped = (digest: Digest, size: number, isConfig = false): ProgressEvent => ({
  kind: 'blob-skipped',
  blob: blob(digest, size),
  isConfig,
  reason: 'already-exists',
});

/** A clock the test moves by hand. */
function fakeClock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A stream recording what is written; with `tty`, it looks like a terminal to cli-progress and node:readline. */
function fakeStream(tty: boolean, columns = 120, rows = 40): ProgressStream & { text: () => string; chunks: string[] } {
  const chunks: string[] = [];
  return {
    isTTY: tty,
    columns,
    rows,
    chunks,
    text: () => chunks.join(''),
    write(text: string) {
      chunks.push(text);
      return true;
    },
  };
}

/**
 * What a terminal shows after `output`: the few control sequences node:readline and cli-progress
 * send (cursor up/down/column, clear line, clear below) applied to a grid; `\n` goes to the next
 * line's start, as a terminal in its usual (onlcr) mode does.
 */
function screen(output: string, columns: number): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (r: number): string[] => {
    while (lines.length <= r) lines.push([]);
    return lines[r]!;
  };
  for (let i = 0; i < output.length; i++) {
    const c = output[i]!;
    if (c === '\x1b') {
      const m = /^\x1b\[(\??)(\d*)(?:;\d*)?([A-Za-z])/.exec(output.slice(i));
      if (m === null) {
        i++; // ESC 7 / ESC 8 and the like: no effect on the text
        continue;
      }
      i += m[0].length - 1;
      if (m[1] === '?') continue;
      const n = m[2] === '' ? undefined : Number(m[2]);
      switch (m[3]) {
        case 'A':
          row = Math.max(0, row - (n ?? 1));
          break;
        case 'B':
          row += n ?? 1;
          break;
        case 'C':
          col += n ?? 1;
          break;
        case 'D':
          col = Math.max(0, col - (n ?? 1));
          break;
        case 'G':
          col = (n ?? 1) - 1;
          break;
        case 'K': {
          const l = line(row);
          if ((n ?? 0) === 2) l.length = 0;
          else if ((n ?? 0) === 0) l.length = Math.min(l.length, col);
          else for (let k = 0; k <= col && k < l.length; k++) l[k] = ' ';
          break;
        }
        case 'J':
          line(row).length = Math.min(line(row).length, col);
          lines.length = row + 1;
          break;
        default:
          throw new Error(`screen: unexpected control sequence ${JSON.stringify(m[0])}`);
      }
      continue;
    }
    if (c === '\n') {
      row++;
      col = 0;
      line(row);
      continue;
    }
    if (c === '\r') {
      col = 0;
      continue;
    }
    if (col < columns) {
      const l = line(row);
      while (l.length < col) l.push(' ');
      l[col] = c;
    }
    col++;
  }
  const text = lines.map((l) => l.join('').trimEnd());
  while (text.length > 0 && text[text.length - 1] === '') text.pop();
  return text;
}

describe('progress text', () => {
  it('formats sizes in binary units, rates and durations', () => {
    assert.equal(formatBytes(989), '989 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(96 * MiB), '96.0 MiB');
    assert.equal(formatBytes(3 * 1024 * MiB), '3.0 GiB');
    assert.equal(formatRate(256 * MiB, 3000), '85.3 MiB/s');
    assert.equal(formatRate(5, 0), '-- B/s');
    assert.equal(formatDuration(3500), '3.5s');
    assert.equal(formatDuration(65_000), '1m05s');
    assert.equal(formatDuration(3_725_000), '1h02m05s');
    assert.equal(shortDigest(L1), '111111111111');
  });
});

describe('progress lines off a terminal', () => {
  it('prints a line per blob started, done and skipped, and the manifest steps', () => {
    const lines: string[] = [];
    const clock = fakeClock();
    const print = progressPrinter((l) => lines.push(l), { now: clock.now });
    for (const e of [
      { kind: 'signatures-getting' } as const,
      started(L1, 100),
      bytes(L1, 100, 100),
      done(L1, 100),
      skipped(L2, 50),
      started(CFG, 10, true),
      done(CFG, 10, true),
      { kind: 'manifest-writing' } as const,
      { kind: 'signatures-writing' } as const,
    ]) {
      print(e);
    }
    assert.deepEqual(lines.join('').split('\n'), [
      'Getting image source signatures',
      `Copying blob ${L1}`,
      `Copying blob ${L1} done`,
      'Copying blob 222222222222 skipped: already exists',
      `Copying config ${CFG}`,
      `Copying config ${CFG} done`,
      'Writing manifest to image destination',
      'Storing signatures',
      '',
    ]);
  });

  it('prints an aggregate line at most every 5 s, and only while bytes move', () => {
    const lines: string[] = [];
    const clock = fakeClock();
    const print = progressPrinter((l) => lines.push(l), { now: clock.now });
    const aggregates = () => lines.filter((l) => l.startsWith('Progress:'));
    print(started(L1, 128 * MiB));
    print(started(L2, 64 * MiB));
    print(skipped(L3, 64 * MiB));
    clock.advance(4000);
    print(bytes(L1, 40 * MiB, 128 * MiB));
    assert.equal(aggregates().length, 0, 'no aggregate before 5 s');
    clock.advance(1000);
    print(bytes(L1, 64 * MiB, 128 * MiB));
    print(bytes(L2, 32 * MiB, 64 * MiB));
    assert.deepEqual(aggregates(), ['Progress: 1/3 blobs, 64.0 MiB / 192.0 MiB, 12.8 MiB/s\n']);
    clock.advance(4999);
    print(bytes(L1, 128 * MiB, 128 * MiB));
    print(done(L1, 128 * MiB));
    assert.equal(aggregates().length, 1, 'the second line waits for a full interval');
    clock.advance(60_000); // bytes stall: nothing is printed without a byte event
    assert.equal(aggregates().length, 1);
    print(bytes(L2, 64 * MiB, 64 * MiB));
    assert.deepEqual(aggregates()[1], 'Progress: 2/3 blobs, 192.0 MiB / 192.0 MiB, 2.0 MiB/s\n');
  });

  it('honours an injected interval', () => {
    const lines: string[] = [];
    const clock = fakeClock();
    const print = progressPrinter((l) => lines.push(l), { now: clock.now, aggregateIntervalMs: 100 });
    print(started(L1, 1000));
    for (let i = 1; i <= 10; i++) {
      clock.advance(50);
      print(bytes(L1, i * 100, 1000));
    }
    assert.equal(lines.filter((l) => l.startsWith('Progress:')).length, 5);
  });

  it('writes lines, no bars and no summary, to a stream that is not a terminal', async () => {
    const stream = fakeStream(false);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    progress.onProgress(started(L1, 10));
    progress.onProgress(bytes(L1, 10, 10));
    progress.onProgress(done(L1, 10));
    progress.finish();
    assert.equal(stream.text(), `Copying blob ${L1}\nCopying blob ${L1} done\n`);
  });
});

describe('progress bars on a terminal', () => {
  it('draws a bar per blob with sizes, rate and state, then a summary', async () => {
    const stream = fakeStream(true, 120, 40);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    progress.onProgress({ kind: 'signatures-getting' });
    progress.onProgress(started(L1, 32 * MiB));
    progress.onProgress(skipped(L2, 10 * MiB));
    progress.onProgress(started(L3, 32 * MiB));
    clock.advance(1000);
    progress.onProgress(bytes(L1, 16 * MiB, 32 * MiB));
    progress.onProgress(bytes(L3, 32 * MiB, 32 * MiB));
    progress.onProgress(done(L3, 32 * MiB));
    clock.advance(1000);
    progress.onProgress(bytes(L1, 32 * MiB, 32 * MiB));
    progress.onProgress(done(L1, 32 * MiB));
    progress.onProgress(started(CFG, 1000, true));
    progress.onProgress(bytes(CFG, 1000, 1000, true));
    progress.onProgress(done(CFG, 1000, true));
    progress.onProgress({ kind: 'manifest-writing' });
    clock.advance(2000);
    progress.finish();

    const shown = screen(stream.text(), 120);
    const bar = `[${'='.repeat(35)}]`;
    assert.deepEqual(shown, [
      'Getting image source signatures',
      `Copying blob  111111111111 ${bar} 32.0 MiB / 32.0 MiB  16.0 MiB/s  done`,
      'Copying blob  222222222222 skipped: already exists',
      `Copying blob  333333333333 ${bar} 32.0 MiB / 32.0 MiB  32.0 MiB/s  done`,
      `Copying config 999999999999 ${bar} 1000 B / 1000 B  -- B/s  done`,
      'Writing manifest to image destination',
      'Storing signatures',
      'Copied 3 blobs, skipped 1 (already exist): 64.0 MiB in 4.0s, 16.0 MiB/s',
    ]);
  });

  it('shows a moving bar with its ETA and keeps a value past the total inside the bar', async () => {
    const stream = fakeStream(true, 120, 40);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    progress.onProgress(started(L1, 100 * MiB));
    progress.onProgress(started(L2, 1 * MiB));
    clock.advance(2000);
    progress.onProgress(bytes(L1, 25 * MiB, 100 * MiB));
    progress.onProgress(bytes(L2, 3 * MiB, 1 * MiB));
    progress.fail();
    const shown = screen(stream.text(), 120);
    assert.equal(shown.length, 2);
    assert.match(
      shown[0]!,
      /^Copying blob {2}111111111111 \[=========-+\] 25\.0 MiB \/ 100\.0 MiB {2}12\.5 MiB\/s {2}ETA 6\.0s$/,
    );
    assert.match(shown[1]!, /^Copying blob {2}222222222222 \[={35}\] 3\.0 MiB \/ 1\.0 MiB/);
  });

  it('stops redrawing on failure and leaves the cursor on a fresh line for the error', async () => {
    const stream = fakeStream(true, 100, 30);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    const sigintListeners = process.listenerCount('SIGINT');
    progress.onProgress(started(L1, 10 * MiB));
    assert.equal(process.listenerCount('SIGINT'), sigintListeners + 1, 'Ctrl-C stops the bars first');
    progress.onProgress(bytes(L1, 1 * MiB, 10 * MiB));
    progress.fail();
    assert.equal(process.listenerCount('SIGINT'), sigintListeners);
    const written = stream.text();
    assert.ok(written.endsWith('\n'), 'the error line starts at column 0 of its own line');
    await sleep(400); // several redraw periods: nothing more may be drawn
    assert.equal(stream.text(), written);
    assert.doesNotMatch(written, /Copied /, 'no summary after a failure');
  });

  it('keeps the bars within the terminal height, turning finished ones into lines', async () => {
    const rows = 10;
    const stream = fakeStream(true, 100, rows);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    const digests = Array.from(
      { length: 12 },
      (_, i) => `sha256:${(i + 10).toString(16).repeat(64).slice(0, 64)}` as Digest,
    );
    for (const d of digests) {
      progress.onProgress(started(d, 1000));
      clock.advance(100);
      progress.onProgress(bytes(d, 1000, 1000));
      progress.onProgress(done(d, 1000));
    }
    // While drawing, never more bars than fit: look at the screen before the final summary.
    progress.fail();
    const shown = screen(stream.text(), 100);
    assert.equal(shown.length, 12, 'every blob is still listed once');
    for (const [i, d] of digests.entries()) assert.ok(shown[i]!.includes(shortDigest(d)), `line ${i} names ${d}`);
    const plain = shown.filter((l) => / done 1000 B$/.test(l));
    assert.equal(plain.length, 12 - (rows - 3), 'the oldest finished bars became plain lines, leaving rows - 3 bars');
  });

  it('lists skipped blobs and a summary on a terminal when every blob is already there', async () => {
    const stream = fakeStream(true, 100, 30);
    const clock = fakeClock();
    const progress = await createCopyProgress({ stream, now: clock.now });
    progress.onProgress(skipped(L1, 10));
    progress.onProgress(skipped(CFG, 10, true));
    progress.onProgress({ kind: 'manifest-writing' });
    clock.advance(500);
    progress.finish();
    assert.deepEqual(screen(stream.text(), 100), [
      'Copying blob  111111111111 skipped: already exists',
      'Copying config 999999999999 skipped: already exists',
      'Writing manifest to image destination',
      'Storing signatures',
      'Copied 0 blobs, skipped 2 (already exist): 0 B in 0.5s, 0 B/s',
    ]);
  });
});

describe('ferry copy progress', () => {
  it('prints blob lines to stderr and nothing to stdout when stderr is not a terminal', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't', layers: 3, layerSize: 256 * 1024 });
      const r = await runFerry(['copy', `oci:${dir}/src:t`, `oci:${dir}/dst:t`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      for (const layer of made.instances[0]!.layers) {
        assert.ok(r.stderr.includes(`Copying blob ${layer.digest}\n`), r.stderr);
        assert.ok(r.stderr.includes(`Copying blob ${layer.digest} done\n`), r.stderr);
      }
      assert.doesNotMatch(r.stderr, /\x1b\[/, 'no terminal control sequences');
      const again = await runFerry(['copy', `oci:${dir}/src:t`, `oci:${dir}/dst:t`]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, '');
      assert.match(
        again.stderr,
        new RegExp(
          `Copying blob ${shortDigest(made.instances[0]!.layers[0]!.digest as Digest)} skipped: already exists`,
        ),
      );
    });
  });

  it('draws bars and a summary under a pseudo-terminal (tmux), keeping stdout empty', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't', layers: 3, layerSize: 2 * MiB });
      const socket = `ferry-progress-test-${process.pid}`;
      const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
      const ferry = quote(path.join(repoRoot, 'bin', 'ferry'));
      const copy = (n: number): string =>
        `${ferry} copy oci:${quote(`${dir}/src`)}:t oci:${quote(`${dir}/dst`)}:t >${quote(`${dir}/stdout${n}`)}; echo $? >${quote(`${dir}/exit${n}`)}`;
      const script = `${copy(1)}; ${copy(2)}; sleep 120`;
      const started = await run('tmux', ['-L', socket, 'new-session', '-d', '-x', '120', '-y', '40', script]);
      assert.equal(started.code, 0, started.stderr);
      try {
        let exit: string | undefined;
        for (let i = 0; i < 300 && exit === undefined; i++) {
          exit = await readFile(path.join(dir, 'exit2'), 'utf8').catch(() => undefined);
          if (exit === undefined) await sleep(100);
        }
        const pane = await run('tmux', ['-L', socket, 'capture-pane', '-p', '-J']);
        assert.equal(pane.code, 0, pane.stderr);
        const shown = pane.stdout;
        assert.equal((await readFile(path.join(dir, 'exit1'), 'utf8')).trim(), '0', shown);
        assert.equal(exit?.trim(), '0', shown);
        assert.match(shown, /Copied 4 blobs, skipped 0 \(already exist\): [\d.]+ MiB in [\d.]+s/);
        for (const layer of made.instances[0]!.layers) {
          const hex = shortDigest(layer.digest as Digest);
          assert.match(shown, new RegExp(`Copying blob  ${hex} \\[=+\\] [\\d.]+ MiB / [\\d.]+ MiB .* done`));
          assert.match(shown, new RegExp(`Copying blob  ${hex} skipped: already exists`));
        }
        assert.match(shown, /Copied 0 blobs, skipped \d \(already exist\)/);
        assert.equal(await readFile(path.join(dir, 'stdout1'), 'utf8'), '');
        assert.equal(await readFile(path.join(dir, 'stdout2'), 'utf8'), '');
      } finally {
        await run('tmux', ['-L', socket, 'kill-server']);
      }
    });
  });
});
