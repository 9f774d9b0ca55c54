/** Temporary directories for tests: made under os.tmpdir(), always removed afterwards. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Makes a fresh temp dir; the caller removes it (prefer withTempDir). */
export function makeTempDir(prefix = 'ferry-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Runs `fn` with a fresh temp dir and removes the dir afterwards, whether `fn` succeeds or throws. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix = 'ferry-test-'): Promise<T> {
  const dir = await makeTempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
