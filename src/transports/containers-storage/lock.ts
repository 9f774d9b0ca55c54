/**
 * containers/storage's inter-process locks (pkg/lockfile, 1.43): each lock is a whole-file POSIX
 * record lock, fcntl(F_SETLKW) with F_WRLCK (writer) or F_RDLCK (reader), on a file such as
 * `<driver>-layers/layers.lock`. A writer, before it releases, writes a fresh 64-byte "last writer"
 * ID at offset 0 of the lock file (Touch), which tells other processes to reload the JSON files.
 *
 * Node has no fcntl and flock(2) locks do not exclude fcntl ones on Linux, so a small helper process
 * (perl, part of every Debian system) opens the files, takes the locks in the order given, says
 * "locked", and holds them until its stdin closes: a crashed Ferry releases them with it. While
 * they are held Ferry writes the last-writer IDs itself (pwrite is not tied to the lock holder).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FerryError, throwIfAborted } from '../../errors.js';

/** struct flock on Linux x86-64 and arm64: l_type, l_whence (s16), pad, l_start, l_len (s64), l_pid (s32), pad. */
const HELPER = String.raw`
use strict; use Fcntl;
$| = 1;
my @held;
for my $spec (@ARGV) {
  my ($mode, $path) = split /:/, $spec, 2;
  # Readers open read-only, as containers/storage's read-only lock files: a reader may not own the store.
  sysopen(my $fh, $path, ($mode eq 'w' ? O_RDWR : O_RDONLY) | O_CREAT, 0644) or die "open $path: $!\n";
  my $lk = pack('s s x4 q q l x4', $mode eq 'w' ? F_WRLCK : F_RDLCK, 0, 0, 0, 0);
  until (fcntl($fh, F_SETLKW, $lk)) { die "lock $path: $!\n" unless $!{EINTR}; }
  push @held, $fh;
}
print "locked\n";
while (<STDIN>) {}
`;

export type LockMode = 'read' | 'write';

export interface LockRequest {
  path: string;
  mode: LockMode;
}

/** The "last writer" ID containers/storage writes: time, counter, pid, then random bytes (64 in all). */
let counter = 0n;
export function newLastWriterID(): Buffer {
  const id = Buffer.alloc(64);
  id.writeBigUInt64LE(BigInt(Date.now()) * 1_000_000n, 0);
  counter += 1n;
  id.writeBigUInt64LE(counter, 8);
  id.writeUInt32LE(process.pid >>> 0, 16);
  randomBytes(44).copy(id, 20);
  return id;
}

/** Writes a new last-writer ID into a lock file Ferry holds for writing (containers/storage's Touch). */
export async function touchLockFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.write(newLastWriterID(), 0, 64, 0);
  } finally {
    await fh.close();
  }
}

export interface HeldLocks {
  /** Writes new last-writer IDs into the given held write locks, then releases every lock. */
  release(touched?: readonly string[]): Promise<void>;
}

/**
 * Takes the locks in the order given (callers use containers/storage's order: layers, images,
 * containers) and holds them until release().
 */
export async function acquireStoreLocks(requests: readonly LockRequest[], signal?: AbortSignal): Promise<HeldLocks> {
  throwIfAborted(signal);
  for (const r of requests) await mkdir(dirname(r.path), { recursive: true, mode: 0o700 });
  const child = spawn('perl', ['-e', HELPER, ...requests.map((r) => `${r.mode === 'write' ? 'w' : 'r'}:${r.path}`)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', () => resolve(null));
  });
  const what = requests.map((r) => r.path).join(', ');
  const onAbort = () => child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const locked = await new Promise<boolean>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        out += s;
        if (out.includes('locked\n')) resolve(true);
      });
      void exited.then(() => resolve(false));
    });
    throwIfAborted(signal);
    if (!locked) {
      throw new FerryError(
        'LOCKED',
        `cannot take the containers/storage locks on ${what}: ${stderr.trim() || 'the lock helper (perl) could not run'}`,
        { details: { paths: requests.map((r) => r.path) } },
      );
    }
  } catch (e) {
    child.kill('SIGTERM');
    await exited;
    throw e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  let released = false;
  return {
    async release(touched: readonly string[] = []): Promise<void> {
      if (released) return;
      released = true;
      try {
        for (const path of touched) await touchLockFile(path);
      } finally {
        child.stdin.end();
        await exited;
      }
    },
  };
}
