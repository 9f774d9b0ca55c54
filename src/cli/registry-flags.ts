/**
 * skopeo's registry access flags (`--creds`, `--username`/`--password`, `--no-creds`,
 * `--registry-token`, `--authfile`, `--cert-dir`, `--tls-verify[=false]`), with an optional prefix
 * (`src-`, `dest-`) for commands with two images, and their mapping onto ImageOptions.
 * On-disk transports ignore these settings.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { ImageOptions } from '../index.js';

/** pflag-style boolean value: `--tls-verify`, `--tls-verify=true`, `--tls-verify=false`. */
function parseBool(value: string): boolean {
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
      colon < 0 ? { username: creds, password: '' } : { username: creds.slice(0, colon), password: creds.slice(colon + 1) };
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
