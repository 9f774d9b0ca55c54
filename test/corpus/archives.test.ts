/**
 * The archive part of the bad-input corpus: hostile oci-archive and docker-archive files built in
 * code (`..` and absolute names, link escapes and chains, devices, duplicates, compression bombs).
 * Each is copied into an `oci:` layout; every case ends in the expected typed error or a correct
 * image, writes nothing outside the destination, leaves no temp file, and keeps memory bounded.
 * Truncated archives are in archives-truncated.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { type FerryErrorCode, isFerryError } from '../../src/errors.js';
import { copyImage, newTarballReference, openImage, parseOciReference } from '../../src/index.js';
import { parseDockerArchiveReference } from '../../src/transports/docker-archive/index.js';
import { parseOciArchiveReference } from '../../src/transports/oci-archive/index.js';
import { MAX_MEMBERS } from '../../src/transports/tar/scan.js';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { makeTempDir } from '../helpers/tmp.js';
import { dockerArchiveParts, gzipBomb, outerBomb, sha256, smallLayer, zstdBomb } from './archive-builders.js';
import { layoutMembers } from './layout-members.js';
import { type TarMember, TarType, tarOf } from './tar-build.js';

const { symlink, hardlink, directory, charDevice, blockDevice, fifo } = TarType;
type Transport = 'oci-archive' | 'docker-archive';
type Expected = 'ok' | FerryErrorCode;

interface Case {
  name: string;
  transport: Transport;
  archive: Buffer;
  expect: Expected;
}

const GiB = 1024 * 1024 * 1024;
/** Growth of the resident set allowed while a case runs (a bomb expands to 8 times this or more). */
const RSS_BUDGET = 256 * 1024 * 1024;

