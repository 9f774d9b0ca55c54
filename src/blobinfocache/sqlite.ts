/**
 * The persistent cache in one SQLite file (containers/image blobinfocache/sqlite), shared by every
 * Ferry process of a user: WAL journal (readers never block the writer), a busy timeout (a writer
 * waits for another instead of failing with SQLITE_BUSY) and every write in a BEGIN IMMEDIATE
 * transaction (the write lock is taken up front, so no read-to-write upgrade can deadlock).
 * The schema carries its version in `PRAGMA user_version`; a file of another version or of
 * another program is refused, never altered.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { type Digest, isDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { monotonicNow } from './clock.js';
import { type CacheLookups, candidateLocationsFrom, type SeenLocation, uncompressedDigestOf } from './prioritize.js';
import type {
  BlobInfoCache,
  BlobInfoCacheOptions,
  BlobInfoCacheWarning,
  Candidate,
  CandidateLocationOptions,
  CompressorName,
} from './types.js';

/** The schema version this code reads and writes (`PRAGMA user_version`). */
export const BLOB_INFO_CACHE_SCHEMA_VERSION = 1;

/** How long a connection waits for another's write lock before giving up (ms). */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const SCHEMA = `
CREATE TABLE digest_uncompressed_pairs (
  any_digest TEXT PRIMARY KEY NOT NULL,
  uncompressed_digest TEXT NOT NULL
);
CREATE INDEX digest_uncompressed_pairs_by_uncompressed ON digest_uncompressed_pairs (uncompressed_digest);
CREATE TABLE digest_compressors (
  digest TEXT PRIMARY KEY NOT NULL,
  compressor TEXT NOT NULL
);
CREATE TABLE known_locations (
  transport TEXT NOT NULL,
  scope TEXT NOT NULL,
  digest TEXT NOT NULL,
  location TEXT NOT NULL,
  last_seen_us INTEGER NOT NULL,
  PRIMARY KEY (transport, scope, digest, location)
);
PRAGMA user_version = ${BLOB_INFO_CACHE_SCHEMA_VERSION};
`;

/**
 * Caches of other programs merged into this one (containers/image's BoltDB file), one row per
 * source path, so each version of a file (size, mtime) is imported once. Created on first import:
 * files of schema version 1 made before it existed stay readable by every version.
 */
const IMPORTED_CACHES_TABLE = `
CREATE TABLE IF NOT EXISTS imported_caches (
  path TEXT PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL,
  mtime_ns TEXT NOT NULL,
  outcome TEXT NOT NULL,
  imported_at_us INTEGER NOT NULL
);
`;

/** A cache file of another program, as it was when its records were merged into this cache (or found unusable). */
export interface ImportedCacheSource {
  path: string;
  size: number;
  mtimeNs: bigint;
  outcome: 'imported' | 'failed';
}

/** A known location learned elsewhere, with its own "last seen" time (microseconds since the epoch). */
export interface KnownLocationRecord {
  transport: string;
  scope: string;
  digest: Digest;
  location: string;
  lastSeenUs: number;
}

/** Records learned elsewhere, to merge into this cache. */
export interface BlobInfoRecords {
  /** (any digest, uncompressed digest) pairs. */
  pairs: Iterable<readonly [Digest, Digest]>;
  compressors: Iterable<readonly [Digest, Exclude<CompressorName, 'unknown'>]>;
  locations: Iterable<KnownLocationRecord>;
}

type KnownCompressor = Exclude<CompressorName, 'unknown'>;
const KNOWN_COMPRESSORS: ReadonlySet<string> = new Set<KnownCompressor>(['gzip', 'zstd', 'uncompressed']);

export interface SqliteBlobInfoCacheOptions extends BlobInfoCacheOptions {
  busyTimeoutMs?: number;
}

type Driver = typeof BetterSqlite3;
let driver: { Database: Driver; nativeBinding: string | undefined } | undefined;

/**
 * The native driver, loaded on first use so that importing Ferry does not pay for it. The add-on
 * is named directly: better-sqlite3 otherwise finds it with the `bindings` package, which probes
 * a dozen paths (a few ms of every command that opens the cache).
 */
