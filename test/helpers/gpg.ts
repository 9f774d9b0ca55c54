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

  /** Runs gpg in batch mode on this home; returns its stdout. */
  gpg(args: readonly string[]): Buffer {
    return execFileSync('gpg', ['--batch', '--no-tty', ...args], { env: this.env(), stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Generates a signing key for `uid` (an empty passphrase leaves it unprotected); returns its fingerprint. */
  generateKey(uid: string, algorithm: string, passphrase = ''): string {
    this.gpg(['--passphrase', passphrase, '--quick-gen-key', uid, algorithm, 'sign', 'never']);
    const colons = this.gpg(['--list-keys', '--with-colons', uid]).toString();
    return /^fpr:+([0-9A-F]{40}):/m.exec(colons)?.[1] ?? '';
  }

  /** Stops the agent this home started. */
  close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env(), stdio: 'ignore' });
    } catch {}
  }
}
