/** Fixtures for the on-disk transports: a root dir per test file, a fresh name per reference. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A temp root made by start() and removed by stop(), and a counter for fresh names in it. */
export class FixtureRoot {
  #dir: string | undefined;
  #n = 0;

  get dir(): string {
    if (this.#dir === undefined) throw new Error('fixture root used before start()');
    return this.#dir;
  }

  /** A path in the root that nothing has used yet. */
  fresh(prefix: string): string {
    return path.join(this.dir, `${prefix}${this.#n++}`);
  }

  start = async (): Promise<void> => {
    this.#dir = await mkdtemp(path.join(tmpdir(), 'ferry-conformance-target-'));
  };

  stop = async (): Promise<void> => {
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
  };
}
