/**
 * The BoltDB page reader: files skopeo 1.9.3 wrote (read whole, meta selection, truncation and
 * damage in known places, seeded random damage), and built files for shapes skopeo does not
 * produce on demand (overflow pages, an extended freelist, deep nesting, shared elements).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BoltDBEntry, type BoltDBInfo, walkBoltDB } from '../../src/blobinfocache/boltdb.js';
import { isFerryError } from '../../src/errors.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import {
  BRANCH,
  boltFile,
  branchPage,
  bucketValue,
  FREELIST,
  freelistIds,
  freelistPage,
  inlineBucket,
  LEAF,
  leafPage,
  pageHeaders,
  readMeta,
  writeMeta,
} from './boltdb-builder.js';
import { skopeoCachePath, skopeoCopy } from './skopeo-boltdb.js';

let dir = '';
let fileNo = 0;

/** Writes `bytes` to a new file and walks it, returning entries as `bucket/…/key=value` lines. */
function walkBytes(bytes: Buffer): { lines: string[]; info: BoltDBInfo; path: string } {
  const path = join(dir, `f${fileNo++}.boltdb`);
  writeFileSync(path, bytes);
  const lines: string[] = [];
  const info = walkBoltDB(path, (e: BoltDBEntry) => lines.push(line(e)));
  return { lines, info, path };
}

function line(e: BoltDBEntry): string {
  return [...e.buckets.map(String), `${e.key}=${e.value.length > 40 ? `<${e.value.length} bytes>` : e.value}`].join(
    '/',
  );
}

/** Asserts that walking `bytes` fails with INVALID_BOLTDB for `rule`, naming the file. */
function assertBroken(bytes: Buffer, rule: string, what: string): void {
  const path = join(dir, `f${fileNo++}.boltdb`);
  writeFileSync(path, bytes);
  assert.throws(
    () => walkBoltDB(path, () => {}),
    (e: unknown) => {
      assert.ok(isFerryError(e, 'INVALID_BOLTDB'), `${what}: ${String(e)}`);
      assert.equal(e.details['rule'], rule, `${what}: ${e.message}`);
      assert.equal(e.details['path'], path);
      assert.ok(e.message.includes(path), e.message);
      return true;
    },
    what,
  );
}

