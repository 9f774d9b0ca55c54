/**
 * A second Ferry process for the SQLite tests (run as a child with node):
 *   write <path> <id> <count> <startAtMs>  records <count> blobs, printing {"warnings": [...]} as JSON;
 *   hold <path> <ms>                      holds the write lock for <ms>, printing "locked" once it has it.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { SqliteBlobInfoCache } from '../../src/blobinfocache/index.js';
import { digestOf } from '../../src/digest/digest.js';

function sleepUntil(ms: number): void {
  const wait = ms - Date.now();
  if (wait > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
}

/** The blob digest and uncompressed digest child `id` records as its `i`th blob. */
export function childBlob(
  id: string,
  i: number,
): { digest: ReturnType<typeof digestOf>; uncompressed: ReturnType<typeof digestOf> } {
  return { digest: digestOf(`${id}-${i}-gzip`), uncompressed: digestOf(`${id}-${i}`) };
}

function write(path: string, id: string, count: number, startAt: number): void {
  sleepUntil(startAt);
  const warnings: string[] = [];
  const cache = new SqliteBlobInfoCache(path, { onWarning: (m) => warnings.push(m) });
  for (let i = 0; i < count; i++) {
    const { digest, uncompressed } = childBlob(id, i);
    cache.recordDigestUncompressedPair(digest, uncompressed);
    cache.recordDigestCompressorName(digest, 'gzip');
    cache.recordKnownLocation('docker', 'registry.example', digest, `repo-${id}`);
    cache.candidateLocations('docker', 'registry.example', digest, { canSubstitute: true });
  }
  cache.close();
  process.stdout.write(JSON.stringify({ warnings }));
}

function hold(path: string, ms: number): void {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(path);
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO digest_compressors (digest, compressor) VALUES (?, ?)').run(digestOf('held'), 'gzip');
  process.stdout.write('locked\n');
  sleepUntil(Date.now() + ms);
  db.exec('COMMIT');
  db.close();
}

const [mode, path, a, b, c] = process.argv.slice(2);
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (mode === 'write' && path !== undefined) write(path, a ?? 'x', Number(b), Number(c));
  else if (mode === 'hold' && path !== undefined) hold(path, Number(a));
  else {
    process.stderr.write(`usage: writer-child write|hold <path> ...\n`);
    process.exitCode = 2;
  }
}
