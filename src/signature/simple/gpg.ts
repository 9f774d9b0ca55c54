/**
 * Signing through the `gpg` binary with a key held in the user's GnuPG home, as containers/image's gpgme
 * back end does (GnuPG 2 keeps private keys in its agent's store, which no OpenPGP library reads).
 */
import { spawn } from 'node:child_process';
import { FerryError } from '../../errors.js';

export interface GpgSignOptions {
  /** GnuPG home directory (default: $GNUPGHOME, then ~/.gnupg, as gpg itself chooses). */
  gnupgHome?: string;
  /** A file whose first line is the key's passphrase (gpg --pinentry-mode loopback --passphrase-file). */
  passphraseFile?: string;
  /** The gpg program (default `gpg`). */
  gpgProgram?: string;
  signal?: AbortSignal;
}

/** Signs `content` with the secret key `fingerprint` into a binary OpenPGP signed message. */
export function signWithGpg(content: Uint8Array, fingerprint: string, options: GpgSignOptions = {}): Promise<Buffer> {
  const args = ['--batch', '--no-tty', '--sign', '--local-user', fingerprint];
  if (options.passphraseFile !== undefined) {
    args.unshift('--pinentry-mode', 'loopback', '--passphrase-file', options.passphraseFile);
  }
  const env = { ...process.env };
  if (options.gnupgHome !== undefined) env.GNUPGHOME = options.gnupgHome;
  const program = options.gpgProgram ?? 'gpg';
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env, stdio: ['pipe', 'pipe', 'pipe'], signal: options.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // gpg may exit before reading all input; its exit status reports why
    child.on('error', (e) =>
      reject(new FerryError('SIGNING_FAILED', `cannot run ${program} to sign: ${e.message}`, { cause: e })),
    );
    child.on('close', (code) => {
      const signature = Buffer.concat(out);
      if (code === 0 && signature.length > 0) {
        resolve(signature);
        return;
      }
      const stderr = Buffer.concat(err).toString('utf8').trim().split('\n').slice(-3).join('; ');
      reject(
        new FerryError(
          'SIGNING_FAILED',
          `${program} could not sign with key ${fingerprint} (exit ${code}): ${stderr}`,
          {
            details: { fingerprint, exitCode: code },
          },
        ),
      );
    });
    child.stdin.end(content);
  });
}
