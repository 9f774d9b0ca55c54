import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Digest } from '../../../src/digest/digest.js';
import { isFerryError } from '../../../src/errors.js';
import type { ImageSource } from '../../../src/transports/types.js';
import { newTarballReference, tarballTransport } from '../../../src/transports/tarball/index.js';
import { goPlatform } from '../../../src/transports/tarball/platform.js';
import { rfc3339Nano } from '../../../src/transports/tarball/synthesise.js';
import { run } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';

const sha256 = (b: Uint8Array): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** A layer tar with the given files, built with tar-stream. */
async function makeTar(files: Record<string, string>): Promise<Buffer> {
  const p = pack();
  for (const [name, content] of Object.entries(files)) p.entry({ name, mtime: new Date(1_700_000_000_000) }, content);
  p.finalize();
  return readAll(p as unknown as Readable);
}

interface Layers {
  plain: string;
  gzip: string;
  zstd: string;
  /** Uncompressed tars behind each file, by path. */
  tars: Map<string, Buffer>;
}

async function makeLayers(dir: string): Promise<Layers> {
  const tars = new Map<string, Buffer>();
  const plainTar = await makeTar({ 'etc/hostname': 'ferry\n', 'bin/hello': '#!/bin/sh\necho hello\n' });
  const gzipTar = await makeTar({ 'usr/share/doc/readme': 'gzip layer\n'.repeat(100) });
  const zstdTar = await makeTar({ 'opt/app/data': 'zstd layer\n'.repeat(100) });
  const plain = join(dir, 'base.tar');
  const gzip = join(dir, 'middle.tar.gz');
  const zstd = join(dir, 'top.tar.zst');
  await writeFile(plain, plainTar);
  await writeFile(gzip, gzipSync(gzipTar));
  await writeFile(join(dir, 'top.tar'), zstdTar);
  const z = await run('zstd', ['-q', '-f', join(dir, 'top.tar'), '-o', zstd]);
  assert.equal(z.code, 0, z.stderr);
  tars.set(plain, plainTar);
  tars.set(gzip, gzipTar);
  tars.set(zstd, zstdTar);
  await utimes(plain, 1_600_000_000, 1_600_000_000);
  await utimes(gzip, 1_650_000_000.5, 1_650_000_000.5);
  await utimes(zstd, 1_620_000_000, 1_620_000_000);
  return { plain, gzip, zstd, tars };
}

async function withSource<T>(files: string[], fn: (src: ImageSource) => Promise<T>, options = {}): Promise<T> {
  const src = await newTarballReference(files, options).newImageSource();
  try {
    return await fn(src);
  } finally {
    await src.close();
  }
}

interface OCIManifest {
  mediaType?: string;
  config: { mediaType: string; digest: `${string}:${string}`; size: number };
  layers: Array<{ mediaType: string; digest: `${string}:${string}`; size: number }>;
  annotations?: Record<string, string>;
}

test('parses files separated by colons and gives back the same text', () => {
  const ref = tarballTransport.parseReference('/tmp/a.tar:b.tar.gz:-');
  assert.equal(ref.stringWithinTransport(), '/tmp/a.tar:b.tar.gz:-');
  assert.equal(ref.toString(), 'tarball:/tmp/a.tar:b.tar.gz:-');
  assert.equal(ref.dockerReference(), undefined);
});

