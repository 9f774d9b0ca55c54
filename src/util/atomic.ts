/**
 * Atomic file writes: write to a temp file in the same directory, fsync, then rename over the
 * target, so a reader sees the old file or the new one and never half of either.
 */
import { createWriteStream } from 'node:fs';
import { link, open, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { tempPathIn } from './temp.js';

/** The prefix of tempPathFor's names for `target` (a stale one can be recognised by it). */
export function atomicTempPrefix(target: string): string {
  return `.${basename(target)}.ferry-tmp-`;
}

/** A temp path beside `target` (same filesystem, so rename is atomic), hidden and unique. */
export function tempPathFor(target: string): string {
  return tempPathIn(dirname(target), atomicTempPrefix(target));
}

/** Runs `write` into a fresh temp path, fsyncs the result and renames it onto `target`; on error removes it. */
async function publishAtomically(
  target: string,
  write: (tmp: string) => Promise<void>,
  overwrite = true,
): Promise<void> {
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) {
      await rename(tmp, target);
      return;
    }
    await link(tmp, target); // EEXIST when the target exists, even if it appeared a moment ago
    await rm(tmp, { force: true });
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeFileAtomic(target: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await publishAtomically(target, writeTemp(data, mode));
}

/** As writeFileAtomic, but fails with EEXIST instead of replacing an existing `target`. */
export async function writeNewFileAtomic(target: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  await publishAtomically(target, writeTemp(data, mode), false);
}

function writeTemp(data: Uint8Array | string, mode: number): (tmp: string) => Promise<void> {
  return async (tmp) => {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
  };
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
  await publishAtomically(target, async (tmp) => {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
    await pipeline([source, ...stages, out], { signal });
  });
}
