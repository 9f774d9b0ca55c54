/**
 * containers-storage against a crafted store (security review): an image's big data (manifest,
 * config, signatures) is never read through a symbolic link nor from anything but a regular file,
 * and images.json/layers.json/containers.json are read only up to a size cap.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { MediaType } from '../../../src/manifest/index.js';
import { parseStorageReference } from '../../../src/transports/containers-storage/reference.js';
import { StorageImageSource } from '../../../src/transports/containers-storage/source.js';
import {
  bigDataBaseName,
  MAX_RECORDS_FILE,
  manifestKey,
  Store,
} from '../../../src/transports/containers-storage/store.js';
import { makeTempDir } from '../../helpers/tmp.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}` as const;

describe('containers-storage: a crafted store cannot serve host files or exhaust memory', () => {
  let dir: string;
  let n = 0;
  /** A fresh vfs store holding one image whose config big data is made by `plant`. */
  async function storeWithImage(
    plant: (imageDir: string, configName: string, config: Buffer) => Promise<void>,
  ): Promise<{ spec: string; id: string; configDigest: string }> {
    const root = path.join(dir, `root${++n}`);
    const run = path.join(dir, `run${n}`);
    const store = new Store('vfs', root, run);
    await store.ensureLayout();
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const configDigest = sha(config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_MANIFEST,
        config: { mediaType: MediaType.OCI_CONFIG, digest: configDigest, size: config.length },
        layers: [],
      }),
    );
    const manifestDigest = sha(manifest);
    const id = configDigest.slice(7);
    const imageDir = store.imageDataDir(id);
    await mkdir(imageDir, { recursive: true });
    await writeFile(path.join(imageDir, bigDataBaseName(manifestKey(manifestDigest))), manifest);
    await plant(imageDir, bigDataBaseName(configDigest), config);
    await writeFile(
      path.join(store.imagesDir, 'images.json'),
      JSON.stringify([
        {
          id,
          digest: manifestDigest,
          names: ['localhost/crafted:1'],
          'big-data-names': [manifestKey(manifestDigest), configDigest],
        },
      ]),
    );
    return { spec: `[vfs@${root}+${run}]`, id, configDigest };
  }

  async function readConfig(spec: string, configDigest: string): Promise<Buffer> {
    const src = await StorageImageSource.open(parseStorageReference(`${spec}localhost/crafted:1`), {});
    const { stream } = await src.getBlob({ digest: configDigest as `sha256:${string}`, size: -1 });
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  before(async () => {
    dir = await makeTempDir('ferry-store-files-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the plain store serves its config (the fixture is sound)', async () => {
    const { spec, configDigest } = await storeWithImage((d, name, config) => writeFile(path.join(d, name), config));
    assert.equal(sha(await readConfig(spec, configDigest)), configDigest);
  });

  test('a config that is a symbolic link to a host file is refused, naming the file', async () => {
    const host = path.join(dir, 'host-secret');
    await writeFile(host, 'root:x:0:0:secret\n');
    const { spec, configDigest } = await storeWithImage((d, name) => symlink(host, path.join(d, name)));
    await assert.rejects(
      readConfig(spec, configDigest),
      (e: unknown) =>
        isFerryError(e, 'INVALID_LAYOUT') &&
        e.message.includes(bigDataBaseName(configDigest)) &&
        !e.message.includes('secret\n'),
    );
  });

  test("an image's big-data directory that is a symbolic link is not followed", async () => {
    const { spec, configDigest } = await storeWithImage(async (d, name, config) => {
      const elsewhere = path.join(dir, `elsewhere${n}`);
      await mkdir(elsewhere);
      await writeFile(path.join(elsewhere, name), config);
      const { readdir, rename } = await import('node:fs/promises');
      for (const f of await readdir(d)) await rename(path.join(d, f), path.join(elsewhere, f));
      await rm(d, { recursive: true });
      await symlink(elsewhere, d);
    });
    await assert.rejects(readConfig(spec, configDigest), (e: unknown) => isFerryError(e, 'INVALID_LAYOUT'));
  });

  test('a config that is a directory is refused as not a regular file', async () => {
    const { spec, configDigest } = await storeWithImage((d, name) => mkdir(path.join(d, name)));
    await assert.rejects(
      readConfig(spec, configDigest),
      (e: unknown) => isFerryError(e, 'INVALID_LAYOUT') && e.message.includes('not a regular file'),
    );
  });

  test('a config that is a FIFO is refused without blocking', { timeout: 10_000 }, async () => {
    const { spec, configDigest } = await storeWithImage(async (d, name) => {
      execFileSync('mkfifo', [path.join(d, name)]);
    });
    await assert.rejects(
      readConfig(spec, configDigest),
      (e: unknown) => isFerryError(e, 'INVALID_LAYOUT') && e.message.includes('not a regular file'),
    );
  });

  for (const [file, read] of [
    ['vfs-images/images.json', (s: Store) => s.readImages()],
    ['vfs-layers/layers.json', (s: Store) => s.readLayers()],
    ['vfs-containers/containers.json', (s: Store) => s.readContainers()],
  ] as const) {
    test(`${file} past the ${MAX_RECORDS_FILE}-byte cap is TOO_LARGE, not read`, async () => {
      const root = path.join(dir, `big${++n}`);
      const store = new Store('vfs', root, path.join(dir, `bigrun${n}`));
      await store.ensureLayout();
      const p = path.join(root, file);
      await writeFile(p, '');
      await truncate(p, MAX_RECORDS_FILE + 1); // sparse: no disk used
      await assert.rejects(
        read(store),
        (e: unknown) => isFerryError(e, 'TOO_LARGE') && e.message.includes(path.basename(file)),
      );
    });
  }
});
