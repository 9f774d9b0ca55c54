import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import { BLOB_INFO_CACHE_SCHEMA_VERSION, SqliteBlobInfoCache } from '../../src/blobinfocache/index.js';
import { isFerryError } from '../../src/errors.js';
import { digestOfChar, registerBlobInfoCacheConformance } from './conformance.js';
import { childBlob } from './writer-child.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const childScript = fileURLToPath(new URL('./writer-child.js', import.meta.url));

let dir = '';
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-bic-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const freshPath = (): string => join(dir, `cache-${++files}.sqlite`);

registerBlobInfoCacheConformance({
  name: 'sqlite',
  remembers: true,
  make: (options) =>
    new SqliteBlobInfoCache(freshPath(), { ...options, onWarning: (m) => assert.fail(`unexpected warning: ${m}`) }),
});

const A = digestOfChar('a');
const U = digestOfChar('b');

interface ChildOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(args: string[], onStdout?: (text: string, child: ChildProcess) => void): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [childScript, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sqlite blob-info cache', () => {
  test('two connections to one file see each other’s writes', () => {
    const path = freshPath();
    const one = new SqliteBlobInfoCache(path);
    const two = new SqliteBlobInfoCache(path);
    try {
      one.recordDigestUncompressedPair(A, U);
      assert.equal(two.uncompressedDigest(A), U);
      two.recordDigestCompressorName(A, 'gzip');
      two.recordKnownLocation('docker', 'reg', A, 'lib/app');
      assert.deepEqual(
        one
          .candidateLocations('docker', 'reg', A, { canSubstitute: false })
          .map((c) => [c.digest, c.compressorName, c.location]),
        [[A, 'gzip', 'lib/app']],
      );
    } finally {
      one.close();
      two.close();
    }
  });

  test('keeps its records when closed and opened again', () => {
    const path = freshPath();
    const first = new SqliteBlobInfoCache(path, { now: () => 1_700_000_000_123.456 });
    first.recordDigestUncompressedPair(A, U);
    first.recordDigestCompressorName(A, 'zstd');
    first.recordKnownLocation('docker', 'reg', A, 'lib/app');
    first.close();
    const again = new SqliteBlobInfoCache(path);
    try {
      assert.equal(again.uncompressedDigest(A), U);
      assert.deepEqual(again.candidateLocations('docker', 'reg', A, { canSubstitute: false }), [
        { digest: A, compressorName: 'zstd', location: 'lib/app', lastSeen: new Date(1_700_000_000_123.456) },
      ]);
    } finally {
      again.close();
    }
  });

  test('creates a WAL-mode file carrying its schema version', () => {
    const path = freshPath();
    new SqliteBlobInfoCache(path).close();
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('user_version', { simple: true }), BLOB_INFO_CACHE_SCHEMA_VERSION);
    } finally {
      db.close();
    }
  });

  test('refuses a file that is not an SQLite database', () => {
    const path = freshPath();
    writeFileSync(path, 'this is not a database, just some bytes that are long enough to look like a header..........');
    assert.throws(
      () => new SqliteBlobInfoCache(path),
      (e) => isFerryError(e, 'CACHE_UNAVAILABLE') && e.message.includes(path),
    );
  });

  test('refuses a database of a newer schema version without changing it', () => {
    const path = freshPath();
    const db = new Database(path);
    db.pragma('user_version = 7');
    db.close();
    assert.throws(
      () => new SqliteBlobInfoCache(path),
      (e) => isFerryError(e, 'CACHE_UNAVAILABLE') && /schema version 7/.test(e.message),
    );
    const check = new Database(path, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), 7);
    check.close();
  });

  test('refuses an SQLite database that belongs to another program', () => {
    const path = freshPath();
    const db = new Database(path);
    db.exec('CREATE TABLE other (x INTEGER)');
    db.close();
    assert.throws(
      () => new SqliteBlobInfoCache(path),
      (e) => isFerryError(e, 'CACHE_UNAVAILABLE') && /not a Ferry blob-info cache/.test(e.message),
    );
  });

  test('two processes writing to a new file at once both succeed without SQLITE_BUSY, and all records are kept', async () => {
    const path = freshPath();
    const count = 150;
    const startAt = Date.now() + 1500;
    const outputs = await Promise.all(
      ['p1', 'p2'].map((id) => runChild(['write', path, id, String(count), String(startAt)])),
    );
    for (const out of outputs) {
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { warnings: [] });
    }
    const cache = new SqliteBlobInfoCache(path);
    try {
      for (const id of ['p1', 'p2']) {
        for (let i = 0; i < count; i++) {
          const { digest, uncompressed } = childBlob(id, i);
          assert.equal(cache.uncompressedDigest(digest), uncompressed);
          const locations = cache
            .candidateLocations('docker', 'registry.example', digest, { canSubstitute: false })
            .map((c) => c.location);
          assert.deepEqual(locations, [`repo-${id}`]);
        }
      }
    } finally {
      cache.close();
    }
  });

  test('waits for another process’s write lock instead of failing', async () => {
    const path = freshPath();
    new SqliteBlobInfoCache(path).close();
    const warnings: string[] = [];
    let waitedMs = -1;
    const out = await runChild(['hold', path, '400'], (text) => {
      if (waitedMs !== -1 || !text.includes('locked')) return;
      const cache = new SqliteBlobInfoCache(path, { onWarning: (m) => warnings.push(m) });
      const started = Date.now();
      cache.recordDigestCompressorName(A, 'gzip');
      waitedMs = Date.now() - started;
      cache.close();
    });
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(warnings, []);
    assert.ok(waitedMs >= 200, `the write waited ${waitedMs} ms for the lock`);
    const cache = new SqliteBlobInfoCache(path);
    assert.equal(cache.candidateLocations('docker', 'reg', A, { canSubstitute: false })[0]?.compressorName, 'gzip');
    cache.close();
  });

  test('reports a write that times out waiting for the lock as a warning, not an error', async () => {
    const path = freshPath();
    new SqliteBlobInfoCache(path).close();
    const warnings: string[] = [];
    let done = false;
    const out = await runChild(['hold', path, '600'], (text) => {
      if (done || !text.includes('locked')) return;
      done = true;
      const cache = new SqliteBlobInfoCache(path, { busyTimeoutMs: 50, onWarning: (m) => warnings.push(m) });
      cache.recordDigestCompressorName(A, 'gzip');
      cache.close();
    });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /recording a compressor: database is locked/);
  });
});
