/** Facts about the machine the benchmark runs on, and the two reference speeds of scenario 5. */
import { execFileSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import os from 'node:os';
import { throughputMBps } from './stats.js';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  skopeo: string;
  registry: string;
  kernel: string;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')[0]!
      .trim();
  } catch {
    return 'unknown';
  }
}

export function machineFacts(): MachineFacts {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    skopeo: firstLine('skopeo', ['--version']),
    registry: firstLine('docker-registry', ['--version']),
    kernel: `${os.type()} ${os.release()}`,
  };
}

/** sha256 over an in-memory buffer with node:crypto, MB/s (the ceiling of any digest-checked copy). */
export function sha256Speed(totalBytes: number): number {
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  randomFillSync(chunk);
  const h = createHash('sha256');
  const t0 = process.hrtime.bigint();
  for (let done = 0; done < totalBytes; done += chunk.length) h.update(chunk);
  h.digest();
  return throughputMBps(totalBytes, Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Sequential write of `totalBytes` to a file in `dir`, fsync included, MB/s; the file is removed. */
export async function diskWriteSpeed(dir: string, totalBytes: number): Promise<number> {
  const file = `${dir}/disk-speed.tmp`;
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  randomFillSync(chunk);
  const t0 = process.hrtime.bigint();
  const fh = await open(file, 'w');
  try {
    for (let done = 0; done < totalBytes; done += chunk.length) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  await rm(file, { force: true });
  return throughputMBps(totalBytes, s);
}
