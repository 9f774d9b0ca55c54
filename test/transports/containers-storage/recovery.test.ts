/**
 * containers-storage in the library: what a crashed writer leaves behind is cleaned as
 * containers/storage cleans it, and what cannot be served yet is a typed error, not wrong bytes.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyImage } from '../../../src/copy/index.js';
import { isFerryError } from '../../../src/errors.js';
import { containersStorageTransport } from '../../../src/transports/containers-storage/index.js';
import { ociTransport } from '../../../src/transports/oci-layout/index.js';
import { makeImage } from '../../helpers/make-image.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { rm } from 'node:fs/promises';

const skip =
  process.getuid?.() === 0 ? false : 'needs root (stores written as root; rootless.test.ts covers another user)';

describe('containers-storage: recovery and refusals', { skip }, () => {
  let dir: string;
  let spec: string;
  let root: string;
  before(async () => {
    dir = await makeTempDir('ferry-cs-recovery-');
    root = path.join(dir, 'root');
    spec = `[vfs@${root}+${path.join(dir, 'run')}]`;
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a layer a crashed writer left incomplete is removed by the next commit, files and record', async () => {
    const stale = 'f'.repeat(64);
    await mkdir(path.join(root, 'vfs-layers'), { recursive: true });
    await mkdir(path.join(root, 'vfs/dir', stale), { recursive: true });
    await writeFile(
      path.join(root, 'vfs-layers/layers.json'),
      JSON.stringify([{ id: stale, created: '2026-01-01T00:00:00Z', flags: { incomplete: true } }]),
    );
    const layout = path.join(dir, 'oci');
    await makeImage(layout, { layers: 1, layerSize: 1000, compression: 'none' });
    await copyImage(
      ociTransport.parseReference(`${layout}:latest`),
      containersStorageTransport.parseReference(`${spec}app:1`),
      { blobInfoCache: 'none' },
    );
    const layers = JSON.parse(await readFile(path.join(root, 'vfs-layers/layers.json'), 'utf8')) as { id: string }[];
    assert.equal(layers.length, 1);
    assert.notEqual(layers[0]?.id, stale);
    await assert.rejects(stat(path.join(root, 'vfs/dir', stale)), { code: 'ENOENT' });
  });

  test('a layer stored from a compressed blob is served by its diffID; asking for the compressed digest is NOT_IMPLEMENTED', async () => {
    const layout = path.join(dir, 'gz');
    const image = await makeImage(layout, { layers: 1, layerSize: 1000, compression: 'gzip', seed: 7 });
    const ref = containersStorageTransport.parseReference(`${spec}gz:1`);
    await copyImage(ociTransport.parseReference(`${layout}:latest`), ref, { blobInfoCache: 'none' });
    const layer = image.instances[0]?.layers[0];
    assert.ok(layer !== undefined);
    const src = await ref.newImageSource();
    try {
      const { stream } = await src.getBlob({ digest: layer.diffID as `sha256:${string}`, size: -1 });
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const { createHash } = await import('node:crypto');
      assert.equal(`sha256:${createHash('sha256').update(Buffer.concat(chunks)).digest('hex')}`, layer.diffID);
      await assert.rejects(
        src.getBlob({ digest: layer.digest as `sha256:${string}`, size: layer.size }),
        (e: unknown) => isFerryError(e, 'NOT_IMPLEMENTED') && e.message.includes(layer.diffID),
      );
    } finally {
      await src.close();
    }
  });
});
