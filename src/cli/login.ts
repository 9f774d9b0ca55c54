/**
 * `ferry login REGISTRY`: skopeo's (containers/common auth) login over the auth.json podman and
 * skopeo use. The credentials are checked against the registry before anything is written; the
 * password never appears in output or errors.
 */
import type { Command } from 'commander';
import type { AuthOptions } from '../index.js';
import { parseBool } from './registry-flags.js';
import { printStderr, writeStdout } from './output.js';

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  authfile?: string;
  certDir?: string;
  tlsVerify?: boolean;
  getLogin?: boolean;
  verbose?: boolean;
}

/**
 * The auth.json key and the registry host of a login argument: an `http(s)://` URL gives its
 * host[:port]; `host/ns/repo` stays namespaced (no tag or digest allowed).
 */
export async function credentialsKey(arg: string): Promise<{ key: string; registry: string }> {
  const { FerryError, parseDockerReference } = await import('../index.js');
  let key = arg;
  if (/^https?:\/\//.test(arg)) {
    try {
      key = new URL(arg).host;
    } catch {
      throw new FerryError('INVALID_ARGUMENT', `"${arg}" is not a valid registry URL`);
    }
  }
  const registry = key.split('/')[0] ?? '';
  if (registry === '') throw new FerryError('INVALID_ARGUMENT', `"${arg}" names no registry`);
  if (registry === key) return { key, registry };
  const ref = parseDockerReference(key);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new FerryError('INVALID_ARGUMENT', `reference "${key}" contains tag or digest`);
  }
  if (ref.domain !== registry) throw new FerryError('INVALID_ARGUMENT', `"${key}" does not start with a registry host`);
  return { key, registry };
}

/**
 * The auth-file options of login/logout and the registries.conf they obey: its `credential-helpers`
 * (unless --authfile names the one file to use) and its `insecure` registries (unless --tls-verify).
 */
export async function credentialStore(
  authfile: string | undefined,
): Promise<{ fileOptions: AuthOptions; insecure: (registry: string) => boolean }> {
  const { isInsecure, loadRegistriesConf } = await import('../index.js');
  const conf = await loadRegistriesConf();
  const fileOptions: AuthOptions =
    authfile === undefined ? { credentialHelpers: conf.credentialHelpers } : { authFile: authfile };
  return { fileOptions, insecure: (registry) => isInsecure(conf, registry) };
}

