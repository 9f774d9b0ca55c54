/**
 * Reading a configuration file with a size cap: a path that names /dev/zero or a huge file by
 * mistake ends in an error naming the file, not in exhausted memory. FIFOs still work
 * (`--authfile <(...)`), read to their end like any stream.
 */
import { open } from 'node:fs/promises';

/** Largest configuration file Ferry reads (auth.json, registries.conf, a certificate). */
export const MAX_CONFIG_FILE_SIZE = 4 * 1024 * 1024;

/**
 * The bytes of `path`. Errors of the file system (ENOENT, EACCES, EISDIR...) are thrown as they
 * are, for the caller to judge; a file over the cap is `tooLarge(limit)`.
 */
export async function readConfigFile(path: string, tooLarge: (limit: number) => Error): Promise<Buffer> {
  // Plain reads on one file handle: these files are small and read on every command, and a read
  // stream's set-up costs more than the reads themselves.
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await handle.read(chunk, 0, CHUNK, null);
      if (bytesRead === 0) return Buffer.concat(chunks, total);
      total += bytesRead;
      if (total > MAX_CONFIG_FILE_SIZE) throw tooLarge(MAX_CONFIG_FILE_SIZE);
      chunks.push(bytesRead === CHUNK ? chunk : chunk.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

const CHUNK = 64 * 1024;
