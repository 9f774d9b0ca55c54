/** Waiting in tests for something another process does. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Polls (every 20 ms, at most 15 s) until `check` is true. */
export async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 750; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Every path under `root` (files and directories), relative, sorted; [] when it does not exist. */
export async function walk(root: string, rel = ''): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(join(root, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    out.push(p);
    if (e.isDirectory()) out.push(...(await walk(root, p)));
  }
  return out.sort();
}
