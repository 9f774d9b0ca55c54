/** Paths inside the repository, from compiled tests (dist/test/...) and from sources alike. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('test helpers: no package.json above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** The repository root (the folder holding package.json). */
export const repoRoot: string = findRepoRoot();

/** The `bin/ferry` script. */
export const ferryBin: string = join(repoRoot, 'bin', 'ferry');

/** A path under test/fixtures/ (fixtures are not copied to dist/: read them from the source tree). */
export function fixturePath(...segments: string[]): string {
  return join(repoRoot, 'test', 'fixtures', ...segments);
}