/** All of stdin; lines are joined without their line ends, as skopeo's --password-stdin reads them. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .join('');
}

/** Asks for `what` on the terminal (stdin must be one); the password is read without echo. */
async function prompt(what: 'username' | 'password', question: string, secret: boolean): Promise<string> {
  const { FerryError } = await import('../index.js');
  if (!process.stdin.isTTY) {
    // Named, not quoted: the question may show the stored user name.
    throw new FerryError('INVALID_ARGUMENT', `${what} is required (stdin is not a terminal to ask for it)`);
  }
  const { createInterface } = await import('node:readline');
  const { Writable } = await import('node:stream');
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) printStderr(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(question, resolve);
      muted = secret;
    });
  } finally {
    rl.close();
    if (secret) printStderr('\n');
  }
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .summary('Login to a container registry')
    .description('Login to a container registry on a specified server')
    .argument('<registry>', 'registry host[:port], or host[:port]/namespace/repository')
    .option('-u, --username <name>', 'username for registry')
    .option('-p, --password <password>', 'password for registry')
    .option('--password-stdin', 'take the password from stdin')
    .option(
      '--authfile <path>',
      'path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override',
    )
    .option('--cert-dir <path>', 'use certificates at the specified path to access the registry')
    .option('--get-login', 'return the current login user for the registry')
    .option('--tls-verify [bool]', 'require HTTPS and verify certificates when accessing the registry', parseBool)
    .option('--verbose', 'write more detailed information to stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry login quay.io\n  printf %s "$PASSWORD" | ferry login -u me --password-stdin 127.0.0.1:5000',
    )
    .action(async (arg: string, flags: LoginFlags) => {
      const {
        FerryError,
        RegistryClient,
        authFileForWrite,
        getCredentials,
        isFerryError,
        registryAPIHost,
        setCredentials,
      } = await import('../index.js');
      const { key, registry } = await credentialsKey(arg);
      const { fileOptions, insecure } = await credentialStore(flags.authfile);
      const tlsVerify = flags.tlsVerify ?? (insecure(registry) ? false : undefined);
      const stored = await getCredentials(key, fileOptions);

      if (flags.getLogin === true) {
        if (stored === undefined || stored.username === undefined || stored.username === '') {
          throw new FerryError('UNAUTHORIZED', `not logged into ${key}`);
        }
        await writeStdout(`${stored.username}\n`);
        return;
      }
      if (stored !== undefined && 'identityToken' in stored) {
        throw new FerryError('INVALID_ARGUMENT', `currently logged in to ${key}, auth file contains an Identity token`);
      }

      let password = flags.password ?? '';
      if (flags.passwordStdin === true) {
        if (flags.password !== undefined)
          throw new FerryError('INVALID_ARGUMENT', "Can't specify both --password-stdin and --password");
        if (flags.username === undefined || flags.username === '') {
          throw new FerryError('INVALID_ARGUMENT', 'Must provide --username with --password-stdin');
        }
        password = await readPasswordFromStdin();
      }

      const check = async (username: string, secret: string): Promise<void> => {
        const client = await RegistryClient.create(registryAPIHost(registry), {
          certsHost: registry,
          credentials: { username, password: secret },
          ...(tlsVerify === undefined ? {} : { tlsVerify }),
          ...(flags.certDir === undefined ? {} : { certDir: flags.certDir }),
        });
        try {
          await client.checkCredentials();
        } finally {
          await client.close();
        }
      };

      // No username and no password given: try the stored ones first, as skopeo does.
      const givenUser = flags.username ?? '';
      if (
        givenUser === '' &&
        password === '' &&
        stored !== undefined &&
        'password' in stored &&
        stored.username !== '' &&
        stored.password !== ''
      ) {
        await writeStdout(`Authenticating with existing credentials for ${key}\n`);
        try {
          await check(stored.username, stored.password);
          await writeStdout(`Existing credentials are valid. Already logged in to ${registry}\n`);
          return;
        } catch {
          await writeStdout('Existing credentials are invalid, please enter valid username and password\n');
        }
      }
      const storedName = stored !== undefined && stored.username !== undefined ? stored.username : '';
      const username =
        givenUser !== ''
          ? givenUser
          : (await prompt('username', storedName === '' ? 'Username: ' : `Username (${storedName}): `, false)) ||
            storedName;
      if (username === '')
        throw new FerryError('INVALID_ARGUMENT', 'getting username and password: username is required');
      if (password === '') password = await prompt('password', 'Password: ', true);
      if (password === '')
        throw new FerryError('INVALID_ARGUMENT', 'getting username and password: password is required');

      try {
        await check(username, password);
      } catch (e) {
        if (isFerryError(e, 'UNAUTHORIZED')) {
          throw new FerryError('UNAUTHORIZED', `logging into "${key}": invalid username/password`, { cause: e });
        }
        const message = e instanceof Error ? e.message : String(e);
        throw new FerryError(
          isFerryError(e) ? e.code : 'REGISTRY_ERROR',
          `authenticating creds for "${key}": ${message}`,
          { cause: e },
        );
      }
      const where = await setCredentials(key, { username, password }, fileOptions);
      if (flags.verbose === true) {
        await writeStdout(
          `Used:  ${where.path ?? (where.helper === undefined ? authFileForWrite(process.env, fileOptions) : `docker-credential-${where.helper}`)}\n`,
        );
      }
      await writeStdout('Login Succeeded!\n');
    });
}
