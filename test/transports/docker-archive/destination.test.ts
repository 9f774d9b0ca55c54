import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { createGunzip } from 'node:zlib';
import type { Digest } from '../../../src/digest/digest.js';
import { isFerryError } from '../../../src/errors.js';
import { parseDockerArchiveReference } from '../../../src/transports/docker-archive/index.js';
import { TarIndex } from '../../../src/transports/tar/tar-index.js';
import type { ImageDestination, ImageOptions } from '../../../src/transports/types.js';
import { blobPath, type MadeImage, type MadeInstance, makeImage } from '../../helpers/make-image.js';
import { run, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { sha256 } from './fixtures.js';

const V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';

/** The Docker schema 2 manifest of an instance whose layers are stored uncompressed (as docker-archive wants). */
function schema2Of(instance: MadeInstance, layerSizes: number[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: V2S2,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: instance.config.size,
        digest: instance.config.digest,
      },
      layers: instance.layers.map((l, i) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar',
        size: layerSizes[i],
        digest: l.diffID,
      })),
    }),
  );
}

/** What the copy engine does for this destination: decompressed layers of unknown digest, then config, manifest, commit. */
async function writeImage(dest: ImageDestination, layout: string, instance: MadeInstance): Promise<void> {
  const sizes: number[] = [];
  for (const l of instance.layers) {
    const stored = await dest.putBlob(
      createReadStream(blobPath(layout, l.digest)).pipe(createGunzip()),
      { size: -1 },
      { isConfig: false },
    );
    assert.equal(stored.digest, l.diffID);
    sizes.push(stored.size);
  }
  await dest.putBlob(
    Readable.from([instance.config.bytes]),
    { digest: instance.config.digest as Digest, size: instance.config.size },
    { isConfig: true },
  );
  await dest.putManifest(schema2Of(instance, sizes));
  await dest.commit();
}

async function member(path: string, name: string): Promise<string> {
  const index = await TarIndex.build(path);
  const entry = index.resolveFile(name);
  assert.ok(entry, `${name} in ${path}`);
  return (await index.read(entry, 1 << 20)).toString();
}

