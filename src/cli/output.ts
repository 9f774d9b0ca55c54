/**
 * The CLI's stdout and stderr, behind one guard: every line the commands, commander, the progress
 * displays and main.ts print goes through here.
 *
 * A reader that goes away (`ferry sync ... | head -2`) makes the next write fail with EPIPE. A Go
 * tool such as skopeo dies of SIGPIPE there (a shell sees 141), printing nothing more. Ferry stops
 * the same way, but cleanly: the first EPIPE, on either stream, calls the handler main.ts set (it
 * aborts the command through stopSignal(), as for SIGINT, and exits 141), and from then on nothing
 * is printed on either stream (no `ferry:` line, no stack trace); later writes are dropped.
 * Node ignores SIGPIPE, so the EPIPE is the only sign of a closed reader.
 */

let onBroken: (() => void) | undefined;
let broken = false;
/** Writes handed to a stream whose callback has not come yet. */
let pending = 0;
let settledWaiters: Array<() => void> = [];
let stdoutMade = false;
let stderrMade = false;

/** Calls `handler` (once) when stdout or stderr finds its reader gone; undefined removes it. */
export function whenOutputBreaks(handler: (() => void) | undefined): void {
  onBroken = handler;
}

/** Whether a reader of stdout or stderr went away (EPIPE): from then on the CLI prints nothing. */
export function outputBroken(): boolean {
  return broken;
}

/**
 * process.stdout, guarded, made on first use (creating it costs ~10 ms of start-up, and
 * `copy -q` never writes to it).
 */
function stdout(): NodeJS.WriteStream {
  if (!stdoutMade) {
    stdoutMade = true;
    guard(process.stdout);
  }
  return process.stdout;
}

/** process.stderr, guarded, made on first use. */
export function stderr(): NodeJS.WriteStream {
  if (!stderrMade) {
    stderrMade = true;
    guard(process.stderr);
  }
  return process.stderr;
}

/** Prints `text` on stdout without waiting (dropped once the output broke). */
export function printStdout(text: string | Uint8Array): void {
  void write(stdout(), text).catch(() => {});
}

/** Prints `text` on stderr without waiting (dropped once the output broke). */
export function printStderr(text: string | Uint8Array): void {
  void write(stderr(), text).catch(() => {});
}

/**
 * Writes to stdout and resolves once the data is handed to the OS (so exit codes never cut
 * output). Rejects when the reader is gone: the command stops there, as skopeo would.
 */
export function writeStdout(text: string | Uint8Array): Promise<void> {
  return write(stdout(), text);
}

/** writeStdout() for stderr. */
export function writeStderr(text: string | Uint8Array): Promise<void> {
  return write(stderr(), text);
}

/** Resolves once every write made so far has been handed to the OS or has failed. */
export function outputSettled(): Promise<void> {
  if (pending === 0) return Promise.resolve();
  return new Promise((resolve) => settledWaiters.push(resolve));
}

function write(stream: NodeJS.WriteStream, text: string | Uint8Array): Promise<void> {
  if (broken) return Promise.reject(brokenError());
  pending++;
  return new Promise((resolve, reject) => {
    const done = (e: Error | null | undefined) => {
      // The callback comes before the stream's 'error' event: the stop starts here.
      if (isBrokenPipe(e)) outputBroke();
      if (--pending === 0) {
        const waiters = settledWaiters;
        settledWaiters = [];
        for (const w of waiters) w();
      }
      if (e === null || e === undefined) resolve();
      else reject(broken ? brokenError() : e);
    };
    try {
      stream.write(text, done);
    } catch (e) {
      // A file's stream writes synchronously and throws (a full disk).
      done(e instanceof Error ? e : new Error(String(e)));
    }
  });
}

function guard(stream: NodeJS.WriteStream): void {
  // Without a listener, an 'error' event is an uncaught exception. Node's stdio streams never stay
  // destroyed: every later write fails and emits again; one stop is enough. Other write errors
  // (a full disk) reach the writer through its callback: writeStdout() rejects.
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (isBrokenPipe(e)) outputBroke();
  });
  if (broken) silence(stream);
}

function isBrokenPipe(e: Error | null | undefined): boolean {
  return (e as NodeJS.ErrnoException | null | undefined)?.code === 'EPIPE';
}

function brokenError(): Error {
  return new Error('output closed by its reader (EPIPE)');
}

function outputBroke(): void {
  if (broken) return;
  broken = true;
  // Silent like a process killed by SIGPIPE, for every writer (commander, cli-progress, node itself).
  if (stdoutMade) silence(process.stdout);
  if (stderrMade) silence(process.stderr);
  onBroken?.();
}

function silence(stream: NodeJS.WriteStream): void {
  stream.write = ((...args: unknown[]): boolean => {
    const done = args.at(-1);
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as NodeJS.WriteStream['write'];
}