test('rejects a reference with an empty file name', () => {
  assert.throws(
    () => tarballTransport.parseReference('a.tar::b.tar'),
    (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'),
  );
  assert.throws(
    () => tarballTransport.parseReference(''),
    (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'),
  );
});

test('rejects a file name containing the separator', () => {
  assert.throws(
    () => newTarballReference(['a:b.tar']),
    (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'),
  );
});

test('refuses to open a destination or delete', async () => {
  const ref = newTarballReference(['x.tar']);
  await assert.rejects(ref.newImageDestination(), (e) => isFerryError(e, 'UNSUPPORTED_OPERATION'));
  await assert.rejects(ref.deleteImage(), (e) => isFerryError(e, 'UNSUPPORTED_OPERATION'));
});

test('synthesises an OCI manifest whose layers are the files as they are', async () => {
  await withTempDir(async (dir) => {
    const layers = await makeLayers(dir);
    const files = [layers.plain, layers.gzip, layers.zstd];
    await withSource(files, async (src) => {
      const { bytes, mimeType } = await src.getManifest();
      assert.equal(mimeType, 'application/vnd.oci.image.manifest.v1+json');
      const manifest = JSON.parse(bytes.toString()) as OCIManifest;
      assert.deepEqual(
        manifest.layers.map((l) => l.mediaType),
        [
          'application/vnd.oci.image.layer.v1.tar',
          'application/vnd.oci.image.layer.v1.tar+gzip',
          'application/vnd.oci.image.layer.v1.tar+zstd',
        ],
      );
      for (const [i, file] of files.entries()) {
        const sum = await run('sha256sum', [file]);
        assert.equal(manifest.layers[i]!.digest, `sha256:${sum.stdout.split(' ')[0]}`);
        const content = await readFile(file);
        assert.equal(manifest.layers[i]!.size, content.length);
        const blob = await src.getBlob({ digest: manifest.layers[i]!.digest, size: -1 });
        assert.equal(blob.size, content.length);
        assert.deepEqual(await readAll(blob.stream), content);
      }
    });
  });
});

test('the config lists the digests of the decompressed tars and matches its descriptor', async () => {
  await withTempDir(async (dir) => {
    const layers = await makeLayers(dir);
    const files = [layers.plain, layers.gzip, layers.zstd];
    await withSource(files, async (src) => {
      const manifest = JSON.parse((await src.getManifest()).bytes.toString()) as OCIManifest;
      assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json');
      const blob = await src.getBlob({ digest: manifest.config.digest, size: manifest.config.size });
      const configBytes = await readAll(blob.stream);
      assert.equal(sha256(configBytes), manifest.config.digest);
      assert.equal(configBytes.length, manifest.config.size);
      const config = JSON.parse(configBytes.toString());
      assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: files.map((f) => sha256(layers.tars.get(f)!)) });
      const platform = goPlatform();
      assert.equal(config.architecture, platform.architecture);
      assert.equal(config.os, platform.os);
      // The newest mtime is the gzip layer's, with its half second kept.
      assert.equal(config.created, '2022-04-15T05:20:00.5Z');
      assert.equal(config.history.length, 3);
      assert.deepEqual(config.history[1], {
        created: '2022-04-15T05:20:00.5Z',
        created_by: `/bin/sh -c #(nop) ADD file:${sha256(layers.tars.get(layers.gzip)!).slice(7)} in /`,
        comment: 'imported from tarball',
      });
    });
  });
});

test('gives the same manifest bytes each time the same files are opened', async () => {
  await withTempDir(async (dir) => {
    const layers = await makeLayers(dir);
    const files = [layers.zstd, layers.plain];
    const first = await withSource(files, async (src) => (await src.getManifest()).bytes);
    const second = await withSource(files, async (src) => (await src.getManifest()).bytes);
    assert.deepEqual(first, second);
  });
});

test('manifest and config equal what skopeo synthesises for uncompressed and gzip layers', async () => {
  await withTempDir(async (dir) => {
    const layers = await makeLayers(dir);
    const within = `${layers.plain}:${layers.gzip}`;
    const env = { ...process.env, TZ: 'UTC' };
    const rawManifest = await run('skopeo', ['inspect', '--raw', `tarball:${within}`], { env });
    assert.equal(rawManifest.code, 0, rawManifest.stderr);
    const rawConfig = await run('skopeo', ['inspect', '--config', '--raw', `tarball:${within}`], { env });
    assert.equal(rawConfig.code, 0, rawConfig.stderr);
    await withSource([layers.plain, layers.gzip], async (src) => {
      const { bytes } = await src.getManifest();
      const manifest = JSON.parse(bytes.toString()) as OCIManifest;
      const config = await readAll((await src.getBlob({ digest: manifest.config.digest, size: -1 })).stream);
      assert.equal(config.toString(), rawConfig.stdout.trim());
      assert.equal(bytes.toString(), rawManifest.stdout.trim());
    });
  });
});

test('a config template is the base of the config and annotations reach the manifest', async () => {
  await withTempDir(async (dir) => {
    const layers = await makeLayers(dir);
    const options = {
      config: { architecture: 'arm64', os: 'linux', config: { Cmd: ['/bin/hello'] }, history: [{ comment: 'mine' }] },
      annotations: { 'org.opencontainers.image.title': 'hello', 'a.first': '<x>' },
    };
    await withSource(
      [layers.plain],
      async (src) => {
        const { bytes } = await src.getManifest();
        assert.match(bytes.toString(), /"a.first":"\\u003cx\\u003e","org.opencontainers.image.title":"hello"/);
        const manifest = JSON.parse(bytes.toString()) as OCIManifest;
        assert.deepEqual(manifest.annotations, options.annotations);
        const config = JSON.parse(
          (await readAll((await src.getBlob({ digest: manifest.config.digest, size: -1 })).stream)).toString(),
        );
        assert.equal(config.architecture, 'arm64');
        assert.deepEqual(config.config, { Cmd: ['/bin/hello'] });
        assert.equal(config.history[0].comment, 'mine');
        assert.equal(config.rootfs.diff_ids[0], sha256(layers.tars.get(layers.plain)!));
      },
      options,
    );
  });
});

test('reads a "-" layer from stdin into a temp file removed on close', async () => {
  await withTempDir(async (dir) => {
    const tar = await makeTar({ 'from/stdin': 'piped\n' });
    const compressed = gzipSync(tar);
    const ref = newTarballReference(['-'], { stdin: Readable.from([compressed], { objectMode: false }) });
    const src = await ref.newImageSource({ tmpDir: dir });
    const manifest = JSON.parse((await src.getManifest()).bytes.toString()) as OCIManifest;
    assert.equal(manifest.layers[0]!.digest, sha256(compressed));
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.deepEqual(await readAll((await src.getBlob(manifest.layers[0]!)).stream), compressed);
    assert.equal((await readdir(dir)).length, 1);
    await src.close();
    assert.deepEqual(await readdir(dir), []);
  });
});

test('a missing layer file is IMAGE_NOT_FOUND naming it', async () => {
  await withTempDir(async (dir) => {
    const missing = join(dir, 'nope.tar');
    await assert.rejects(
      newTarballReference([missing]).newImageSource(),
      (e) => isFerryError(e, 'IMAGE_NOT_FOUND') && e.message.includes(missing),
    );
  });
});

test('a bzip2 layer is refused with UNSUPPORTED_COMPRESSION naming the file', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'layer.tar.bz2');
    await writeFile(file, Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(20)]));
    await assert.rejects(
      newTarballReference([file]).newImageSource(),
      (e) => isFerryError(e, 'UNSUPPORTED_COMPRESSION') && e.message.includes(file) && e.message.includes('bzip2'),
    );
  });
});

