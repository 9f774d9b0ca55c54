/**
 * Docker credential helpers (`docker-credential-<name> get|store|erase`), the protocol of
 * github.com/docker/docker-credential-helpers: the server URL or a JSON record on stdin, JSON on stdout,
 * "credentials not found" on a failed `get` meaning no entry.
 * Secrets go to the helper on stdin only and never into an error message.
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../errors.js';
import { quoteInput } from '../util/quote.js';
import type { Env } from './paths.js';

export interface HelperCredentials {
  username: string;
  secret: string;
}

export interface HelperOptions {
  env?: Env;
  signal?: AbortSignal;
}

interface HelperRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const NOT_FOUND = /credentials not found/i;

/** A helper name is a plain word: `docker-credential-<name>` must be found on PATH, never a path. */
export function isHelperName(name: string): boolean {
  return name !== '' && !/[/\\\0]/.test(name);
}

function checkHelperName(name: string): string {
  if (!isHelperName(name)) {
    throw new FerryError(
      'INVALID_CONFIG',
      `invalid credential helper name ${quoteInput(name)}: it must be a plain name`,
    );
  }
  return `docker-credential-${name}`;
}

function runHelper(name: string, action: string, input: string, opts: HelperOptions): Promise<HelperRun> {
  const program = checkHelperName(name);
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], {
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin is judged by its exit status
    child.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' ? 'not found in PATH' : e.code === 'ABORT_ERR' ? 'aborted' : (e.code ?? 'failed');
      reject(
        new FerryError(
          e.code === 'ABORT_ERR' ? 'ABORTED' : 'CREDENTIAL_HELPER_ERROR',
          `credential helper ${program} ${action}: ${why}`,
          { details: { helper: program, action } },
        ),
      );
    });
    child.on('close', (code) => {
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(input);
  });
}

/** The helper's own words for a failure, with every known secret cut out, and short. */
function helperMessage(run: HelperRun, secrets: string[]): string {
  let text = `${run.stdout.trim()} ${run.stderr.trim()}`.trim();
  const known = secrets.filter((s) => s !== '');
  for (const s of known)
    for (const form of [s, JSON.stringify(s).slice(1, -1)]) text = text.split(form).join('<redacted>');
  if (text.startsWith('{')) return '(output withheld)'; // JSON on a failure may hold credentials
  // A helper that echoes its input may have re-escaped a secret beyond recognition: any piece of one withholds all.
  if (known.some((s) => quotesPieceOf(text, s))) return '(output withheld: it quotes the credentials)';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Whether `text` holds any 8-character run of `secret` (all of it, when shorter). */
function quotesPieceOf(text: string, secret: string): boolean {
  const k = Math.min(8, secret.length);
  for (let i = 0; i + k <= secret.length; i++) if (text.includes(secret.slice(i, i + k))) return true;
  return false;
}

function failure(name: string, action: string, serverURL: string, run: HelperRun, secrets: string[]): FerryError {
  const program = `docker-credential-${name}`;
  return new FerryError(
    'CREDENTIAL_HELPER_ERROR',
    `credential helper ${program} ${action} for ${serverURL} exited with status ${run.code}: ${helperMessage(run, secrets) || '(no output)'}`,
    { details: { helper: program, action, serverURL, exitCode: run.code } },
  );
}

/** `get`: the stored credentials for `serverURL`, or undefined when the helper has none. */
export async function helperGet(
  name: string,
  serverURL: string,
  opts: HelperOptions = {},
): Promise<HelperCredentials | undefined> {
  const run = await runHelper(name, 'get', serverURL, opts);
  if (run.code !== 0) {
    if (NOT_FOUND.test(run.stdout) || NOT_FOUND.test(run.stderr)) return undefined;
    throw failure(name, 'get', serverURL, run, []);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    // The output may be the secret itself: say only that it was not JSON.
    throw new FerryError(
      'CREDENTIAL_HELPER_ERROR',
      `credential helper docker-credential-${name} get for ${serverURL} printed something that is not JSON`,
      { details: { helper: `docker-credential-${name}`, action: 'get', serverURL } },
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new FerryError(
      'CREDENTIAL_HELPER_ERROR',
      `credential helper docker-credential-${name} get for ${serverURL} printed JSON that is not an object`,
    );
  }
  const rec = parsed as Record<string, unknown>;
  const username = typeof rec.Username === 'string' ? rec.Username : '';
  const secret = typeof rec.Secret === 'string' ? rec.Secret : '';
  if (username === '' && secret === '') return undefined;
  return { username, secret };
}

/** `store`: saves `creds` for `serverURL` in the helper's store. */
export async function helperStore(
  name: string,
  serverURL: string,
  creds: HelperCredentials,
  opts: HelperOptions = {},
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverURL, Username: creds.username, Secret: creds.secret });
  const run = await runHelper(name, 'store', input, opts);
  if (run.code !== 0) throw failure(name, 'store', serverURL, run, [creds.secret, creds.username]);
}

/** `erase`: removes the entry for `serverURL`; false when the helper had none. */
export async function helperErase(name: string, serverURL: string, opts: HelperOptions = {}): Promise<boolean> {
  const run = await runHelper(name, 'erase', serverURL, opts);
  if (run.code === 0) return true;
  if (NOT_FOUND.test(run.stdout) || NOT_FOUND.test(run.stderr)) return false;
  throw failure(name, 'erase', serverURL, run, []);
}