describe('archive corpus', () => {
  let base: string;
  let archives: string;
  let tmpDir: string;
  let oci: TarMember[];
  let dockerParts: ReturnType<typeof dockerArchiveParts>;
  let docker: TarMember[];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);

  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    base = await makeTempDir('ferry-archive-corpus-');
    archives = join(base, 'archives');
    tmpDir = join(base, 'tmp');
    await mkdir(archives);
    await mkdir(tmpDir);
    await makeImage(join(base, 'layout'), { tag: 't', layers: 1, layerSize: 2000 });
    oci = await layoutMembers(join(base, 'layout'));
    await rm(join(base, 'layout'), { recursive: true });
    const layer = smallLayer();
    dockerParts = dockerArchiveParts(layer, sha256(layer));
    docker = [dockerParts.config, dockerParts.layer, dockerParts.manifest];
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await rm(base, { recursive: true, force: true });
  });

  const parse = (transport: Transport, path: string) =>
    transport === 'oci-archive' ? parseOciArchiveReference(path) : parseDockerArchiveReference(path);

  /** Copies the archive into a fresh `oci:` layout and checks the outcome and what is left on disk. */
  async function run(c: Case): Promise<void> {
    const path = join(archives, c.name);
    const dest = join(base, 'dest');
    await writeFile(path, c.archive);
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    let outcome: string;
    try {
      await copyImage(parse(c.transport, path), parseOciReference(`${dest}:t`), { sourceOptions: { tmpDir } });
      outcome = 'ok';
      // A correct result: the copy reads back.
      const image = await openImage(parseOciReference(`${dest}:t`));
      await image.close();
    } catch (e) {
      assert.ok(isFerryError(e), `${c.name}: not a FerryError: ${e instanceof Error ? e.stack : String(e)}`);
      outcome = e.code;
    } finally {
      clearInterval(sampler);
    }
    const left = { tmp: await readdir(tmpDir), archives: await readdir(archives), base: (await readdir(base)).sort() };
    for (const entry of left.tmp) await rm(join(tmpDir, entry), { recursive: true, force: true });
    await rm(dest, { recursive: true, force: true });
    await rm(path);
    assert.equal(outcome, c.expect, c.name);
    assert.deepEqual(left.tmp, [], `${c.name}: temp files left`);
    assert.deepEqual(left.archives, [c.name], `${c.name}: written beside the archive`);
    const expectedBase = outcome === 'ok' ? ['archives', 'dest', 'tmp'] : ['archives', 'tmp'];
    assert.deepEqual(
      left.base.filter((e) => e !== 'dest' || outcome === 'ok'),
      expectedBase,
      `${c.name}: written outside`,
    );
    const grown = peak - baseline;
    assert.ok(grown < RSS_BUDGET, `${c.name}: resident memory grew by ${Math.round(grown / 2 ** 20)} MiB`);
  }

  const ociCase = (name: string, extra: TarMember[], expect: Expected, first: TarMember[] = []): Case => ({
    name: `${name}.tar`,
    transport: 'oci-archive',
    archive: tarOf([...first, ...oci, ...extra]),
    expect,
  });

  test('oci-archive: names, links, devices and duplicates', async () => {
    const index = oci.find((m) => m.name === 'index.json') as TarMember;
    const cases: Case[] = [
      ociCase('valid', [], 'ok'),
      ociCase('dotdot-name', [{ name: '../evil', data: 'x' }], 'UNSAFE_PATH'),
      ociCase('dotdot-inner-name', [{ name: 'blobs/../../evil', data: 'x' }], 'UNSAFE_PATH'),
      ociCase('absolute-name', [{ name: '/tmp/evil', data: 'x' }], 'UNSAFE_PATH'),
      ociCase('symlink-out', [{ name: 'l', type: symlink, linkname: '../outside' }], 'UNSAFE_PATH'),
      ociCase('symlink-absolute', [{ name: 'l', type: symlink, linkname: '/etc/passwd' }], 'UNSAFE_PATH'),
      ociCase(
        'symlink-chain-dirs',
        [
          { name: 'a', type: symlink, linkname: '.' },
          { name: 'a/b', type: symlink, linkname: '..' },
          { name: 'a/b/x/y', data: 'x' },
        ],
        'UNSAFE_PATH',
      ),
      ociCase(
        'symlink-chain-dangling',
        [
          { name: 's', type: symlink, linkname: '.' },
          { name: 't', type: symlink, linkname: 's/../nowhere' },
        ],
        'UNSAFE_PATH',
      ),
      ociCase(
        'symlink-then-file-through-it',
        [
          { name: 'd', type: symlink, linkname: 'blobs' },
          { name: 'd/x', data: 'x' },
        ],
        'UNSAFE_PATH',
      ),
      ociCase('hardlink-out', [{ name: 'h', type: hardlink, linkname: '../outside' }], 'UNSAFE_PATH'),
      ociCase('hardlink-directory', [{ name: 'h', type: hardlink, linkname: 'blobs' }], 'UNSAFE_PATH'),
      ociCase(
        'hardlink-to-symlink',
        [
          { name: 's', type: symlink, linkname: 'index.json' },
          { name: 'h', type: hardlink, linkname: 's' },
        ],
        'UNSAFE_PATH',
      ),
      ociCase('hardlink-inside', [{ name: 'index-copy.json', type: hardlink, linkname: 'index.json' }], 'ok'),
      ociCase('char-device', [{ name: 'dev', type: charDevice }], 'INVALID_ARCHIVE'),
      ociCase('block-device', [{ name: 'dev', type: blockDevice }], 'INVALID_ARCHIVE'),
      ociCase('fifo', [{ name: 'fifo', type: fifo }], 'INVALID_ARCHIVE'),
      ociCase('duplicate-file', [], 'ok', [{ name: 'index.json', data: '{"broken' }]),
      ociCase(
        'duplicate-file-then-symlink',
        [
          { name: 'index-copy.json', data: index.data },
          { name: 'index.json', type: symlink, linkname: 'index-copy.json' },
        ],
        'ok',
      ),
      ociCase('duplicate-symlink-then-file', [], 'ok', [{ name: 'index.json', type: symlink, linkname: 'nowhere' }]),
      ociCase('directory-then-file', [], 'ok', [{ name: 'index.json/', type: directory }]),
      ociCase('pax-long-dotdot', [{ name: `${'a/'.repeat(80)}${'../'.repeat(81)}evil`, data: 'x' }], 'UNSAFE_PATH'),
      ociCase('pax-linkpath-out', [{ name: 'l', type: symlink, linkname: '../x', pax: true }], 'UNSAFE_PATH'),
      ociCase('pax-long-valid', [{ name: `extra/${'n'.repeat(200)}/${'m'.repeat(200)}`, data: 'x' }], 'ok'),
      ociCase('name-component-too-long', [{ name: `extra/${'n'.repeat(300)}`, data: 'x' }], 'INVALID_ARCHIVE'),
      { name: 'empty.tar', transport: 'oci-archive', archive: Buffer.alloc(0), expect: 'INVALID_ARCHIVE' },
      {
        name: 'not-a-tar.tar',
        transport: 'oci-archive',
        archive: Buffer.from('this is not a tar file\n'.repeat(40)),
        expect: 'INVALID_ARCHIVE',
      },
      {
        name: 'xz-garbage.tar.xz',
        transport: 'oci-archive',
        archive: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]),
        expect: 'INVALID_ARCHIVE',
      },
      {
        name: 'bzip2.tar.bz2',
        transport: 'docker-archive',
        archive: Buffer.from('BZh91AY&SY'),
        expect: 'UNSUPPORTED_COMPRESSION',
      },
      {
        name: 'gzip-garbage.tar.gz',
        transport: 'oci-archive',
        archive: Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0]), Buffer.alloc(600, 0xee)]),
        expect: 'INVALID_ARCHIVE',
      },
    ];
    for (const c of cases) await run(c);
    assert.deepEqual(unhandled, []);
  });

  /** A docker archive whose layer member is stored gzip-compressed, optionally with its deflate data damaged. */
  function gzipLayerArchive(corrupt: boolean): TarMember[] {
    const layer = tarOf([{ name: 'etc/data', data: 'corpus '.repeat(4000) }]);
    const stored = gzipSync(layer);
    if (corrupt) stored.fill(0xff, 20, 60);
    const parts = dockerArchiveParts(stored, sha256(layer));
    return [parts.config, parts.layer, parts.manifest];
  }

  test('docker-archive: names and links in the archive and in manifest.json', async () => {
    const { config, layer, manifest } = dockerParts;
    const withManifest = (m: object) => ({ name: 'manifest.json', data: JSON.stringify([m]) });
    const item = JSON.parse(String(manifest.data))[0] as { Config: string; RepoTags: string[]; Layers: string[] };
    const dockerCase = (name: string, members: TarMember[], expect: Expected): Case => ({
      name: `${name}.tar`,
      transport: 'docker-archive',
      archive: tarOf(members),
      expect,
    });
    const cases: Case[] = [
      dockerCase('valid', docker, 'ok'),
      dockerCase('dotdot-member', [{ name: '../evil', data: 'x' }, ...docker], 'UNSAFE_PATH'),
      dockerCase('absolute-member', [...docker, { name: '/evil', data: 'x' }], 'UNSAFE_PATH'),
      dockerCase(
        'manifest-layer-dotdot',
        [config, layer, withManifest({ ...item, Layers: ['../x/layer.tar'] })],
        'UNSAFE_PATH',
      ),
      dockerCase(
        'manifest-config-absolute',
        [config, layer, withManifest({ ...item, Config: '/etc/passwd' })],
        'UNSAFE_PATH',
      ),
      dockerCase(
        'manifest-symlink-out',
        [config, layer, { name: 'manifest.json', type: symlink, linkname: '../manifest.json' }],
        'UNSAFE_PATH',
      ),
      dockerCase(
        'layer-symlink-chain',
        [
          config,
          { name: 'a', type: symlink, linkname: '.' },
          { name: 'a/b', type: symlink, linkname: '..' },
          { ...layer, name: 'l.tar' },
          withManifest({ ...item, Layers: ['a/b/l.tar'] }),
        ],
        'INVALID_ARCHIVE',
      ),
      dockerCase(
        'layer-symlink-inside',
        [
          config,
          { ...layer, name: 'l.tar' },
          { name: 'link.tar', type: symlink, linkname: 'l.tar' },
          withManifest({ ...item, Layers: ['link.tar'] }),
        ],
        'ok',
      ),
      dockerCase(
        'layer-hardlink-out',
        [config, { name: 'h.tar', type: hardlink, linkname: '../l.tar' }, withManifest({ ...item, Layers: ['h.tar'] })],
        'UNSAFE_PATH',
      ),
      dockerCase(
        'layer-is-device',
        [config, { name: 'dev.tar', type: charDevice }, withManifest({ ...item, Layers: ['dev.tar'] })],
        'INVALID_ARCHIVE',
      ),
      dockerCase(
        'layer-is-directory',
        [config, { name: 'd.tar/', type: directory }, withManifest({ ...item, Layers: ['d.tar'] })],
        'INVALID_ARCHIVE',
      ),
      dockerCase('unused-fifo', [...docker, { name: 'fifo', type: fifo }], 'ok'),
      dockerCase(
        'duplicate-manifest-first-wins',
        [config, layer, manifest, { name: 'manifest.json', data: '[{"Config":"../x"}]' }],
        'ok',
      ),
      dockerCase('layer-missing', [config, manifest], 'INVALID_ARCHIVE'),
      dockerCase(
        'layer-symlink-loop',
        [
          config,
          { name: 'a.tar', type: symlink, linkname: 'b.tar' },
          { name: 'b.tar', type: symlink, linkname: 'a.tar' },
          withManifest({ ...item, Layers: ['a.tar'] }),
        ],
        'INVALID_ARCHIVE',
      ),
      dockerCase(
        'too-many-members',
        [...docker, ...Array.from({ length: MAX_MEMBERS }, (_, i) => ({ name: `m${i}` }))],
        'INVALID_ARCHIVE',
      ),
      dockerCase(
        'manifest-over-4MiB',
        [config, layer, { name: 'manifest.json', data: `${' '.repeat(5 * 1024 * 1024)}[]` }],
        'TOO_LARGE',
      ),
      dockerCase(
        'manifest-not-json',
        [config, layer, { name: 'manifest.json', data: '[{"Config":' }],
        'INVALID_ARCHIVE',
      ),
      dockerCase('layer-gzip', gzipLayerArchive(false), 'ok'),
      dockerCase('layer-gzip-corrupt', gzipLayerArchive(true), 'INVALID_ARCHIVE'),
    ];
    for (const c of cases) await run(c);
    assert.deepEqual(unhandled, []);
  });

  test('compression bombs are streamed, never held, and stopped by the digest check', async () => {
    const wrongDiffID = sha256('not what the bomb expands to');
    const bombCase = (name: string, stored: Buffer): Case => {
      const parts = dockerArchiveParts(stored, wrongDiffID);
      return {
        name,
        transport: 'docker-archive',
        archive: tarOf([parts.config, parts.layer, parts.manifest]),
        expect: 'DIGEST_MISMATCH',
      };
    };
    await run(bombCase('gzip-bomb-layer.tar', gzipBomb(GiB)));
    await run(bombCase('zstd-bomb-layer.tar', zstdBomb(2 * GiB)));
    // Compressed archives whose tar expands to far more than they hold, around a valid layout.
    await run({
      name: 'gzip-bomb-outer.tar.gz',
      transport: 'oci-archive',
      archive: outerBomb('gzip', oci, GiB / 2),
      expect: 'ok',
    });
    await run({
      name: 'zstd-bomb-outer.tar.zst',
      transport: 'oci-archive',
      archive: outerBomb('zstd', oci, GiB / 2),
      expect: 'ok',
    });
    await run({
      name: 'zstd-bomb-outer-docker.tar.zst',
      transport: 'docker-archive',
      archive: outerBomb('zstd', docker, GiB / 2),
      expect: 'ok',
    });
    assert.deepEqual(unhandled, []);
  });

  test('a tarball: layer that is a zstd bomb has its diffID computed as a stream', async () => {
    const file = join(archives, 'bomb.tar.zst');
    await writeFile(file, zstdBomb(GiB));
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const src = await newTarballReference([file]).newImageSource({ tmpDir });
      await src.close();
    } finally {
      clearInterval(sampler);
      await rm(file);
    }
    assert.ok(peak - baseline < RSS_BUDGET, `resident memory grew by ${Math.round((peak - baseline) / 2 ** 20)} MiB`);
    assert.deepEqual(await readdir(tmpDir), []);
  });

  test('a tarball: layer cut short or damaged fails with a typed error naming the file', async () => {
    const whole = gzipSync(smallLayer());
    const cases: [string, Buffer, FerryErrorCode][] = [
      ['cut.tar.gz', whole.subarray(0, whole.length - 9), 'CORRUPT_COMPRESSED_DATA'],
      [
        'damaged.tar.zst',
        Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(64, 0xff)]),
        'CORRUPT_COMPRESSED_DATA',
      ],
    ];
    for (const [name, bytes, code] of cases) {
      const file = join(archives, name);
      await writeFile(file, bytes);
      await assert.rejects(
        newTarballReference([file]).newImageSource({ tmpDir }),
        (e) => isFerryError(e, code) && e.message.includes(file),
        name,
      );
      await rm(file);
    }
    assert.deepEqual(await readdir(tmpDir), []);
  });

  test('an abort while an archive is read ends the copy with ABORTED and removes the temp dir', async () => {
    const cases: Case[] = [
      {
        name: 'abort-oci.tar.zst',
        transport: 'oci-archive',
        archive: outerBomb('zstd', oci, 4 * GiB),
        expect: 'ABORTED',
      },
      {
        name: 'abort-docker.tar.zst',
        transport: 'docker-archive',
        archive: outerBomb('zstd', docker, 4 * GiB),
        expect: 'ABORTED',
      },
      {
        name: 'abort-docker-layer.tar',
        transport: 'docker-archive',
        archive: tarOf(Object.values(dockerArchiveParts(zstdBomb(4 * GiB), sha256('x')))),
        expect: 'ABORTED',
      },
    ];
    for (const c of cases) {
      const path = join(archives, c.name);
      await writeFile(path, c.archive);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new Error('test abort')), 300);
      const started = Date.now();
      await assert.rejects(
        copyImage(parse(c.transport, path), parseOciReference(`${join(base, 'dest')}:t`), {
          signal: controller.signal,
          sourceOptions: { tmpDir },
        }),
        (e) => isFerryError(e, 'ABORTED'),
        c.name,
      );
      clearTimeout(timer);
      assert.ok(Date.now() - started < 5000, `${c.name}: the abort took ${Date.now() - started} ms`);
      assert.deepEqual(await readdir(tmpDir), [], `${c.name}: temp files left`);
      await rm(join(base, 'dest'), { recursive: true, force: true });
      await rm(path);
    }
    assert.deepEqual(unhandled, []);
  });

  test('a copy into an archive that fails or is aborted leaves neither the archive nor temp files', async () => {
    const layout = join(base, 'damaged-layout');
    const made = await makeImage(layout, { tag: 't', layers: 2, layerSize: 50000 });
    const layer = made.instances[0]?.layers[1]?.digest as string;
    await writeFile(blobPath(layout, layer), 'not the layer');
    for (const transport of ['docker-archive', 'oci-archive'] as const) {
      const out = join(archives, `${transport}-out.tar`);
      const dest =
        transport === 'oci-archive' ? parseOciArchiveReference(out) : parseDockerArchiveReference(`${out}:corpus:1`);
      await assert.rejects(
        copyImage(parseOciReference(`${layout}:t`), dest, { destinationOptions: { tmpDir } }),
        (e) => isFerryError(e, 'DIGEST_MISMATCH') || isFerryError(e, 'SIZE_MISMATCH'),
        transport,
      );
      const controller = new AbortController();
      controller.abort(new Error('test abort'));
      await assert.rejects(
        copyImage(parseOciReference(`${layout}:t`), dest, {
          signal: controller.signal,
          destinationOptions: { tmpDir },
        }),
        (e) => isFerryError(e, 'ABORTED'),
      );
      assert.deepEqual(await readdir(archives), [], `${transport}: an archive was written`);
      assert.deepEqual(await readdir(tmpDir), [], `${transport}: temp files left`);
    }
    await rm(layout, { recursive: true });
  });

  test('an oci-archive layer that is a zstd bomb is copied as it is, without expanding it', async () => {
    const bomb = zstdBomb(4 * GiB);
    const layout = join(base, 'bomb-layout');
    await makeImage(layout, { tag: 't', layers: 1, layerSize: 100 });
    const members = await layoutMembers(layout);
    await rm(layout, { recursive: true });
    // Swap the layer blob for the bomb under its own digest; manifest and config are rewritten to match.
    const blobs = new Map(
      members
        .filter((m) => m.name.startsWith('blobs/sha256/') && m.type === undefined)
        .map((m) => [m.name.slice(13), Buffer.from(m.data ?? '')]),
    );
    const index = JSON.parse(String(members.find((m) => m.name === 'index.json')?.data)) as {
      manifests: { digest: string; size: number }[];
    };
    const manifestDesc = index.manifests[0] as { digest: string; size: number };
    const manifest = JSON.parse(String(blobs.get(manifestDesc.digest.slice(7)))) as {
      layers: { digest: string; size: number; mediaType: string }[];
    };
    manifest.layers = [
      { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(bomb), size: bomb.length },
    ];
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    index.manifests = [{ ...manifestDesc, digest: sha256(manifestBytes), size: manifestBytes.length }];
    const rebuilt: TarMember[] = [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', data: JSON.stringify(index) },
      ...[...blobs]
        .filter(([hex]) => hex !== manifestDesc.digest.slice(7))
        .map(([hex, data]) => ({ name: `blobs/sha256/${hex}`, data })),
      { name: `blobs/sha256/${sha256(manifestBytes).slice(7)}`, data: manifestBytes },
      { name: `blobs/sha256/${sha256(bomb).slice(7)}`, data: bomb },
    ];
    await run({ name: 'zstd-bomb-blob.tar', transport: 'oci-archive', archive: tarOf(rebuilt), expect: 'ok' });
    assert.deepEqual(unhandled, []);
  });
});
