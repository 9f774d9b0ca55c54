/**
 * The `gpg` binary and the user's GnuPG home, for what no OpenPGP library reaches: signing with a key held
 * in GnuPG 2's agent store (as containers/image's gpgme back end does) and the public keys of its keybox.
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../../errors.js';

export interface GpgOptions {
  /** GnuPG home directory (default: $GNUPGHOME, then ~/.gnupg, as gpg itself chooses). */
  gnupgHome?: string;
  /** The gpg program (default `gpg`). */
  gpgProgram?: string;
  signal?: AbortSignal;
}

export interface GpgSignOptions extends GpgOptions {
  /** A file whose first line is the key's passphrase (gpg --pinentry-mode loopback --passphrase-file). */
  passphraseFile?: string;
  /** The key's passphrase itself, handed to gpg on a pipe of its own (--passphrase-fd 3), never on its command line. */
  passphrase?: string;
}

/** Runs gpg in batch mode; resolves its stdout, or rejects with SIGNING_FAILED-style text from `what`. */
function runGpg(
  args: string[],
  input: Uint8Array,
  options: GpgOptions,
  what: string,
  passphrase?: string,
): Promise<Buffer> {
  const env = { ...process.env };
  if (options.gnupgHome !== undefined) env.GNUPGHOME = options.gnupgHome;
  const program = options.gpgProgram ?? 'gpg';
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['--batch', '--no-tty', ...args], {
      env,
      stdio: passphrase === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', 'pipe', 'pipe', 'pipe'],
      signal: options.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // gpg may exit before reading all input; its exit status says why
    child.on('error', (e) =>
      reject(new FerryError('SIGNING_FAILED', `cannot run ${program} to ${what}: ${e.message}`, { cause: e })),
    );
    child.on('close', (code) => {
      const output = Buffer.concat(out);
      if (code === 0) {
        resolve(output);
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join('; ');
      reject(
        new FerryError('SIGNING_FAILED', `${program} could not ${what} (exit ${code}): ${stderr}`, {
          details: { exitCode: code },
        }),
      );
    });
    if (passphrase !== undefined) {
      const fd3 = child.stdio[3] as NodeJS.WritableStream & { on(e: 'error', l: () => void): unknown };
      fd3.on('error', () => {});
      fd3.end(`${passphrase}\n`);
    }
    child.stdin.end(input);
  });
}

/** Signs `content` with the secret key `fingerprint` into a binary OpenPGP signed message. */
export async function signWithGpg(
  content: Uint8Array,
  fingerprint: string,
  options: GpgSignOptions = {},
): Promise<Buffer> {
  const args = ['--sign', '--local-user', fingerprint];
  if (options.passphraseFile !== undefined && options.passphrase !== undefined) {
    throw new FerryError('INVALID_ARGUMENT', 'give the gpg key passphrase as a file or as a string, not both');
  }
  if (options.passphrase?.includes('\n')) {
    throw new FerryError('INVALID_ARGUMENT', 'invalid passphrase: must not contain a line break');
  }
  if (options.passphraseFile !== undefined) {
    args.unshift('--pinentry-mode', 'loopback', '--passphrase-file', options.passphraseFile);
  } else if (options.passphrase !== undefined) {
    args.unshift('--pinentry-mode', 'loopback', '--passphrase-fd', '3');
  }
  const signature = await runGpg(args, content, options, `sign with key ${fingerprint}`, options.passphrase);
  if (signature.length === 0) {
    throw new FerryError('SIGNING_FAILED', `gpg wrote no signature for key ${fingerprint}`);
  }
  return signature;
}

/**
 * Fails unless the GnuPG home holds the secret key `fingerprint` (gpg --list-secret-keys; no passphrase is
 * asked). Lets a copy refuse an unknown key before it writes anything: upstream (gpgme) finds out only
 * when it signs, after the image is written.
 */
export async function checkGpgSecretKey(fingerprint: string, options: GpgOptions = {}): Promise<void> {
  try {
    await runGpg(['--with-colons', '--list-secret-keys', '--', fingerprint], new Uint8Array(), options, 'list');
  } catch (e) {
    if (!(e instanceof FerryError) || e.details?.exitCode === undefined) throw e;
    const home = options.gnupgHome ?? process.env.GNUPGHOME ?? '~/.gnupg';
    throw new FerryError(
      'SIGNING_FAILED',
      `cannot sign with key ${fingerprint}: the GnuPG home (${home}) has no secret key for it`,
      { cause: e, details: { fingerprint } },
    );
  }
}

/** Every public key of the GnuPG home, as a binary keyring (gpg --export). */
export function exportGpgPublicKeys(options: GpgOptions = {}): Promise<Buffer> {
  return runGpg(['--export'], new Uint8Array(), options, 'export the public keys of the GnuPG home');
}
