/**
 * Rootless containers-storage: as podman does (containers/storage pkg/unshare), a command that reads
 * or writes a containers-storage store as a user other than root runs again inside a user namespace
 * where the user is root (uid 0 → the user) and IDs 1.. map to the user's subordinate IDs from
 * /etc/subuid and /etc/subgid, in file order, written by the setuid newuidmap/newgidmap helpers. So
 * a file owned by 1000 in an image is owned on disk by the mapped host ID, exactly as podman lays
 * out that user's store. The child learns the real user from `_CONTAINERS_ROOTLESS_UID`/`_GID`
 * (containers/storage's names) and `_CONTAINERS_USERNS_CONFIGURED` stops a second re-exec.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants, userInfo } from 'node:os';
import { promisify } from 'node:util';
import { printStderr } from './output.js';

const run = promisify(execFile);

/** One `start:count` range of an /etc/subuid or /etc/subgid line. */
export interface SubordinateRange {
  start: number;
  count: number;
}

/** The ranges /etc/subuid (or subgid) gives user `name` (or its numeric `id`), in file order (shadow-utils subid(5)). */
export function subordinateRanges(text: string, name: string, id: number): SubordinateRange[] {
  const out: SubordinateRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (owner !== name && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && s >= 0 && Number.isSafeInteger(c) && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** newuidmap/newgidmap arguments: 0 → the user, then each range from container ID 1 on. */
export function idMapArgs(id: number, ranges: readonly SubordinateRange[]): string[] {
  const args = ['0', String(id), '1'];
  let next = 1;
  for (const r of ranges) {
    args.push(String(next), String(r.start), String(r.count));
    next += r.count;
  }
  return args;
}

function readRanges(file: string, name: string, id: number): SubordinateRange[] {
  try {
    return subordinateRanges(readFileSync(file, 'utf8'), name, id);
  } catch {
    return [];
  }
}

/**
 * Runs this command again in a user namespace when it names a containers-storage: image and the user
 * is not root; returns its exit code, or undefined when the command runs here (root, already inside,
 * no subordinate IDs, not Linux, or no containers-storage: argument).
 */
export async function runInUserNamespaceIfNeeded(argv: readonly string[]): Promise<number | undefined> {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  if (process.platform !== 'linux' || uid === undefined || gid === undefined || uid === 0) return undefined;
  if (process.env._CONTAINERS_USERNS_CONFIGURED !== undefined) return undefined;
  if (!argv.slice(2).some((a) => a.startsWith('containers-storage:'))) return undefined;
  const name = userInfo().username;
  const uids = readRanges('/etc/subuid', name, uid);
  const gids = readRanges('/etc/subgid', name, gid);
  // Without subordinate IDs the command runs as it is; a store write then says what is missing.
  if (uids.length === 0 || gids.length === 0) return undefined;

  // The child waits on fd 3 until its ID maps are written, then becomes this command again.
  const child = spawn(
    'unshare',
    [
      '--user',
      'sh',
      '-c',
      'read _ <&3; exec 3<&-; exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      ...argv.slice(1),
    ],
    {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: {
        ...process.env,
        _CONTAINERS_USERNS_CONFIGURED: 'done',
        _CONTAINERS_ROOTLESS_UID: String(uid),
        _CONTAINERS_ROOTLESS_GID: String(gid),
      },
    },
  );
  const exited = new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128 + signalNumber(signal))));
  });
  const gate = child.stdio[3] as NodeJS.WritableStream;
  try {
    if (child.pid === undefined) throw new Error('unshare did not start');
    // unshare makes the namespace, then runs sh: the maps can be written once its uid_map exists in a new namespace.
    await waitForNewNamespace(child.pid);
    await run('newuidmap', [String(child.pid), ...idMapArgs(uid, uids)]);
    await run('newgidmap', [String(child.pid), ...idMapArgs(gid, gids)]);
    gate.end('\n');
  } catch (e) {
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    const detail = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
    printStderr(`ferry: cannot enter a user namespace for containers-storage (${detail})\n`);
    return 1;
  }
  // The child does the work and the cleanup: a terminal's Ctrl-C reaches it directly (same process
  // group), so this process only waits; a SIGTERM or SIGHUP sent to this process is passed on.
  const ignore = () => {};
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', ignore);
  process.on('SIGTERM', forward);
  process.on('SIGHUP', forward);
  try {
    return await exited;
  } finally {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
    process.off('SIGHUP', forward);
  }
}

/** Waits until process `pid` is in a user namespace other than this process's. */
async function waitForNewNamespace(pid: number): Promise<void> {
  const { readlink } = await import('node:fs/promises');
  const own = await readlink('/proc/self/ns/user');
  for (let i = 0; i < 500; i++) {
    const theirs = await readlink(`/proc/${pid}/ns/user`).catch(() => own);
    if (theirs !== own) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('unshare did not create a user namespace');
}

function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal] ?? 1;
}
