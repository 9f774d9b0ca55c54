/**
 * Runs one command under `/usr/bin/time -f '%e %U %S %M'` (Debian package `time`): Node cannot read
 * a child's rusage, time(1) can. Wall time is taken by the harness around the child (hrtime),
 * since time(1) prints it in centiseconds only.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { median, parseTimeOutput, type Sample } from './stats.js';

export const TIME_BIN = '/usr/bin/time';

export interface TimedRunOptions {
  env?: NodeJS.ProcessEnv;
  /** Where time(1) writes its line; removed afterwards. */
  timeFile: string;
  timeoutMs?: number;
  /** Seconds of spawn overhead to subtract from the wall time (see spawnOverhead). */
  overheadS?: number;
}

/** Runs `command args` and returns its sample; throws with the end of stderr if it fails. */
export async function timedRun(command: string, args: readonly string[], options: TimedRunOptions): Promise<Sample> {
  const started = process.hrtime.bigint();
  const child = spawn(TIME_BIN, ['-f', '%e %U %S %M', '-o', options.timeFile, command, ...args], {
    env: options.env ?? process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString('utf8')).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? -1));
  }).finally(() => clearTimeout(timer));
  const wallS = Math.max(0, Number(process.hrtime.bigint() - started) / 1e9 - (options.overheadS ?? 0));
  const text = await readFile(options.timeFile, 'utf8').catch(() => '');
  await rm(options.timeFile, { force: true });
  if (code !== 0) {
    const tail = stderr.trim().split('\n').slice(-3).join(' / ');
    throw new Error(`${command} ${args.join(' ')} exited ${code}: ${tail}`);
  }
  const t = parseTimeOutput(text);
  return { wallS, cpuS: t.userS + t.sysS, rssMiB: t.maxRssKiB / 1024 };
}

/** Median wall time of `/usr/bin/time true` spawned like a measured command: the harness's own cost. */
export async function spawnOverhead(timeFile: string, runs = 15): Promise<number> {
  const walls: number[] = [];
  for (let i = 0; i < runs; i++) walls.push((await timedRun('true', [], { timeFile })).wallS);
  return median(walls);
}