describe('docker-archive destination', () => {
  let dir: string;
  let layout: string;
  let made: MadeImage;
  let instance: MadeInstance;

  before(async () => {
    dir = await makeTempDir('ferry-docker-archive-dest-');
    layout = join(dir, 'layout');
    made = await makeImage(layout, { tag: 't', layers: 2, layerSize: 40000 });
    instance = made.instances[0] as MadeInstance;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(within: string, options: ImageOptions = {}): Promise<void> {
    const dest = await parseDockerArchiveReference(within).newImageDestination(options);
    try {
      await writeImage(dest, layout, instance);
    } finally {
      await dest.close();
    }
  }

  test('states docker-archive capabilities: schema 2 only, uncompressed layers', async () => {
    const dest = await parseDockerArchiveReference(join(dir, 'caps.tar')).newImageDestination();
    try {
      assert.deepEqual(dest.capabilities.supportedManifestMIMETypes, [V2S2]);
      assert.equal(dest.capabilities.desiredLayerCompression, 'decompress');
      assert.deepEqual(dest.capabilities.supportedCompressionAlgorithms, []);
      assert.equal(dest.capabilities.supportsMultipleImages, false);
      assert.equal(dest.capabilities.acceptsForeignLayerURLs, false);
      assert.equal(dest.capabilities.hasThreadSafePutBlob, false);
    } finally {
      await dest.close();
    }
  });

  test('writes an archive that skopeo inspects and copies to an OCI layout', async () => {
    const path = join(dir, 'written.tar');
    await write(`${path}:img:t`);
    const inspect = await runSkopeo(['inspect', `docker-archive:${path}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const info = JSON.parse(inspect.stdout) as { Layers: string[]; Os: string };
    assert.deepEqual(
      info.Layers,
      instance.layers.map((l) => l.diffID),
    );
    const out = join(dir, 'from-archive');
    const copy = await runSkopeo(['copy', '-q', `docker-archive:${path}:img:t`, `oci:${out}:t`]);
    assert.equal(copy.code, 0, copy.stderr);
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    const manifest = JSON.parse(await readFile(blobPath(out, index.manifests[0]?.digest ?? ''), 'utf8')) as {
      config: { digest: string };
    };
    assert.equal(manifest.config.digest, instance.config.digest);
  });

  test('writes the docker save layout: RepoTags, repositories and legacy layer dirs as skopeo does', async () => {
    const ours = join(dir, 'layout-check.tar');
    await write(`${ours}:img:t`, { additionalTags: ['quay.io/org/other:2'] });
    const items = JSON.parse(await member(ours, 'manifest.json')) as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    assert.deepEqual(items, [
      {
        Config: `${instance.config.digest.slice(7)}.json`,
        RepoTags: ['img:t', 'quay.io/org/other:2'],
        Layers: instance.layers.map((l) => `${l.diffID.slice(7)}.tar`),
      },
    ]);
    // The v1 IDs follow containers/image's derivation: the same as skopeo's for the same image.
    const theirs = join(dir, 'skopeo-layout.tar');
    const r = await runSkopeo(['copy', '-q', `oci:${layout}:t`, `docker-archive:${theirs}:img:t`]);
    assert.equal(r.code, 0, r.stderr);
    const ourRepos = JSON.parse(await member(ours, 'repositories')) as Record<string, Record<string, string>>;
    const theirRepos = JSON.parse(await member(theirs, 'repositories')) as Record<string, Record<string, string>>;
    const topID = theirRepos['docker.io/library/img']?.t;
    assert.ok(topID);
    assert.deepEqual(ourRepos, { img: { t: topID }, 'quay.io/org/other': { '2': topID } });
    assert.equal(await member(ours, `${topID}/json`), await member(theirs, `${topID}/json`));
    assert.equal(await member(ours, `${topID}/VERSION`), '1.0');
    const index = await TarIndex.build(ours);
    assert.equal(index.entry(`${topID}/layer.tar`)?.linkname, `../${instance.layers[1]?.diffID.slice(7)}.tar`);
    assert.equal(
      sha256(await index.read(index.resolveFile(`${topID}/layer.tar`) ?? assert.fail(), 1 << 20)),
      instance.layers[1]?.diffID,
    );
  });

  test('records no tags when the reference has no name, as skopeo does', async () => {
    const path = join(dir, 'untagged.tar');
    await write(path);
    const items = JSON.parse(await member(path, 'manifest.json')) as { RepoTags: string[] }[];
    assert.deepEqual(items[0]?.RepoTags, []);
    assert.deepEqual(JSON.parse(await member(path, 'repositories')), {});
    const inspect = await runSkopeo(['inspect', `docker-archive:${path}`]);
    assert.equal(inspect.code, 0, inspect.stderr);
  });

  test('streams the archive into an existing FIFO instead of replacing it', async () => {
    const fifo = join(dir, 'out.fifo');
    const r = await run('mkfifo', [fifo]);
    assert.equal(r.code, 0, r.stderr);
    const copy = join(dir, 'from-fifo.tar');
    const draining = pipeline(createReadStream(fifo), createWriteStream(copy));
    await write(`${fifo}:img:t`);
    await draining;
    assert.ok((await lstat(fifo)).isFIFO());
    assert.match(await member(copy, 'manifest.json'), /img:t/);
  });

  test('replaces an existing archive at commit', async () => {
    const path = join(dir, 'replace.tar');
    await writeFile(path, 'old contents');
    await write(`${path}:img:t`);
    assert.match(await member(path, 'manifest.json'), /img:t/);
  });

  test('keeps the config in memory, checked and capped: only layers are spooled', async () => {
    const tmpDir = join(dir, 'spool-parent');
    await mkdir(tmpDir);
    const spooled = async (): Promise<string[]> => {
      const [spool] = await readdir(tmpDir);
      return readdir(join(tmpDir, spool ?? assert.fail('no spool dir')));
    };
    const path = join(dir, 'config-in-memory.tar');
    const dest = await parseDockerArchiveReference(`${path}:img:t`).newImageDestination({ tmpDir });
    try {
      const config = { digest: instance.config.digest as Digest, size: instance.config.size };
      await assert.rejects(dest.putBlob(Readable.from([Buffer.alloc(config.size)]), config, { isConfig: true }), (e) =>
        isFerryError(e, 'DIGEST_MISMATCH'),
      );
      await assert.rejects(dest.putBlob(Readable.from([Buffer.from('{}')]), config, { isConfig: true }), (e) =>
        isFerryError(e, 'SIZE_MISMATCH'),
      );
      await assert.rejects(
        dest.putBlob(Readable.from([Buffer.alloc(4 * 1024 * 1024 + 1)]), { size: -1 }, { isConfig: true }),
        (e) => isFerryError(e, 'TOO_LARGE') && e.message.includes(path),
      );
      const stored = await dest.putBlob(Readable.from([instance.config.bytes]), config, { isConfig: true });
      assert.deepEqual(stored, config);
      assert.deepEqual(await spooled(), []);
      assert.deepEqual(await dest.tryReusingBlob({ ...config }, { isConfig: true }), config);
    } finally {
      await dest.close();
    }
    // The layers (spooled) and the config (from memory) make the archive as before.
    const whole = join(dir, 'config-in-memory-whole.tar');
    const again = await parseDockerArchiveReference(`${whole}:img:t`).newImageDestination({ tmpDir });
    try {
      await writeImage(again, layout, instance);
      assert.equal((await spooled()).length, instance.layers.length);
    } finally {
      await again.close();
    }
    const index = await TarIndex.build(whole);
    const member = index.resolveFile(`${instance.config.digest.slice(7)}.json`) ?? assert.fail('no config member');
    assert.deepEqual(await index.read(member, 1 << 20), instance.config.bytes);
  });

  test('refuses a manifest that is not Docker schema 2', async () => {
    const dest = await parseDockerArchiveReference(join(dir, 'oci.tar')).newImageDestination();
    try {
      await assert.rejects(dest.putManifest(instance.bytes), (e) => isFerryError(e, 'UNSUPPORTED_MANIFEST_TYPE'));
    } finally {
      await dest.close();
    }
  });

  test('refuses, before any blob moves, a path whose directory does not exist', async () => {
    await assert.rejects(
      parseDockerArchiveReference(join(dir, 'no-such-dir', 'x.tar')).newImageDestination(),
      (e) => isFerryError(e, 'INVALID_ARGUMENT') && /directory does not exist/.test(e.message),
    );
  });

  test('refuses a destination reference with a source index', async () => {
    await assert.rejects(parseDockerArchiveReference(`${join(dir, 'x.tar')}:@0`).newImageDestination(), (e) =>
      isFerryError(e, 'INVALID_REFERENCE'),
    );
  });

  test('refuses a digest-only additional tag', async () => {
    await assert.rejects(
      parseDockerArchiveReference(join(dir, 'x.tar')).newImageDestination({ additionalTags: [`img@${sha256('a')}`] }),
      (e) => isFerryError(e, 'INVALID_REFERENCE'),
    );
  });
});