function loadDriver(): NonNullable<typeof driver> {
  if (driver === undefined) {
    let nativeBinding: string | undefined;
    try {
      nativeBinding = createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node');
    } catch {
      // built elsewhere: let better-sqlite3 look for it
    }
    driver = { Database: createRequire(import.meta.url)('better-sqlite3') as Driver, nativeBinding };
  }
  return driver;
}

interface Statements {
  pairOf: BetterSqlite3.Statement<[string], string>;
  isUncompressed: BetterSqlite3.Statement<[string], number>;
  withUncompressed: BetterSqlite3.Statement<[string], string>;
  compressorOf: BetterSqlite3.Statement<[string], string>;
  locations: BetterSqlite3.Statement<[string, string, string], { location: string; last_seen_us: number }>;
  putPair: BetterSqlite3.Statement<[string, string]>;
  putCompressor: BetterSqlite3.Statement<[string, string]>;
  deleteCompressor: BetterSqlite3.Statement<[string]>;
  putLocation: BetterSqlite3.Statement<[string, string, string, string, number]>;
}

export class SqliteBlobInfoCache implements BlobInfoCache {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #now: () => number;
  readonly #warn: BlobInfoCacheWarning;
  readonly #busyTimeoutMs: number;
  #db: BetterSqlite3.Database | undefined;
  /** Runs a callback inside a transaction (`.deferred` to read, `.immediate` to write). */
  readonly #inTransaction: BetterSqlite3.Transaction<(fn: () => unknown) => unknown>;
  readonly #sql: Statements;
  readonly #lookups: CacheLookups;