before(async () => {
  dir = await makeTempDir('ferry-boltdb-');
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('walkBoltDB on a cache skopeo wrote', () => {
  let reg: TestRegistry;
  let image: MadeImage;
  /** The file's bytes, its page size and high-water mark. */
  let real: Buffer;
  let pageSize = 0;
  let hwm = 0;
  let current: 0 | 1 = 0;
  let entries: string[] = [];

  before(async () => {
    reg = await startRegistry();
    // Enough layers that skopeo's buckets outgrow one page, so the file has branch pages.
    image = await makeImage(join(dir, 'many'), { tag: 't', layers: 60, layerSize: 200, seed: 5 });
    const dataHome = join(dir, 'data');
    await skopeoCopy(dataHome, [`oci:${join(dir, 'many')}:t`, `docker://${reg.host}/many/img:t`]);
    real = readFileSync(skopeoCachePath(dataHome));
    pageSize = real.readUInt32LE(16 + 8);
    const m0 = readMeta(real, 0, pageSize);
    const m1 = readMeta(real, 1, pageSize);
    current = m0.txid > m1.txid ? 0 : 1;
    hwm = Number(readMeta(real, current, pageSize).highWaterMark);
    entries = walkBytes(real).lines;
  });
  after(async () => {
    await reg?.stop();
  });

  /** Pages of the current tree: below the high-water mark, not free, not the freelist page. */
  function treePages(flags: number): number[] {
    const m = readMeta(real, current, pageSize);
    const free = new Set(freelistIds(real, pageSize, Number(m.freelist)));
    return pageHeaders(real, pageSize, hwm)
      .filter((h) => h.flags === flags && !free.has(h.id) && h.id !== Number(m.freelist))
      .map((h) => h.id);
  }

  test('reads every location skopeo recorded, from the meta page with the higher txid', () => {
    const { info } = walkBytes(real);
    assert.equal(info.pageSize, pageSize);
    assert.equal(info.txid, readMeta(real, current, pageSize).txid);
    assert.equal(info.pageCount, hwm);
    assert.ok(treePages(BRANCH).length > 0, 'the file has a branch page');
    const layers = image.instances[0]?.layers ?? [];
    const blobs = [...layers.map((l) => l.digest), image.instances[0]?.config.digest];
    const locations = entries.filter((l) => l.startsWith(`knownLocations/docker/${reg.host}/`));
    assert.deepEqual(
      locations.map((l) => l.split('=')[0]).sort(),
      blobs.map((d) => `knownLocations/docker/${reg.host}/${d}/${reg.host}/many/img`).sort(),
    );
    for (const l of layers) assert.ok(entries.includes(`digestCompressor/${l.digest}=gzip`), l.digest);
  });

  test('falls back to the previous meta page when the current one fails its checksum', () => {
    const damaged = Buffer.from(real);
    damaged[current * pageSize + 16 + 48] ^= 0xff; // txid, covered by the checksum
    const { info, lines } = walkBytes(damaged);
    const previous = readMeta(real, current === 0 ? 1 : 0, pageSize);
    assert.equal(info.txid, previous.txid);
    assert.ok(info.txid < readMeta(real, current, pageSize).txid);
    // The previous transaction's tree is intact (bbolt frees its pages only after the next commit).
    assert.ok(lines.length > 0 && lines.length <= entries.length);
  });

  test('a file cut anywhere before its high-water mark is refused; cut after it, it reads the same', () => {
    const end = hwm * pageSize;
    const cuts = new Set<number>([0, 1, 15, 16, 79, 80, 81, pageSize - 1, pageSize + 80, end - 1]);
    for (let at = 0; at < end; at += 97) cuts.add(at);
    for (const at of cuts) assertBroken(real.subarray(0, at), 'truncated', `cut at ${at}`);
    for (const at of [end, end + 1, real.length - 1]) {
      if (at > real.length) continue;
      assert.deepEqual(walkBytes(real.subarray(0, at)).lines, entries, `cut at ${at}`);
    }
  });

  test('damage to the meta pages is refused with the rule it breaks', () => {
    const bothMetas = (change: (file: Buffer, index: 0 | 1) => void): Buffer => {
      const file = Buffer.from(real);
      change(file, 0);
      change(file, 1);
      return file;
    };
    const withMeta = (edit: (m: ReturnType<typeof readMeta>) => void) =>
      bothMetas((file, i) => {
        const m = readMeta(file, i, pageSize);
        edit(m);
        writeMeta(file, i, pageSize, m);
      });
    assertBroken(
      bothMetas((f, i) => f.writeUInt32LE(0x12345678, i * pageSize + 16)),
      'magic',
      'no magic',
    );
    assertBroken(
      withMeta((m) => {
        m.version = 3;
      }),
      'version',
      'version 3',
    );
    assertBroken(
      bothMetas((f, i) => {
        f[i * pageSize + 16 + 40] ^= 1;
      }),
      'meta-checksum',
      'checksums',
    );
    assertBroken(
      withMeta((m) => {
        m.pageSize = 1000;
      }),
      'page-size',
      'page size 1000',
    );
    assertBroken(
      withMeta((m) => {
        m.root = BigInt(hwm);
      }),
      'meta-fields',
      'root past the high-water mark',
    );
    assertBroken(
      withMeta((m) => {
        m.freelist = 1n;
      }),
      'meta-fields',
      'freelist on a meta page',
    );
    assertBroken(
      withMeta((m) => {
        m.highWaterMark = BigInt(real.length / pageSize + 5);
      }),
      'truncated',
      'high-water mark past the end',
    );
  });

  test('damage to a page of the tree is refused with the rule it breaks', () => {
    const branch =
      treePages(BRANCH).find((id) => real.readUInt16LE(id * pageSize + 10) >= 2) ?? assert.fail('a branch of two');
    const leaf = treePages(LEAF)[0] ?? -1;
    const m = readMeta(real, current, pageSize);
    const free = freelistIds(real, pageSize, Number(m.freelist));
    const at = (page: number, offset: number) => page * pageSize + offset;
    const edit = (fn: (f: Buffer) => void): Buffer => {
      const f = Buffer.from(real);
      fn(f);
      return f;
    };
    const firstChild = at(branch, 16 + 8);
    assertBroken(
      edit((f) => f.writeBigUInt64LE(BigInt(hwm + 7), firstChild)),
      'page-id',
      'child past the high-water mark',
    );
    assertBroken(
      edit((f) => f.writeBigUInt64LE(1n, firstChild)),
      'page-id',
      'child on a meta page',
    );
    assertBroken(
      edit((f) => f.writeBigUInt64LE(BigInt(branch), firstChild)),
      'page-reused',
      'branch pointing at itself',
    );
    assertBroken(
      edit((f) => f.writeBigUInt64LE(f.readBigUInt64LE(firstChild + 16), firstChild)),
      'page-reused',
      'two elements, one child',
    );
    assert.ok(free.length > 0, 'skopeo’s file has free pages');
    assertBroken(
      edit((f) => f.writeBigUInt64LE(BigInt(free[0] ?? 0), firstChild)),
      'page-free',
      'child on the freelist',
    );
    assertBroken(
      edit((f) => f.writeUInt16LE(0x04, at(leaf, 8))),
      'page-type',
      'leaf flagged meta',
    );
    assertBroken(
      edit((f) => f.writeUInt16LE(LEAF | BRANCH, at(leaf, 8))),
      'page-type',
      'two flags',
    );
    assertBroken(
      edit((f) => f.writeBigUInt64LE(BigInt(leaf + 1), at(leaf, 0))),
      'page-header',
      'page calling itself another',
    );
    assertBroken(
      edit((f) => f.writeUInt16LE(0xffff, at(leaf, 10))),
      'element-bounds',
      'count past the page',
    );
    assertBroken(
      edit((f) => f.writeUInt32LE(0xfffffff0, at(leaf, 16 + 4))),
      'element-bounds',
      'key past the page',
    );
    assertBroken(
      edit((f) => f.writeUInt32LE(0xffffffff, at(leaf, 12))),
      'page-bounds',
      'overflow past the end',
    );
    assertBroken(
      edit((f) => f.writeUInt16LE(LEAF, at(Number(m.freelist), 8))),
      'page-type',
      'freelist flagged leaf',
    );
    assertBroken(
      edit((f) => f.writeBigUInt64LE(BigInt(hwm + 1), at(Number(m.freelist), 16))),
      'freelist',
      'freelist naming a page past the end',
    );
  });

  test('seeded random damage ends in a full read or INVALID_BOLTDB, never another failure', () => {
    let seed = 0x9e3779b9;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const end = hwm * pageSize;
    const outcomes = new Map<string, number>();
    const started = Date.now();
    for (let i = 0; i < 1500; i++) {
      const f = Buffer.from(real);
      // Headers and element tables are where damage matters: aim there half the time.
      const page = random(hwm);
      const offset = i % 2 === 0 ? page * pageSize + random(64) : random(end);
      if (i % 3 === 0) f.writeUInt32LE(random(0xffffffff), Math.min(offset, end - 4));
      else f[offset] = random(256);
      const path = join(dir, 'fuzz.boltdb');
      writeFileSync(path, f);
      try {
        walkBoltDB(path, () => {});
        outcomes.set('read', (outcomes.get('read') ?? 0) + 1);
      } catch (e) {
        assert.ok(isFerryError(e, 'INVALID_BOLTDB'), `mutation ${i} at ${offset}: ${String(e)}`);
        const rule = String(e.details['rule']);
        outcomes.set(rule, (outcomes.get(rule) ?? 0) + 1);
      }
    }
    assert.ok((outcomes.get('read') ?? 0) < 1500, 'some damage was caught');
    assert.ok(Date.now() - started < 60_000, 'no mutation made the reader crawl');
  });
});

describe('walkBoltDB on built files', () => {
  const PS = 1024;

  test('reads nested, inline and overflowing buckets below a branch, with an extended freelist', () => {
    const big = Buffer.alloc(3000, 0x61);
    const pages = [
      leafPage(2, [{ key: 'k1', value: 'v1' }], PS),
      leafPage(3, [{ key: 'k2', value: big }], PS), // 3 pages: 3, 4, 5
      branchPage(
        6,
        [
          { key: 'k1', page: 2 },
          { key: 'k2', page: 3 },
        ],
        PS,
      ),
      leafPage(
        7,
        [
          { key: 'deep', value: bucketValue(6), bucket: true },
          {
            key: 'inline',
            value: inlineBucket([
              { key: 'x', value: '1' },
              { key: 'y', value: '' },
            ]),
            bucket: true,
          },
          { key: 'plain', value: 'p' },
        ],
        PS,
      ),
      freelistPage(8, [9, 10], PS, true),
    ];
    const file = boltFile(PS, [...pages, leafPage(9, [], PS), leafPage(10, [], PS)], 7, 8);
    assert.equal(file.readUInt32LE(3 * PS + 12), 2, 'page 3 overflows by two pages');
    const { lines, info } = walkBytes(file);
    assert.deepEqual(lines, ['deep/k1=v1', 'deep/k2=<3000 bytes>', 'inline/x=1', 'inline/y=', 'plain=p']);
    assert.equal(info.txid, 2n);
    assert.equal(info.pageSize, PS);
  });

  test('a page on the freelist that the tree uses is refused', () => {
    const file = boltFile(PS, [leafPage(2, [{ key: 'a', value: 'b' }], PS), freelistPage(3, [2], PS)], 2, 3);
    assertBroken(file, 'page-free', 'root on the freelist');
  });

  test('branches and buckets nested past the limit are refused, not followed', () => {
    const pages = [leafPage(2, [{ key: 'a', value: 'b' }], PS)];
    for (let id = 3; id < 3 + 70; id++) pages.push(branchPage(id, [{ key: 'a', page: id - 1 }], PS));
    assertBroken(boltFile(PS, pages, 72), 'depth', '70 branch levels');
    const chain = [leafPage(2, [{ key: 'a', value: 'b' }], PS)];
    for (let id = 3; id < 3 + 70; id++)
      chain.push(leafPage(id, [{ key: 'b', value: bucketValue(id - 1), bucket: true }], PS));
    assertBroken(boltFile(PS, chain, 72), 'depth', '70 nested buckets');
  });

  test('elements that all point at one inline bucket are refused before the work multiplies', () => {
    const inner = inlineBucket(Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: 'v' })));
    // Make 3000 elements, every one naming the same key and inline bucket.
    const count = 3000;
    const body = Buffer.alloc(16 + count * 16 + 1 + inner.length);
    body.writeBigUInt64LE(2n, 0);
    body.writeUInt16LE(LEAF, 8);
    body.writeUInt16LE(count, 10);
    const dataAt = 16 + count * 16;
    body.write('b', dataAt);
    inner.copy(body, dataAt + 1);
    for (let i = 0; i < count; i++) {
      const at = 16 + i * 16;
      body.writeUInt32LE(1, at);
      body.writeUInt32LE(dataAt - at, at + 4);
      body.writeUInt32LE(1, at + 8);
      body.writeUInt32LE(inner.length, at + 12);
    }
    const pages = Math.ceil(body.length / PS);
    body.writeUInt32LE(pages - 1, 12);
    const padded = Buffer.alloc(pages * PS);
    body.copy(padded);
    assertBroken(boltFile(PS, [padded], 2), 'element-bounds', 'shared inline bucket');
  });

  test('an inline bucket holding a bucket, or a bucket value shorter than its header, is refused', () => {
    const nested = inlineBucket([{ key: 'inner', value: inlineBucket([]), bucket: true }]);
    assertBroken(
      boltFile(PS, [leafPage(2, [{ key: 'outer', value: nested, bucket: true }], PS)], 2),
      'bucket-header',
      'inline bucket in an inline bucket',
    );
    assertBroken(
      boltFile(PS, [leafPage(2, [{ key: 'b', value: 'short', bucket: true }], PS)], 2),
      'bucket-header',
      'short bucket value',
    );
  });

  test('a branch page with no elements, and a freelist longer than its page, are refused', () => {
    const empty = branchPage(3, [], PS);
    assertBroken(boltFile(PS, [leafPage(2, [], PS), empty], 3), 'element-bounds', 'empty branch');
    const list = freelistPage(3, [4], PS, true);
    list.writeBigUInt64LE(1n << 40n, 16);
    assertBroken(boltFile(PS, [leafPage(2, [], PS), list, leafPage(4, [], PS)], 2, 3), 'freelist', 'huge freelist');
    assert.equal(list.readUInt16LE(8), FREELIST);
  });

  test('a missing file, a directory or a FIFO is not read (and a FIFO does not stall the reader)', () => {
    assert.throws(
      () => walkBoltDB(join(dir, 'absent.boltdb'), () => {}),
      (e: unknown) => isFerryError(e, 'CACHE_UNAVAILABLE') && e.details['path'] === join(dir, 'absent.boltdb'),
    );
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { recursive: true });
    assert.throws(
      () => walkBoltDB(sub, () => {}),
      (e: unknown) => isFerryError(e, 'CACHE_UNAVAILABLE') && e.message.includes('not a regular file'),
    );
    const fifo = join(dir, 'fifo.boltdb');
    execFileSync('mkfifo', [fifo]);
    assert.throws(
      () => walkBoltDB(fifo, () => {}),
      (e: unknown) => isFerryError(e, 'CACHE_UNAVAILABLE') && e.message.includes('not a regular file'),
    );
  });
});
