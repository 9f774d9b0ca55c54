/**
 * What the TOML configuration files (containers.conf(5), storage.conf(5), registries.conf(5))
 * share: the TOML parser, loaded only when one is parsed, and a size-capped read of one file.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as SmolToml from 'smol-toml';
import { FerryError } from '../errors.js';
import { isMissingFile } from './paths.js';

/** A containers.conf or storage.conf bigger than this is refused instead of read. */
const MAX_FILE_SIZE = 1024 * 1024;

let toml: typeof SmolToml | undefined;
/** smol-toml, loaded (as its one-file CommonJS build) on first use. */
export function loadToml(): typeof SmolToml {
  toml ??= createRequire(import.meta.url)('smol-toml') as typeof SmolToml;
  return toml;
}

/** A TOML table (smol-toml returns dates as Date objects, which are not tables). */
export function isTable(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);
}

/**
 * The text of the configuration file `path`; undefined when it is missing and not `required`.
 * Anything else wrong with it (not a regular file, too big, unreadable) is `invalid(what)`.
 */
export async function readTomlConfigFile(
  path: string,
  required: boolean,
  invalid: (what: string) => FerryError,
): Promise<string | undefined> {
  try {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw invalid('is not a regular file');
      if (st.size > MAX_FILE_SIZE) throw invalid(`is larger than ${MAX_FILE_SIZE} bytes`);
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (isMissingFile(e) && !required) return undefined;
    throw invalid(`cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

/**
 * readTomlConfigFile, synchronous: storage.conf is needed where no await is possible (a
 * containers-storage reference's policy scope).
 */
export function readTomlConfigFileSync(
  path: string,
  required: boolean,
  invalid: (what: string) => FerryError,
): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalid('is not a regular file');
    if (st.size > MAX_FILE_SIZE) throw invalid(`is larger than ${MAX_FILE_SIZE} bytes`);
    return readFileSync(fd, 'utf8');
  } catch (e) {
    if (e instanceof FerryError) throw e;
    if (isMissingFile(e) && !required) return undefined;
    throw invalid(`cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
