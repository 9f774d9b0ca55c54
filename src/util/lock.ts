/**
 * A lock file for a file several processes read, change and rewrite (an OCI layout's index.json):
 * `.<name>.ferry-lock` beside it, made with O_EXCL and holding its owner's pid. A lock whose owner
 * no longer runs, or older than STALE_LOCK_MS (it is held for milliseconds), is broken.
 */
import { lstat, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { FerryError, throwIfAborted } from '../errors.js';
import { sleep } from './network.js';
import { processAlive, tempName } from './temp.js';

const STALE_LOCK_MS = 60_000;
const WAIT_LIMIT_MS = 120_000;

export function lockPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.ferry-lock`);
}

async function tryCreate(lock: string): Promise<boolean> {
  try {
    const fh = await open(lock, 'wx', 0o644);
    try {
      await fh.writeFile(`${process.pid}\n`);
    } finally {
      await fh.close();
    }
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

/** True when the lock at `lock` was left by a process that is gone (or so long ago that it must be). */
async function isStale(lock: string): Promise<boolean> {
  const [st, text] = await Promise.all([
    lstat(lock).catch(() => undefined),
    readFile(lock, 'utf8').catch(() => undefined),
  ]);
  if (st === undefined) return false;
  if (Date.now() - st.mtimeMs > STALE_LOCK_MS) return true;
  const pid = Number(text?.trim());
  // A lock still being written has no pid yet: give it time.
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
}

/** Runs `fn` holding the lock of `target`; waits (bounded, abortable) while another writer holds it. */
export async function withFileLock<T>(target: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const lock = lockPathFor(target);
  const deadline = Date.now() + WAIT_LIMIT_MS;
  for (let wait = 2; !(await tryCreate(lock)); wait = Math.min(wait * 2, 100)) {
    throwIfAborted(signal);
    if (await isStale(lock)) {
      // Renamed first, so that of several writers breaking it only one removes it.
      const aside = join(dirname(lock), tempName(`.${basename(target)}.ferry-stale-lock-`));
      if (
        await rename(lock, aside).then(
          () => true,
          () => false,
        )
      )
        await rm(aside, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new FerryError(
        'LOCKED',
        `${target} is locked by another writer (${lock}); remove the lock file if no Ferry process uses it`,
        {
          details: { lock },
        },
      );
    }
    await sleep(wait + Math.random() * wait, signal);
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
