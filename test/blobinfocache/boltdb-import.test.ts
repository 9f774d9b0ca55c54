/**
 * Importing containers/image's BoltDB cache: what skopeo 1.9.3 recorded while pushing, compressing,
 * decompressing and recompressing real images (the expected records come from the images and the
 * manifests skopeo wrote, not from the reader), the SQLite rows the import makes, the once-per-file
 * import when the default cache opens, and a Ferry copy that mounts what skopeo pushed.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  containersBoltDBCachePath,
  goTimeToMicros,
  importBoltDBBlobInfoCache,
  readBoltDBBlobInfoCache,
} from '../../src/blobinfocache/boltdb-import.js';
import { openBlobInfoCache, SqliteBlobInfoCache } from '../../src/blobinfocache/index.js';
import { copyImage } from '../../src/copy/index.js';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { parseDockerImageReference } from '../../src/transports/docker/reference.js';
import { parseOciReference } from '../../src/transports/oci-layout/reference.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { boltFile, bucketValue, inlineBucket, leafPage } from './boltdb-builder.js';
import { type RunWindow, skopeoCachePath, skopeoCopy } from './skopeo-boltdb.js';

interface LocationRow {
  transport: string;
  scope: string;
  digest: string;
  location: string;
  last_seen_us: number;
}

let dir = '';
let reg: TestRegistry;
let gz: MadeImage;
let raw: MadeImage;
/** skopeo's BoltDB file after the four copies below. */
let boltPath = '';
/** The layer digests skopeo wrote when it compressed `raw` with gzip (pushed) and zstd (to an OCI layout). */
let rawGzip: Digest[] = [];
let rawZstd: Digest[] = [];
const windows: Record<'pushGz' | 'pushRaw' | 'pullGz' | 'zstd', RunWindow> = {} as never;

const layersOf = (m: MadeImage) => m.instances[0]?.layers ?? assert.fail('an image with layers');
const configOf = (m: MadeImage) => (m.instances[0]?.config.digest ?? assert.fail('a config')) as Digest;

async function manifestLayers(reference: string): Promise<Digest[]> {
  const r = await runSkopeo(['inspect', '--raw', '--tls-verify=false', reference]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { layers: { digest: Digest }[] }).layers.map((l) => l.digest);
}

/** What skopeo must have recorded, derived from the images and the manifests it wrote. */
function expectedPairs(): [string, string][] {
  return [
    ...layersOf(gz).map((l): [string, string] => [l.digest, l.diffID]),
    ...rawGzip.map((d, i): [string, string] => [d, layersOf(raw)[i]?.diffID ?? '']),
    ...rawZstd.map((d, i): [string, string] => [d, layersOf(raw)[i]?.diffID ?? '']),
  ].sort();
}

function expectedCompressors(): [string, string][] {
  return [
    ...layersOf(gz).map((l): [string, string] => [l.digest, 'gzip']),
    ...layersOf(gz).map((l): [string, string] => [l.diffID, 'uncompressed']),
    [configOf(gz), 'uncompressed'],
    ...layersOf(raw).map((l): [string, string] => [l.diffID, 'uncompressed']),
    [configOf(raw), 'uncompressed'],
    ...rawGzip.map((d): [string, string] => [d, 'gzip']),
    ...rawZstd.map((d): [string, string] => [d, 'zstd']),
  ].sort() as [string, string][];
}

/** (transport, scope, digest, location) of every location, in Ferry's form (the repository path). */
function expectedLocations(): string[] {
  return [
    ...[...layersOf(gz).map((l) => l.digest), configOf(gz)].map((d) => `docker ${reg.host} ${d} gz/img`),
    ...[...rawGzip, configOf(raw)].map((d) => `docker ${reg.host} ${d} raw/img`),
  ].sort();
}

/** The window a location's time must fall in: gz/img was pushed, then pulled; raw/img only pushed. */
function windowOf(location: string): [number, number] {
  const [from, to] = location === 'gz/img' ? [windows.pushGz, windows.pullGz] : [windows.pushRaw, windows.pushRaw];
  return [from.startMs * 1000, (to.endMs + 1) * 1000];
}

