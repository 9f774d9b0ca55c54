/** A throw-away GnuPG home for tests that sign with the real gpg (and check with the real skopeo). */
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';

/** Whether `program --version` runs. */
export function installed(program: string): boolean {
  try {
    execFileSync(program, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface KeyOptions {
  /** gpg's expiry for the key: 'never' (default), '1d', ... */
  expires?: string;
  /** A gpg --faked-system-time value the key is made at, e.g. '20200101T000000'. */
  at?: string;
}

export class GpgHome {
  private constructor(readonly path: string) {}

  /** Creates `path` (mode 0700) as an empty GnuPG home. */
  static async create(path: string): Promise<GpgHome> {
    await mkdir(path, { mode: 0o700 });
    return new GpgHome(path);
  }

  /** The environment a gpg (or skopeo) child needs to use this home. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, GNUPGHOME: this.path };
  }

  /** Runs gpg in batch mode on this home, `input` on its stdin; returns its stdout. */
  gpg(args: readonly string[], input?: Buffer | string): Buffer {
    return execFileSync('gpg', ['--batch', '--no-tty', ...args], {
      env: this.env(),
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /**
   * Generates a signing key for `uid`; returns its fingerprint. An empty passphrase leaves it
   * unprotected; `expires` is gpg's expiry ('never', '1d'); `at` fakes gpg's clock (--faked-system-time).
   */
  generateKey(uid: string, algorithm: string, passphrase = '', { expires = 'never', at }: KeyOptions = {}): string {
    const clock = at === undefined ? [] : ['--faked-system-time', at];
    this.gpg([...clock, '--passphrase', passphrase, '--quick-gen-key', uid, algorithm, 'sign', expires]);
    return this.fingerprint(uid);
  }

  /** The fingerprint of the key `uid` names ('' when this home holds none). */
  fingerprint(uid: string): string {
    const colons = this.gpg(['--list-keys', '--with-colons', uid]).toString();
    return /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1] ?? '';
  }

  /** The armored secret key `fingerprint`, unlocked with `passphrase` (loopback pinentry, no agent prompt). */
  exportSecretKey(fingerprint: string, passphrase = ''): Buffer {
    return this.gpg([
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      passphrase,
      '--armor',
      '--export-secret-keys',
      fingerprint,
    ]);
  }

  /** Stops the agent this home started (it also forgets cached passphrases). */
  close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env(), stdio: 'ignore' });
    } catch {}
  }
}
