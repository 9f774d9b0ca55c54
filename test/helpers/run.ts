/** Runs `bin/ferry`, `skopeo` or any program as a child process and collects its output. */
import { spawn } from 'node:child_process';
import { ferryBin } from './paths.js';

export interface RunResult {
  /** Exit code; -1 when killed by a signal (see `signal`). */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes for the child's stdin (default: none, stdin closed). */
  input?: string | Buffer;
  /** Kill the child with SIGKILL after this many ms (default 120 000). */
  timeoutMs?: number;
}

export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {}); // a child that exits without reading stdin is not an error
    child.stdin.end(options.input);
  });
}

export interface RunFerryOptions extends RunOptions {
  /**
   * Run as given, so `ferry copy` loads the default policy.json ($HOME's, then /etc/containers/'s).
   * Otherwise a copy with neither `--policy` nor `--insecure-policy` gets `--insecure-policy`: tests
   * of other features must not depend on this machine's trust policy.
   */
  defaultPolicy?: boolean;
}

/** Runs the built CLI as users do: `bin/ferry ...args` (a shell script that starts node from PATH). */
export function runFerry(args: readonly string[], options: RunFerryOptions = {}): Promise<RunResult> {
  return run(ferryBin, withTestPolicy(args, options.defaultPolicy === true), options);
}

/**
 * `args` with `--insecure-policy` right after the `copy` / `sync` word, unless they choose a policy
 * themselves or `asGiven`. Other command lines are left exactly as given (bin/ferry names its code
 * cache after the first argument).
 */
export function withTestPolicy(args: readonly string[], asGiven = false): readonly string[] {
  if (asGiven || args.some((a) => a === '--insecure-policy' || a === '--policy' || a.startsWith('--policy='))) {
    return args;
  }
  const at = args.findIndex((a) => a === 'copy' || a === 'sync');
  return at === -1 ? args : [...args.slice(0, at + 1), '--insecure-policy', ...args.slice(at + 1)];
}

/** Runs the real skopeo (installed by scripts/install-system-deps.sh). */
export function runSkopeo(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return run('skopeo', args, options);
}