before(async () => {
  dir = await makeTempDir('ferry-boltdb-import-');
  reg = await startRegistry({ accessLog: true });
  gz = await makeImage(join(dir, 'gz'), { tag: 't', layers: 2, layerSize: 4096, seed: 1 });
  raw = await makeImage(join(dir, 'raw'), { tag: 't', layers: 2, layerSize: 4096, seed: 2, compression: 'none' });
  const dataHome = join(dir, 'skopeo-data');
  windows.pushGz = await skopeoCopy(dataHome, [`oci:${dir}/gz:t`, `docker://${reg.host}/gz/img:t`]);
  windows.pushRaw = await skopeoCopy(dataHome, [
    '--dest-compress',
    `oci:${dir}/raw:t`,
    `docker://${reg.host}/raw/img:t`,
  ]);
  windows.pullGz = await skopeoCopy(dataHome, ['--dest-decompress', `docker://${reg.host}/gz/img:t`, `dir:${dir}/d1`]);
  windows.zstd = await skopeoCopy(dataHome, [
    '--dest-compress-format',
    'zstd',
    '--dest-compress',
    `oci:${dir}/raw:t`,
    `oci:${dir}/zst:t`,
  ]);
  boltPath = skopeoCachePath(dataHome);
  rawGzip = await manifestLayers(`docker://${reg.host}/raw/img:t`);
  rawZstd = await manifestLayers(`oci:${dir}/zst:t`);
});
after(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A private XDG_DATA_HOME holding a copy of skopeo's file where containers/image keeps it. */
function dataHomeWithBoltDB(name: string, bytes?: Buffer): { env: NodeJS.ProcessEnv; bolt: string; ferry: string } {
  const home = join(dir, name);
  const bolt = join(home, 'containers', 'cache', 'blob-info-cache-v1.boltdb');
  mkdirSync(join(home, 'containers', 'cache'), { recursive: true });
  if (bytes === undefined) copyFileSync(boltPath, bolt);
  else writeFileSync(bolt, bytes);
  return { env: { XDG_DATA_HOME: home }, bolt, ferry: join(home, 'ferry', 'cache', 'blob-info-cache-v1.sqlite') };
}

function sqliteRows(path: string): {
  pairs: [string, string][];
  compressors: [string, string][];
  locations: LocationRow[];
} {
  const db = new Database(path, { readonly: true });
  try {
    return {
      pairs: db
        .prepare<[], { any_digest: string; uncompressed_digest: string }>(
          'SELECT any_digest, uncompressed_digest FROM digest_uncompressed_pairs',
        )
        .all()
        .map((r): [string, string] => [r.any_digest, r.uncompressed_digest])
        .sort(),
      compressors: db
        .prepare<[], { digest: string; compressor: string }>('SELECT digest, compressor FROM digest_compressors')
        .all()
        .map((r): [string, string] => [r.digest, r.compressor])
        .sort(),
      locations: db.prepare<[], LocationRow>('SELECT * FROM known_locations').all(),
    };
  } finally {
    db.close();
  }
}

const locationKeys = (rows: readonly { transport: string; scope: string; digest: string; location: string }[]) =>
  rows.map((r) => `${r.transport} ${r.scope} ${r.digest} ${r.location}`).sort();

describe('reading the BoltDB cache skopeo 1.9.3 wrote', () => {
  test('holds exactly the pairs, compressors and locations skopeo learned, with their times', () => {
    const contents = readBoltDBBlobInfoCache(boltPath);
    assert.deepEqual([...contents.pairs].sort(), expectedPairs());
    assert.deepEqual([...contents.compressors].sort(), expectedCompressors());
    assert.deepEqual(locationKeys(contents.locations), expectedLocations());
    for (const l of contents.locations) {
      const [from, to] = windowOf(l.location);
      assert.ok(
        l.lastSeenUs >= from && l.lastSeenUs <= to,
        `${l.digest} seen at ${l.lastSeenUs}, not in ${from}..${to}`,
      );
    }
    assert.equal(contents.malformed, 0);
    assert.equal(contents.ignored, 0);
  });
});

describe('importBoltDBBlobInfoCache', () => {
  test('puts the same records into the SQLite cache, where copies find them', () => {
    const path = join(dir, 'explicit.sqlite');
    const cache = new SqliteBlobInfoCache(path);
    try {
      const result = importBoltDBBlobInfoCache(boltPath, cache);
      assert.deepEqual(result, {
        path: boltPath,
        pairs: expectedPairs().length,
        compressors: expectedCompressors().length,
        locations: expectedLocations().length,
        malformed: 0,
        ignored: 0,
      });
      const rows = sqliteRows(path);
      assert.deepEqual(rows.pairs, expectedPairs());
      assert.deepEqual(rows.compressors, expectedCompressors());
      assert.deepEqual(locationKeys(rows.locations), expectedLocations());
      for (const r of rows.locations) {
        const [from, to] = windowOf(r.location);
        assert.ok(r.last_seen_us >= from && r.last_seen_us <= to, `${r.digest}: ${r.last_seen_us}`);
      }

      const layer = layersOf(gz)[0] ?? assert.fail();
      const found = cache.candidateLocations('docker', reg.host, layer.digest as Digest, { canSubstitute: false });
      assert.deepEqual(
        found.map((c) => [c.digest, c.location, c.compressorName]),
        [[layer.digest, 'gz/img', 'gzip']],
      );
      const diffID = layersOf(raw)[0]?.diffID as Digest;
      assert.equal(cache.uncompressedDigest(rawZstd[0] as Digest), diffID);
      // The raw layer may be replaced by skopeo's gzip push of it (seen in raw/img) or its zstd form.
      const substitutes = cache.candidateLocations('docker', reg.host, diffID, { canSubstitute: true });
      assert.ok(substitutes.some((c) => c.digest === rawGzip[0] && c.location === 'raw/img'));
      assert.ok(substitutes.some((c) => c.digest === rawZstd[0] && c.compressorName === 'zstd'));
    } finally {
      cache.close();
    }
  });

  test('keeps what the SQLite cache already knows: its pairs and compressors, and the later of two times', () => {
    const path = join(dir, 'merge.sqlite');
    const layers = layersOf(gz);
    const [first, second] = [layers[0] ?? assert.fail(), layers[1] ?? assert.fail()];
    const other = configOf(raw);
    const late = (windows.zstd.endMs + 60_000) * 1000;
    let clock = late / 1000;
    const cache = new SqliteBlobInfoCache(path, { now: () => clock });
    try {
      cache.recordDigestUncompressedPair(first.digest as Digest, other);
      cache.recordDigestCompressorName(first.digest as Digest, 'zstd');
      cache.recordKnownLocation('docker', reg.host, first.digest as Digest, 'gz/img'); // later than skopeo's
      clock = 1_000; // 1970: earlier than skopeo's
      cache.recordKnownLocation('docker', reg.host, second.digest as Digest, 'gz/img');
      importBoltDBBlobInfoCache(boltPath, cache);
      const rows = sqliteRows(path);
      assert.ok(rows.pairs.some(([d, u]) => d === first.digest && u === other));
      assert.ok(rows.pairs.some(([d, u]) => d === second.digest && u === second.diffID));
      assert.ok(rows.compressors.some(([d, c]) => d === first.digest && c === 'zstd'));
      const seen = (d: string) => rows.locations.find((r) => r.digest === d && r.location === 'gz/img')?.last_seen_us;
      assert.equal(seen(first.digest), late);
      const [from, to] = windowOf('gz/img');
      const secondSeen = seen(second.digest) ?? 0;
      assert.ok(secondSeen >= from && secondSeen <= to, String(secondSeen));
    } finally {
      cache.close();
    }
  });

  test('leaves out entries Ferry cannot use, and counts them', () => {
    const A = `sha256:${'a'.repeat(64)}`;
    const B = `sha256:${'b'.repeat(64)}`;
    const C = `sha256:${'c'.repeat(64)}`;
    const U = `sha256:${'e'.repeat(64)}`;
    const time = Buffer.from('010000000ee2a6d415392572d60000', 'hex');
    const PS = 4096;
    const locations = leafPage(
      3,
      [
        {
          key: 'docker',
          value: bucketValue(4),
          bucket: true,
        },
        { key: 'oci', value: bucketValue(7), bucket: true },
      ],
      PS,
    );
    const scope = leafPage(
      4,
      [
        // Docker Hub: containers/image's scope is the domain, Ferry's the host it talks to.
        { key: 'docker.io', value: bucketValue(9), bucket: true },
        {
          key: 'reg.example:5000',
          value: bucketValue(5),
          bucket: true,
        },
      ],
      PS,
    );
    const digests = leafPage(
      5,
      [
        {
          key: A,
          value: inlineBucket([
            { key: 'reg.example:5000/ok/repo', value: time },
            { key: 'other.example/repo', value: time }, // another registry than the scope
            { key: 'reg.example:5000/repo:tag', value: time }, // not a repository name
            { key: 'reg.example:5000/bad/time', value: Buffer.from([1, 2, 3]) },
          ]),
          bucket: true,
        },
        { key: 'not-a-digest', value: inlineBucket([{ key: 'reg.example:5000/x', value: time }]), bucket: true },
      ],
      PS,
    );
    const root = leafPage(
      2,
      [
        { key: 'digestByUncompressed', value: bucketValue(6), bucket: true },
        {
          key: 'digestCompressor',
          value: inlineBucket([
            { key: A, value: 'bzip2' },
            { key: B, value: 'unknown' },
            { key: C, value: 'zstd:chunked' },
            { key: 'sha256:short', value: 'gzip' },
          ]),
          bucket: true,
        },
        { key: 'knownLocations', value: bucketValue(3), bucket: true },
        {
          key: 'uncompressedDigest',
          value: inlineBucket([
            { key: A, value: U },
            { key: B, value: 'garbage' },
          ]),
          bucket: true,
        },
        { key: 'uncompressedDigestByTOC', value: inlineBucket([{ key: C, value: U }]), bucket: true },
      ],
      PS,
    );
    // The inverse bucket: U → {A (uncompressedDigest has it too), C (only here: imported from here)}.
    const inverse = leafPage(
      6,
      [
        {
          key: U,
          value: inlineBucket([
            { key: A, value: '' },
            { key: C, value: '' },
          ]),
          bucket: true,
        },
      ],
      PS,
    );
    // Another transport's locations (containers/image records only docker's).
    const ociScope = leafPage(7, [{ key: 'somewhere', value: bucketValue(8), bucket: true }], PS);
    const ociDigests = leafPage(8, [{ key: A, value: inlineBucket([{ key: 'x', value: time }]), bucket: true }], PS);
    const hub = leafPage(
      9,
      [{ key: C, value: inlineBucket([{ key: 'docker.io/library/busybox', value: time }]), bucket: true }],
      PS,
    );
    const file = boltFile(PS, [root, locations, scope, digests, inverse, ociScope, ociDigests, hub], 2);
    const path = join(dir, 'odd.boltdb');
    writeFileSync(path, file);
    const contents = readBoltDBBlobInfoCache(path);
    assert.deepEqual([...contents.pairs].sort(), [
      [A, U],
      [C, U],
    ]);
    assert.deepEqual([...contents.compressors], [[C, 'zstd']]);
    assert.deepEqual(locationKeys(contents.locations), [
      `docker reg.example:5000 ${A} ok/repo`,
      `docker registry-1.docker.io ${C} library/busybox`,
    ]);
    // Malformed: 3 locations, the non-digest bucket's location, 'sha256:short', the garbage pair.
    assert.equal(contents.malformed, 6);
    // Ignored: bzip2, unknown, the TOC pair, the oci location.
    assert.equal(contents.ignored, 4);
  });
});

describe('opening the default cache', () => {
  test('imports containers/image’s cache once, and again when the file has changed', () => {
    const { env, bolt, ferry } = dataHomeWithBoltDB('once');
    const warnings: string[] = [];
    const open = () => openBlobInfoCache(undefined, { env, uid: 1000, onWarning: (m) => warnings.push(m) });
    let cache = open();
    assert.equal(cache.kind, 'sqlite');
    cache.close();
    assert.deepEqual(locationKeys(sqliteRows(ferry).locations), expectedLocations());
    const db = new Database(ferry);
    const marker = db.prepare('SELECT path, size, mtime_ns, outcome FROM imported_caches').all();
    assert.deepEqual(marker, [
      {
        path: bolt,
        size: readFileSync(bolt).length,
        mtime_ns: String(statSync(bolt, { bigint: true }).mtimeNs),
        outcome: 'imported',
      },
    ]);
    db.exec('DELETE FROM known_locations');
    db.close();

    cache = open();
    cache.close();
    assert.deepEqual(sqliteRows(ferry).locations, [], 'the same file is not imported twice');

    utimesSync(bolt, new Date(), new Date(Date.now() + 5_000));
    cache = open();
    cache.close();
    assert.deepEqual(locationKeys(sqliteRows(ferry).locations), expectedLocations(), 'a changed file is imported');
    assert.deepEqual(warnings, []);
  });

  test('skips a missing BoltDB cache silently', () => {
    const home = join(dir, 'absent');
    const warnings: string[] = [];
    const cache = openBlobInfoCache(undefined, {
      env: { XDG_DATA_HOME: home },
      uid: 1000,
      onWarning: (m) => warnings.push(m),
    });
    assert.equal(cache.kind, 'sqlite');
    cache.close();
    assert.deepEqual(warnings, []);
    assert.deepEqual(sqliteRows(join(home, 'ferry', 'cache', 'blob-info-cache-v1.sqlite')).locations, []);
  });

  test('warns once about a damaged BoltDB cache and still opens the SQLite cache', () => {
    const damaged = readFileSync(boltPath).subarray(0, 3 * 4096);
    const { env, bolt, ferry } = dataHomeWithBoltDB('damaged', damaged);
    const warnings: string[] = [];
    const open = () => openBlobInfoCache(undefined, { env, uid: 1000, onWarning: (m) => warnings.push(m) });
    let cache = open();
    assert.equal(cache.kind, 'sqlite');
    cache.close();
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.ok(warnings[0]?.includes(bolt) && warnings[0].includes('pages are in use'), warnings[0]);
    cache = open();
    cache.close();
    assert.equal(warnings.length, 1, 'the same damaged file is not reported again');
    assert.deepEqual(sqliteRows(ferry).locations, []);

    const explicit = new SqliteBlobInfoCache(join(dir, 'explicit-damaged.sqlite'));
    try {
      assert.throws(
        () => importBoltDBBlobInfoCache(bolt, explicit),
        (e: unknown) => isFerryError(e, 'INVALID_BOLTDB') && e.details['rule'] === 'truncated',
      );
    } finally {
      explicit.close();
    }
  });

  test('does not import when told not to, or when a cache is named', () => {
    const { env, ferry } = dataHomeWithBoltDB('off');
    openBlobInfoCache(undefined, { env, uid: 1000, importBoltDBCache: false }).close();
    assert.deepEqual(sqliteRows(ferry).locations, []);
    const named = join(dir, 'named.sqlite');
    openBlobInfoCache(named, { env, uid: 1000 }).close();
    assert.deepEqual(sqliteRows(named).locations, []);
  });

  test('a Ferry copy mounts the blobs skopeo pushed, from the imported records', async () => {
    const { env } = dataHomeWithBoltDB('mount');
    const cache = openBlobInfoCache(undefined, { env, uid: 1000 });
    try {
      const from = (await readFile(reg.logPath)).length;
      await copyImage(parseOciReference(`${dir}/gz:t`), parseDockerImageReference(`//${reg.host}/mounted/img:t`), {
        destinationOptions: { tlsVerify: false },
        blobInfoCache: cache,
      });
      await new Promise((r) => setTimeout(r, 100));
      const log = (await readFile(reg.logPath)).subarray(from).toString('utf8');
      const requests = [...log.matchAll(/"([A-Z]+) (\S+) HTTP\/[0-9.]+" ([0-9]{3})/g)].map((m) => ({
        method: m[1],
        path: m[2] ?? '',
        status: Number(m[3]),
      }));
      const mounts = requests.filter((r) => r.method === 'POST' && r.path.includes('from=gz%2Fimg'));
      assert.equal(mounts.length, layersOf(gz).length + 1, JSON.stringify(requests)); // every layer and the config
      assert.ok(mounts.every((r) => r.status === 201));
      assert.equal(requests.filter((r) => r.method === 'PATCH').length, 0, 'no blob was uploaded');
    } finally {
      cache.close();
    }
  });
});

describe('containersBoltDBCachePath', () => {
  test('follows containers/image’s blobInfoCacheDir', () => {
    const file = 'blob-info-cache-v1.boltdb';
    assert.equal(containersBoltDBCachePath({ HOME: '/root' }, { uid: 0 }), `/var/lib/containers/cache/${file}`);
    assert.equal(
      containersBoltDBCachePath({ XDG_DATA_HOME: '/data/a', HOME: '/home/a' }, { uid: 1000 }),
      `/data/a/containers/cache/${file}`,
    );
    assert.equal(
      containersBoltDBCachePath({ XDG_DATA_HOME: '', HOME: '/home/a' }, { uid: 1000 }),
      `/home/a/.local/share/containers/cache/${file}`,
    );
    assert.equal(containersBoltDBCachePath({}, { uid: 1000 }), undefined);
    assert.equal(containersBoltDBCachePath({ XDG_DATA_HOME: 'rel' }, { uid: 1000 }), undefined);
  });

  test("inside the CLI's rootless user namespace (uid 0 there) it is the real user's, as the Ferry cache", () => {
    const env = { HOME: '/home/a', _CONTAINERS_USERNS_CONFIGURED: 'done', _CONTAINERS_ROOTLESS_UID: '1000' };
    assert.equal(containersBoltDBCachePath(env), '/home/a/.local/share/containers/cache/blob-info-cache-v1.boltdb');
  });
});

describe('goTimeToMicros', () => {
  /** Go's MarshalBinary layout for an instant, built from Date.UTC (seconds counted from year 1). */
  function goTime(ms: number, nanos: number, version: 1 | 2, offsetMinutes = -1): Buffer {
    const b = Buffer.alloc(version === 1 ? 15 : 16);
    b[0] = version;
    const epochFromYearOne = BigInt(-new Date('0001-01-01T00:00:00Z').getTime() / 1000);
    b.writeBigInt64BE(BigInt(Math.floor(ms / 1000)) + epochFromYearOne, 1);
    b.writeInt32BE(nanos, 9);
    b.writeInt16BE(offsetMinutes, 13);
    if (version === 2) b.writeInt8(30, 15);
    return b;
  }

  test('reads both versions of Go’s binary time, whatever the zone', () => {
    const ms = Date.parse('2023-03-04T05:06:07Z');
    assert.equal(goTimeToMicros(goTime(ms, 123_456_789, 1)), ms * 1000 + 123_456);
    assert.equal(goTimeToMicros(goTime(ms, 0, 1, 120)), ms * 1000);
    assert.equal(goTimeToMicros(goTime(ms, 999_999_999, 2, 330)), ms * 1000 + 999_999);
  });

  test('refuses other versions, lengths, nanoseconds out of range and instants before 1970', () => {
    const ms = Date.parse('2023-03-04T05:06:07Z');
    const good = goTime(ms, 0, 1);
    assert.equal(goTimeToMicros(Buffer.concat([good, Buffer.from([0])])), undefined);
    assert.equal(goTimeToMicros(good.subarray(0, 14)), undefined);
    assert.equal(goTimeToMicros(Buffer.from([3, ...good.subarray(1)])), undefined);
    assert.equal(goTimeToMicros(goTime(ms, 1_000_000_000, 1)), undefined);
    assert.equal(goTimeToMicros(goTime(ms, -1, 1)), undefined);
    assert.equal(goTimeToMicros(goTime(Date.parse('1969-12-31T23:59:59Z'), 0, 1)), undefined);
    assert.equal(goTimeToMicros(new Uint8Array(0)), undefined);
  });
});