test('an xz layer is refused with UNSUPPORTED_COMPRESSION: OCI has no media type for it', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'layer.tar.xz');
    await writeFile(file, execFileSync('xz', ['-c'], { input: Buffer.from('not even a tar') }));
    await assert.rejects(
      newTarballReference([file]).newImageSource(),
      (e) =>
        isFerryError(e, 'UNSUPPORTED_COMPRESSION') &&
        e.message.includes(file) &&
        e.message.includes('xz-compressed layers are not supported here: OCI has no media type for them'),
    );
  });
});

test('a truncated gzip layer is CORRUPT_COMPRESSED_DATA', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'layer.tar.gz');
    const gz = gzipSync(await makeTar({ a: 'x'.repeat(5000) }));
    await writeFile(file, gz.subarray(0, gz.length - 30));
    await assert.rejects(newTarballReference([file]).newImageSource(), (e) =>
      isFerryError(e, 'CORRUPT_COMPRESSED_DATA'),
    );
  });
});

test('maps Node architectures and systems to Go names', () => {
  assert.deepEqual(goPlatform('x64', 'linux'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(goPlatform('arm64', 'darwin'), { os: 'darwin', architecture: 'arm64' });
  assert.deepEqual(goPlatform('arm', 'linux', '7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(goPlatform('ia32', 'win32'), { os: 'windows', architecture: '386' });
});

test('formats times like Go RFC3339Nano', () => {
  assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
  assert.equal(rfc3339Nano(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
  assert.equal(rfc3339Nano(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
});
