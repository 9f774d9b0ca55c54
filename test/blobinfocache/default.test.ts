import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultBlobInfoCachePath, openBlobInfoCache, SqliteBlobInfoCache } from '../../src/blobinfocache/index.js';
import { isFerryError } from '../../src/errors.js';
import { digestOfChar } from './conformance.js';

const FILE = 'blob-info-cache-v1.sqlite';
const A = digestOfChar('a');
const U = digestOfChar('b');

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-bic-default-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('defaultBlobInfoCachePath', () => {
  test('uses XDG_DATA_HOME when it is an absolute path', () => {
    assert.equal(
      defaultBlobInfoCachePath({ XDG_DATA_HOME: '/data/alice', HOME: '/home/alice' }, { uid: 1000 }),
      `/data/alice/ferry/cache/${FILE}`,
    );
  });

  test('falls back to ~/.local/share when XDG_DATA_HOME is unset, empty or relative', () => {
    for (const xdg of [undefined, '', 'relative/share']) {
      const env = xdg === undefined ? { HOME: '/home/alice' } : { HOME: '/home/alice', XDG_DATA_HOME: xdg };
      assert.equal(
        defaultBlobInfoCachePath(env, { uid: 1000 }),
        `/home/alice/.local/share/ferry/cache/${FILE}`,
        `XDG_DATA_HOME=${xdg}`,
      );
    }
  });

  test('uses the home directory it is given when HOME is not set', () => {
    assert.equal(
      defaultBlobInfoCachePath({}, { uid: 1000, homeDir: '/srv/bob' }),
      `/srv/bob/.local/share/ferry/cache/${FILE}`,
    );
  });

  test('puts root’s cache in /var/lib/ferry/cache whatever the environment says', () => {
    assert.equal(
      defaultBlobInfoCachePath({ XDG_DATA_HOME: '/data/root', HOME: '/root' }, { uid: 0 }),
      `/var/lib/ferry/cache/${FILE}`,
    );
  });

  test('follows this process’s user id when none is given', () => {
    const path = defaultBlobInfoCachePath({ XDG_DATA_HOME: '/data/me', HOME: '/home/me' });
    const expected = process.geteuid?.() === 0 ? `/var/lib/ferry/cache/${FILE}` : `/data/me/ferry/cache/${FILE}`;
    assert.equal(path, expected);
  });
});

describe('openBlobInfoCache', () => {
  test('takes the default from FERRY_BLOB_CACHE when no spec is given', () => {
    const none = openBlobInfoCache(undefined, { env: { FERRY_BLOB_CACHE: 'none', HOME: '/nonexistent' }, uid: 1000 });
    const memory = openBlobInfoCache(undefined, {
      env: { FERRY_BLOB_CACHE: 'memory', HOME: '/nonexistent' },
      uid: 1000,
    });
    assert.equal(none.kind, 'none');
    assert.equal(memory.kind, 'memory');
    none.close();
    memory.close();
  });

  test('opens the none and memory caches by name', () => {
    const none = openBlobInfoCache('none');
    const memory = openBlobInfoCache('memory');
    assert.equal(none.kind, 'none');
    assert.equal(memory.kind, 'memory');
    memory.recordDigestUncompressedPair(A, U);
    assert.equal(memory.uncompressedDigest(A), U);
    none.close();
    memory.close();
  });

  test('opens SQLite at the default path by default, creating its directories with mode 0700', () => {
    const xdg = join(dir, 'xdg');
    const warnings: string[] = [];
    const cache = openBlobInfoCache(undefined, {
      env: { XDG_DATA_HOME: xdg },
      uid: 1000,
      onWarning: (m) => warnings.push(m),
    });
    try {
      assert.equal(cache.kind, 'sqlite');
      assert.ok(cache instanceof SqliteBlobInfoCache);
      assert.equal(cache.path, join(xdg, 'ferry', 'cache', FILE));
      assert.ok(existsSync(cache.path));
      for (const created of [join(xdg, 'ferry'), join(xdg, 'ferry', 'cache')]) {
        assert.equal(statSync(created).mode & 0o777, 0o700, created);
      }
      assert.deepEqual(warnings, []);
    } finally {
      cache.close();
    }
  });

  test('opens SQLite at a path it is given, and keeps what was recorded for the next open', () => {
    const path = join(dir, 'given', 'nested', 'cache.sqlite');
    const first = openBlobInfoCache(path);
    assert.equal(first.kind, 'sqlite');
    first.recordDigestUncompressedPair(A, U);
    first.close();
    const second = openBlobInfoCache(path);
    assert.equal(second.uncompressedDigest(A), U);
    second.close();
  });

  test('puts the cache file inside a directory it is given', () => {
    const target = join(dir, 'a-directory');
    mkdirSync(target);
    const cache = openBlobInfoCache(target);
    try {
      assert.ok(cache instanceof SqliteBlobInfoCache);
      assert.equal(cache.path, join(target, FILE));
    } finally {
      cache.close();
    }
  });

  test('falls back to memory with a warning when the directory cannot be created', () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const warnings: string[] = [];
    const cache = openBlobInfoCache(join(blocker, 'cache', FILE), { onWarning: (m) => warnings.push(m) });
    assert.equal(cache.kind, 'memory');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /in-memory cache/);
    // The fallback still works as a cache.
    cache.recordDigestUncompressedPair(A, U);
    assert.equal(cache.uncompressedDigest(A), U);
    cache.close();
  });

  test('falls back to memory with a warning naming the file when it is corrupt', () => {
    const xdg = join(dir, 'corrupt');
    const path = join(xdg, 'ferry', 'cache', FILE);
    mkdirSync(join(xdg, 'ferry', 'cache'), { recursive: true });
    writeFileSync(path, Buffer.alloc(4096, 0x5a));
    const warnings: { message: string; cause: unknown }[] = [];
    const cache = openBlobInfoCache(undefined, {
      env: { XDG_DATA_HOME: xdg },
      uid: 1000,
      onWarning: (message, cause) => warnings.push({ message, cause }),
    });
    assert.equal(cache.kind, 'memory');
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]?.message.includes(path));
    assert.ok(isFerryError(warnings[0]?.cause, 'CACHE_UNAVAILABLE'));
    cache.close();
  });
});