  /** Opens (creating if needed) the cache file at `path`; throws CACHE_UNAVAILABLE when it cannot be used. */
  constructor(path: string, options: SqliteBlobInfoCacheOptions = {}) {
    this.path = path;
    this.#now = options.now ?? monotonicNow;
    this.#warn = options.onWarning ?? (() => {});
    this.#busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    const db = openDatabase(path, this.#busyTimeoutMs);
    this.#db = db;
    this.#inTransaction = db.transaction((fn: () => unknown) => fn());
    this.#sql = {
      pairOf: db
        .prepare<[string], string>('SELECT uncompressed_digest FROM digest_uncompressed_pairs WHERE any_digest = ?')
        .pluck(),
      isUncompressed: db
        .prepare<[string], number>('SELECT 1 FROM digest_uncompressed_pairs WHERE uncompressed_digest = ? LIMIT 1')
        .pluck(),
      withUncompressed: db
        .prepare<[string], string>('SELECT any_digest FROM digest_uncompressed_pairs WHERE uncompressed_digest = ?')
        .pluck(),
      compressorOf: db.prepare<[string], string>('SELECT compressor FROM digest_compressors WHERE digest = ?').pluck(),
      locations: db.prepare(
        'SELECT location, last_seen_us FROM known_locations WHERE transport = ? AND scope = ? AND digest = ?',
      ),
      putPair: db.prepare(
        'INSERT OR REPLACE INTO digest_uncompressed_pairs (any_digest, uncompressed_digest) VALUES (?, ?)',
      ),
      putCompressor: db.prepare('INSERT OR REPLACE INTO digest_compressors (digest, compressor) VALUES (?, ?)'),
      deleteCompressor: db.prepare('DELETE FROM digest_compressors WHERE digest = ?'),
      putLocation: db.prepare(
        'INSERT INTO known_locations (transport, scope, digest, location, last_seen_us) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (transport, scope, digest, location) DO UPDATE SET last_seen_us = MAX(last_seen_us, excluded.last_seen_us)',
      ),
    };
    const sql = this.#sql;
    this.#lookups = {
      recordedUncompressed: (d) => validDigest(sql.pairOf.get(d)),
      isRecordedAsUncompressed: (d) => sql.isUncompressed.get(d) !== undefined,
      digestsWithUncompressed: (u) => sql.withUncompressed.all(u).filter((d): d is Digest => isDigest(d)),
      recordedCompressor: (d) => {
        const name = sql.compressorOf.get(d);
        return name !== undefined && KNOWN_COMPRESSORS.has(name) ? (name as KnownCompressor) : undefined;
      },
      locations: (transport, scope, d) =>
        sql.locations
          .all(transport, scope, d)
          .map((r): SeenLocation => ({ location: r.location, lastSeen: Number(r.last_seen_us) / 1000 })),
    };
  }

  uncompressedDigest(d: Digest): Digest | undefined {
    return this.#read('looking up the uncompressed digest', undefined, () => uncompressedDigestOf(this.#lookups, d));
  }

  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void {
    this.#write('recording an uncompressed digest', () => this.#sql.putPair.run(anyDigest, uncompressed));
  }

  recordDigestCompressorName(d: Digest, name: CompressorName): void {
    this.#write('recording a compressor', () => {
      if (name === 'unknown') this.#sql.deleteCompressor.run(d);
      else this.#sql.putCompressor.run(d, name);
    });
  }

  recordKnownLocation(transport: string, scope: string, d: Digest, location: string): void {
    const micros = Math.round(this.#now() * 1000);
    this.#write('recording a known location', () => this.#sql.putLocation.run(transport, scope, d, location, micros));
  }

  candidateLocations(
    transport: string,
    scope: string,
    primaryDigest: Digest,
    options: CandidateLocationOptions,
  ): Candidate[] {
    return this.#read('looking up candidate locations', [], () =>
      candidateLocationsFrom(this.#lookups, transport, scope, primaryDigest, options),
    );
  }

  /** What was noted about importing the cache file at `path`, if anything. Throws CACHE_UNAVAILABLE when it cannot be read. */
  importedSource(path: string): ImportedCacheSource | undefined {
    return this.#importStep(`reading the import record of ${path}`, 'deferred', (db) => {
      const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'imported_caches'").get();
      if (exists === undefined) return undefined;
      const row = db
        .prepare<[string], { size: number; mtime_ns: string; outcome: string }>(
          'SELECT size, mtime_ns, outcome FROM imported_caches WHERE path = ?',
        )
        .get(path);
      if (row === undefined || !/^\d+$/.test(row.mtime_ns)) return undefined;
      const outcome = row.outcome === 'imported' ? 'imported' : 'failed';
      return { path, size: Number(row.size), mtimeNs: BigInt(row.mtime_ns), outcome };
    });
  }

  /**
   * Merges records learned elsewhere and notes `source`, in one transaction (all or nothing).
   * What this cache already holds wins: a pair or compressor recorded here is kept, and a location
   * keeps the later of its two "last seen" times. Throws CACHE_UNAVAILABLE when the write fails.
   */
  importRecords(source: ImportedCacheSource, records: BlobInfoRecords): void {
    this.#importStep(`importing ${source.path}`, 'immediate', (db) => {
      db.exec(IMPORTED_CACHES_TABLE);
      const putPair = db.prepare(
        'INSERT OR IGNORE INTO digest_uncompressed_pairs (any_digest, uncompressed_digest) VALUES (?, ?)',
      );
      const putCompressor = db.prepare('INSERT OR IGNORE INTO digest_compressors (digest, compressor) VALUES (?, ?)');
      for (const [anyDigest, uncompressed] of records.pairs) putPair.run(anyDigest, uncompressed);
      for (const [d, name] of records.compressors) putCompressor.run(d, name);
      for (const l of records.locations) {
        this.#sql.putLocation.run(l.transport, l.scope, l.digest, l.location, l.lastSeenUs);
      }
      db.prepare(
        'INSERT OR REPLACE INTO imported_caches (path, size, mtime_ns, outcome, imported_at_us) VALUES (?, ?, ?, ?, ?)',
      ).run(source.path, source.size, String(source.mtimeNs), source.outcome, Math.round(this.#now() * 1000));
    });
  }

  /** Runs `fn` in a transaction, with errors as CACHE_UNAVAILABLE (an import is asked for; it is not a hint). */
  #importStep<T>(what: string, mode: 'deferred' | 'immediate', fn: (db: BetterSqlite3.Database) => T): T {
    const db = this.#db;
    if (db === undefined) {
      throw new FerryError('CACHE_UNAVAILABLE', `blob-info cache ${this.path}: ${what}: the cache is closed`, {
        details: { path: this.path },
      });
    }
    try {
      return retryWhileBusy(() => this.#inTransaction[mode](() => fn(db)) as T, this.#busyTimeoutMs);
    } catch (e) {
      throw new FerryError('CACHE_UNAVAILABLE', `blob-info cache ${this.path}: ${what}: ${message(e)}`, {
        cause: e,
        details: { path: this.path },
      });
    }
  }

  close(): void {
    const db = this.#db;
    this.#db = undefined;
    if (db === undefined) return;
    try {
      db.close();
    } catch (e) {
      this.#warn(`closing the blob-info cache ${this.path}: ${message(e)}`, e);
    }
  }

  /** Runs lookups in one read transaction (one consistent snapshot); a failure is a warning and `fallback`. */
  #read<T>(what: string, fallback: T, fn: () => T): T {
    if (this.#db === undefined) return fallback;
    try {
      return retryWhileBusy(() => this.#inTransaction.deferred(fn) as T, this.#busyTimeoutMs);
    } catch (e) {
      this.#warn(`blob-info cache ${this.path}: ${what}: ${message(e)}`, e);
      return fallback;
    }
  }

  /** Runs a write in a BEGIN IMMEDIATE transaction; a failure is a warning (a cache never fails a copy). */
  #write(what: string, fn: () => void): void {
    if (this.#db === undefined) return;
    try {
      retryWhileBusy(() => this.#inTransaction.immediate(fn), this.#busyTimeoutMs);
    } catch (e) {
      this.#warn(`blob-info cache ${this.path}: ${what}: ${message(e)}`, e);
    }
  }
}

function validDigest(s: string | undefined): Digest | undefined {
  return s !== undefined && isDigest(s) ? s : undefined;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Opens the file, switches it to WAL and makes sure it holds this version's schema. */
function openDatabase(path: string, busyTimeoutMs: number): BetterSqlite3.Database {
  let db: BetterSqlite3.Database | undefined;
  try {
    const { Database, nativeBinding } = loadDriver();
    db = new Database(path, { timeout: busyTimeoutMs, ...(nativeBinding === undefined ? {} : { nativeBinding }) });
    const opened = db;
    opened.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    // Switching a new file to WAL can report SQLITE_BUSY without waiting while another process does the same.
    retryWhileBusy(() => opened.pragma('journal_mode = WAL'), busyTimeoutMs);
    // With WAL, NORMAL never corrupts the file; a power cut may lose the last records, which a cache can afford.
    opened.pragma('synchronous = NORMAL');
    // Only a new file needs the write lock; an existing cache opens without waiting for writers.
    if (retryWhileBusy(() => schemaVersion(opened), busyTimeoutMs) !== BLOB_INFO_CACHE_SCHEMA_VERSION) {
      retryWhileBusy(() => opened.transaction(() => ensureSchema(opened, path)).immediate(), busyTimeoutMs);
    }
    return opened;
  } catch (e) {
    try {
      db?.close();
    } catch {
      // The open failure is the one worth reporting.
    }
    if (e instanceof FerryError) throw e;
    throw new FerryError('CACHE_UNAVAILABLE', `cannot open the blob-info cache ${path}: ${message(e)}`, {
      cause: e,
      details: { path },
    });
  }
}

/** Runs `fn` again (after a short sleep) while SQLite reports SQLITE_BUSY, for at most `timeoutMs`. */
function retryWhileBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
    try {
      return fn();
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code !== 'string' || !code.startsWith('SQLITE_BUSY') || Date.now() + pause > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, pause);
    }
  }
}

function schemaVersion(db: BetterSqlite3.Database): number {
  return Number(db.pragma('user_version', { simple: true }));
}

/** Creates the schema in an empty file; refuses a file of another schema version or of another program. */
function ensureSchema(db: BetterSqlite3.Database, path: string): void {
  const version = schemaVersion(db);
  if (version === BLOB_INFO_CACHE_SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new FerryError(
      'CACHE_UNAVAILABLE',
      `the blob-info cache ${path} has schema version ${version}; this Ferry reads version ${BLOB_INFO_CACHE_SCHEMA_VERSION}`,
      { details: { path, version } },
    );
  }
  const objects = Number(db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get());
  if (objects !== 0) {
    throw new FerryError(
      'CACHE_UNAVAILABLE',
      `${path} is an SQLite database, but not a Ferry blob-info cache (it has tables and no schema version)`,
      {
        details: { path },
      },
    );
  }
  db.exec(SCHEMA);
}
