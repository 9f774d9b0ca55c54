/**
 * Names for Ferry's temp files and directories: `<prefix><pid>-<random>`, e.g.
 * `ferry-oci-archive-4242-9f1c0a7be2d4` or `.ferry-blob-4242-…`, so that one left by a run that was
 * killed can be recognised (its process is gone, or it is older than a day) and removed later.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { lstat, mkdir, opendir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Past this age a temp entry is stale even when a process with its pid runs (the pid was reused). */
export const STALE_AFTER_MS = 24 * 60 * 60 * 1000;
/** Entries looked at, and removed, per cleanup: the work stays bounded in a crowded directory. */
const SCAN_LIMIT = 4096;
const REMOVE_LIMIT = 64;
const RANDOM_BYTES = 6;

/** Directories this process made temp entries in, for removeOwnTempsSync (a few per run; capped). */
const parents = new Set<string>();
const MAX_PARENTS = 256;

/** A fresh temp name: `prefix` + this process's pid + random hex. */
export function tempName(prefix: string): string {
  return `${prefix}${process.pid}-${randomBytes(RANDOM_BYTES).toString('hex')}`;
}

/** `parent/<tempName(prefix)>`, remembered for removeOwnTempsSync. */
export function tempPathIn(parent: string, prefix: string): string {
  if (parents.size < MAX_PARENTS) parents.add(parent);
  return join(parent, tempName(prefix));
}

/** Any of Ferry's temp names, with its pid; `ferry-old-` (a replaced image kept until the swap is done) excepted. */
const ANY_TEMP = /(?:^|\.)ferry-(?!old-)[a-z]+(?:-[a-z]+)*-(\d{1,10})-[0-9a-f]{12}$/;

/**
 * Removes, at once, the temp files and dirs this process still has (for an exit that cannot wait for
 * the work in flight to clean up after itself: a second Ctrl-C). Never fails.
 */
export function removeOwnTempsSync(): void {
  for (const parent of parents) {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      if (Number(ANY_TEMP.exec(name)?.[1]) !== process.pid) continue;
      try {
        rmSync(join(parent, name), { recursive: true, force: true });
      } catch {
        // best effort: the next run's stale-temp cleanup removes what is left
      }
    }
  }
}

/** Makes a new directory `parent/<tempName(prefix)>` (mode 0700 unless told) and returns its path. */
export async function makeTempDirIn(parent: string, prefix: string, mode = 0o700): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const dir = tempPathIn(parent, prefix);
    try {
      await mkdir(dir, { mode });
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 4) throw e;
    }
  }
}

/** The pid in a temp name made by tempName(prefix), or undefined when `name` is not one. */
export function tempNamePid(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = /^(\d{1,10})-[0-9a-f]{12}$/.exec(name.slice(prefix.length));
  return m === null ? undefined : Number(m[1]);
}

/** Whether a process with this pid runs (one of another user counts as running). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * Removes, from `parent`, temp entries named by tempName with one of `prefixes` that a dead run
 * left: its pid no longer runs, or the entry is older than a day. Only entries this user owns, never
 * this process's own; symlinks are removed, not followed. Bounded work; never fails.
 */
export async function removeStaleTemps(
  parent: string,
  prefixes: readonly string[],
  now = Date.now(),
): Promise<string[]> {
  const removed: string[] = [];
  // The process's uid, not effectiveUserID: inside the rootless user namespace the user's own files
  // show as uid 0, which is what getuid() says there too.
  const uid = process.getuid?.();
  try {
    const dir = await opendir(parent);
    let seen = 0;
    for await (const entry of dir) {
      if (++seen > SCAN_LIMIT || removed.length >= REMOVE_LIMIT) break;
      const pid = prefixes.map((p) => tempNamePid(entry.name, p)).find((p) => p !== undefined);
      if (pid === undefined || pid === process.pid) continue;
      const path = join(parent, entry.name);
      const st = await lstat(path).catch(() => undefined);
      if (st === undefined || (uid !== undefined && st.uid !== uid)) continue;
      if (processAlive(pid) && now - st.mtimeMs <= STALE_AFTER_MS) continue;
      await rm(path, { recursive: true, force: true }).then(
        () => removed.push(path),
        () => {},
      );
    }
  } catch {
    // A parent we cannot list has nothing we could clean.
  }
  return removed;
}
