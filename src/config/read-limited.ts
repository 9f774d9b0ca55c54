/**
 * Reading a configuration file with a size cap: a path that names /dev/zero or a huge file by
 * mistake ends in an error naming the file, not in exhausted memory. FIFOs still work
 * (`--authfile <(...)`), read to their end like any stream.
 */
import { createReadStream } from 'node:fs';
import { isFerryError } from '../errors.js';
import { readAllLimited } from '../manifest/limits.js';

/** Largest configuration file Ferry reads (auth.json, registries.conf, a certificate). */
export const MAX_CONFIG_FILE_SIZE = 4 * 1024 * 1024;

/**
 * The bytes of `path`. Errors of the file system (ENOENT, EACCES, EISDIR...) are thrown as they
 * are, for the caller to judge; a file over the cap is `tooLarge(limit)`.
 */
export async function readConfigFile(path: string, tooLarge: (limit: number) => Error): Promise<Buffer> {
  try {
    return await readAllLimited(createReadStream(path), MAX_CONFIG_FILE_SIZE, path);
  } catch (e) {
    if (isFerryError(e, 'TOO_LARGE')) throw tooLarge(MAX_CONFIG_FILE_SIZE);
    throw e;
  }
}
