import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { createGzip } from 'node:zlib';
import { type Digest, digestOf } from '../../../src/digest/digest.js';
import { digestStream } from '../../../src/digest/verify.js';
import { isFerryError } from '../../../src/errors.js';
import { parseOciArchiveReference } from '../../../src/transports/oci-archive/index.js';
import { ociTransport } from '../../../src/transports/oci-layout/index.js';
import { registerTransport } from '../../../src/transports/registry.js';
import { TarIndex } from '../../../src/transports/tar/tar-index.js';
import type { ImageOptions } from '../../../src/transports/types.js';
import { blobPath, type MadeImage, type MadeInstance, makeImage } from '../../helpers/make-image.js';
import { runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { expectUnsafeArchive, type Member } from '../docker-archive/fixtures.js';

interface OciManifest {
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}

describe('oci-archive transport', () => {
  let dir: string;
  let layout: string;
  let made: MadeImage;
  let instance: MadeInstance;
  let skopeoArchive: string;

  before(async () => {
    registerTransport(ociTransport);
    dir = await makeTempDir('ferry-oci-archive-');
    layout = join(dir, 'layout');
    made = await makeImage(layout, { tag: 't', layers: 2, layerSize: 30000 });
    instance = made.instances[0] as MadeInstance;
    skopeoArchive = join(dir, 'skopeo.tar');
    const r = await runSkopeo(['copy', '-q', `oci:${layout}:t`, `oci-archive:${skopeoArchive}:ref1`]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Reads the manifest and every blob of an oci-archive image; checks each blob's digest. */
  async function readImage(
    within: string,
    options: ImageOptions = {},
  ): Promise<{ digest: string; manifest: OciManifest }> {
    const src = await parseOciArchiveReference(within).newImageSource(options);
    try {
      const { bytes } = await src.getManifest();
      const manifest = JSON.parse(bytes.toString()) as OciManifest;
      for (const d of [manifest.config, ...manifest.layers]) {
        const blob = await src.getBlob({ digest: d.digest as Digest, size: d.size });
        assert.equal((await digestStream(blob.stream)).digest, d.digest);
      }
      return { digest: digestOf(bytes), manifest };
    } finally {
      await src.close();
    }
  }

  test('reads an archive written by skopeo and removes its temp dir on close', async () => {
    const tmpDir = await makeTempDir('ferry-oci-archive-tmp-');
    try {
      const img = await readImage(`${skopeoArchive}:ref1`, { tmpDir });
      assert.equal(img.digest, made.digest);
      assert.deepEqual(await readdir(tmpDir), []);
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  });

  test('reads the only image when no ref is given', async () => {
    const img = await readImage(skopeoArchive);
    assert.equal(img.digest, made.digest);
  });

  test('reads a gzip-compressed archive', async () => {
    const gz = join(dir, 'skopeo.tar.gz');
    await pipeline(createReadStream(skopeoArchive), createGzip(), createWriteStream(gz));
    const img = await readImage(`${gz}:ref1`);
    assert.equal(img.digest, made.digest);
  });

  async function copyInto(within: string): Promise<void> {
    const src = await ociTransport.parseReference(`${layout}:t`).newImageSource();
    const dest = await parseOciArchiveReference(within).newImageDestination();
    try {
      const { bytes } = await src.getManifest();
      const m = JSON.parse(bytes.toString()) as OciManifest;
      for (const [i, d] of [m.config, ...m.layers].entries()) {
        const blob = await src.getBlob({ digest: d.digest as Digest, size: d.size });
        await dest.putBlob(blob.stream, { digest: d.digest as Digest, size: d.size }, { isConfig: i === 0 });
      }
      await dest.putManifest(bytes);
      await dest.commit();
    } finally {
      await dest.close();
      await src.close();
    }
  }

  test('writes an archive that skopeo inspects and copies, with the same manifest digest', async () => {
    const path = join(dir, 'written.tar');
    await copyInto(`${path}:ref2`);
    const inspect = await runSkopeo(['inspect', `oci-archive:${path}:ref2`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal((JSON.parse(inspect.stdout) as { Digest: string }).Digest, made.digest);
    const out = join(dir, 'from-archive');
    const copy = await runSkopeo(['copy', '-q', `oci-archive:${path}:ref2`, `oci:${out}:t`]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal((await readFile(blobPath(out, instance.config.digest))).toString(), instance.config.bytes.toString());
    // Our own source reads it back too.
    assert.equal((await readImage(`${path}:ref2`)).digest, made.digest);
  });

  test('writes the layout members in a fixed order: oci-layout, index.json, then blobs', async () => {
    const path = join(dir, 'order.tar');
    await copyInto(path);
    const names = (await TarIndex.build(path)).names();
    assert.deepEqual(names.slice(0, 4), ['oci-layout', 'index.json', 'blobs', 'blobs/sha256']);
    const blobs = names.slice(4);
    assert.deepEqual(blobs, [...blobs].sort());
    assert.equal(blobs.length, 4);
  });

  test('rejects an @N source index and an invalid ref name', () => {
    for (const s of ['a.tar:@0', 'a.tar:-bad', '']) {
      assert.throws(
        () => parseOciArchiveReference(s),
        (e) => isFerryError(e, 'INVALID_REFERENCE'),
        s,
      );
    }
    assert.equal(parseOciArchiveReference('a.tar:app:v1').image, 'app:v1');
  });
});

describe('oci-archive source refuses unsafe archives', () => {
  let sandbox: string;
  let tmpDir: string;
  before(async () => {
    registerTransport(ociTransport);
    sandbox = await makeTempDir('ferry-oci-archive-unsafe-');
    tmpDir = await makeTempDir('ferry-oci-archive-unsafe-tmp-');
  });
  after(async () => {
    await rm(sandbox, { recursive: true, force: true });
    await rm(tmpDir, { recursive: true, force: true });
  });

  const layoutMembers: Member[] = [
    { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
    { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
  ];

  const expectUnsafe = (name: string, members: Member[], entry: string) =>
    expectUnsafeArchive(
      (path) => parseOciArchiveReference(path).newImageSource({ tmpDir }),
      { sandbox, tmpDir },
      name,
      members,
      entry,
    );

  test('refuses a member named with ".."', async () => {
    await expectUnsafe('dotdot.tar', [...layoutMembers, { name: '../evil', data: 'x' }], '../evil');
  });

  test('refuses a member with an absolute name', async () => {
    await expectUnsafe('abs.tar', [...layoutMembers, { name: '/evil', data: 'x' }], '/evil');
  });

  test('refuses a symbolic link that points outside the archive', async () => {
    await expectUnsafe(
      'symlink.tar',
      [...layoutMembers, { name: 'blobs', type: 'symlink', linkname: '../..' }, { name: 'blobs/evil', data: 'x' }],
      'blobs',
    );
  });

  test('refuses a file written through a link chain that leads outside', async () => {
    await expectUnsafe(
      'chain.tar',
      [
        ...layoutMembers,
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'b', type: 'symlink', linkname: 'a/..' },
        { name: 'b/evil', data: 'x' },
      ],
      'b',
    );
  });

  test('refuses a link chain that leads outside even when nothing is written through it', async () => {
    await expectUnsafe(
      'chain-only.tar',
      [
        ...layoutMembers,
        { name: 'a', type: 'symlink', linkname: '.' },
        { name: 'b', type: 'symlink', linkname: 'a/..' },
      ],
      'b',
    );
  });
});
