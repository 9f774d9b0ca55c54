/**
 * Atomic file writes: write to a temp file in the same directory, fsync, then rename over the
 * target, so a reader sees the old file or the new one and never half of either.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';

/** A temp path beside `target` (same filesystem, so rename is atomic), hidden and unique. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.ferry-tmp-${randomBytes(6).toString('hex')}`);
}

export async function writeFileAtomic(target: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Streams `source` (through optional extra stages such as a digest verifier) into a temp file
 * beside `target`, fsyncs it and renames it into place. On any error the temp file is removed
 * and `target` is untouched.
 */
export async function streamToFileAtomic(
  target: string,
  source: Readable,
  stages: NodeJS.ReadWriteStream[] = [],
  signal?: AbortSignal,
): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    await pipeline([source, ...stages, out] as unknown as Parameters<typeof pipeline>, { signal } as never);
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
