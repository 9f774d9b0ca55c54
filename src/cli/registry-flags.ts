/**
 * skopeo's registry access flags (`--creds`, `--username`/`--password`, `--no-creds`,
 * `--registry-token`, `--authfile`, `--cert-dir`, `--tls-verify[=false]`), with an optional prefix
 * (`src-`, `dest-`) for commands with two images, and their mapping onto ImageOptions.
 * On-disk transports ignore these settings.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { ImageOptions } from '../index.js';

/** pflag-style boolean value: `--tls-verify`, `--tls-verify=true`, `--tls-verify=false`. */
export function parseBool(value: string): boolean {
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new InvalidArgumentError(`"${value}" is not a boolean (true or false)`);
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Declares the flags on `command`, each named `--<prefix><flag>`. */
export function addRegistryFlags(command: Command, prefix = '', withAuthfile = true): Command {
  const p = prefix;
  if (withAuthfile) command.option(`--${p}authfile <path>`, 'path of the authentication file');
  return command
    .option(`--${p}cert-dir <path>`, 'use certificates at PATH (*.crt, *.cert, *.key) to connect to the registry')
    .option(`--${p}creds <username[:password]>`, 'use USERNAME[:PASSWORD] for accessing the registry')
    .option(`--${p}username <name>`, 'username for accessing the registry')
    .option(`--${p}password <password>`, 'password for accessing the registry')
    .option(`--${p}no-creds`, 'access the registry anonymously')
    .option(`--${p}registry-token <token>`, 'provide a Bearer token for accessing the registry')
    .option(`--${p}tls-verify [bool]`, 'require HTTPS and verify certificates when talking to the registry', parseBool);
}

/** `--retry-times N` / `--retry-delay DURATION` (skopeo's retry flags) on `command`. */
export function addRetryFlags(command: Command): Command {
  return command
    .option('--retry-times <n>', 'the number of times to possibly retry')
    .option('--retry-delay <duration>', 'delay between retries (e.g. 500ms, 2s); default: exponential backoff');
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Go's time.ParseDuration (`1h2m3.5s`, `250ms`, `0`), in milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const m = /^([-+]?)(.*)$/s.exec(text)!;
  const sign = m[1] === '-' ? -1 : 1;
  const body = m[2]!;
  if (body === '0') return 0;
  if (body === '') return undefined;
  let total = 0;
  const part = /([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const p = part.exec(body);
    if (p === null || p[1] === '' || p[1] === '.') return undefined;
    total += Number(p[1]) * DURATION_UNITS[p[2]!]!;
    at = part.lastIndex;
  }
  return sign * total;
}

/** The retry settings the flags set (`retryTimes`: retries after the first try; `retryDelayMs`: fixed delay). */
export function retryOptions(
  flags: Record<string, unknown>,
  fail: (message: string) => Error = (m) => new Error(m),
): { retryTimes?: number; retryDelayMs?: number } {
  const out: { retryTimes?: number; retryDelayMs?: number } = {};
  const times = flags['retryTimes'];
  if (typeof times === 'string') {
    if (!/^[0-9]+$/.test(times)) throw fail(`--retry-times wants a non-negative integer, got "${times}"`);
    out.retryTimes = Number(times);
  }
  const delay = flags['retryDelay'];
  if (typeof delay === 'string') {
    const ms = parseGoDuration(delay);
    if (ms === undefined || ms < 0) throw fail(`--retry-delay wants a duration such as 500ms or 2s, got "${delay}"`);
    out.retryDelayMs = ms;
  }
  return out;
}

/**
 * The ImageOptions the flags set. commander names `--src-no-creds` `srcCreds: false` (negation),
 * so `--no-creds` is read back from the `creds === false` form.
 */
export function registryOptions(
  flags: Record<string, unknown>,
  prefix = '',
  fail: (message: string) => Error = (m) => new Error(m),
  fallbackAuthfile?: string,
): ImageOptions {
  const get = (name: string): unknown => flags[camel(`${prefix}${name}`)];
  const str = (name: string): string | undefined => {
    const v = get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const options: ImageOptions = {};
  const authfile = str('authfile') ?? fallbackAuthfile;
  if (authfile !== undefined) options.authFile = authfile;
  const certDir = str('cert-dir');
  if (certDir !== undefined) options.certDir = certDir;
  const tls = get('tls-verify');
  if (typeof tls === 'boolean') options.tlsVerify = tls;
  const token = str('registry-token');
  if (token !== undefined) options.registryToken = token;

  const creds = get('creds');
  const noCreds = creds === false;
  const username = str('username');
  const password = str('password');
  if (typeof creds === 'string') {
    if (username !== undefined || password !== undefined) {
      throw fail(`--${prefix}creds and --${prefix}username/--${prefix}password cannot be used together`);
    }
    const colon = creds.indexOf(':');
    if (creds === '' || colon === 0) throw fail(`--${prefix}creds: a username is required`);
    options.credentials =
      colon < 0
        ? { username: creds, password: '' }
        : { username: creds.slice(0, colon), password: creds.slice(colon + 1) };
  } else if (username !== undefined || password !== undefined) {
    if (username === undefined || password === undefined) {
      throw fail(`--${prefix}username and --${prefix}password must be used together`);
    }
    options.credentials = { username, password };
  }
  if (noCreds) {
    if (options.credentials !== undefined) throw fail(`--${prefix}no-creds cannot be used with credentials`);
    options.noCreds = true;
  }
  return options;
}
