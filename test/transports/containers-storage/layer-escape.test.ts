/**
 * containers-storage layers against hostile tars (security review): a whiteout may only hide a
 * name inside the layer, never `.` or `..` (which would remove the layer root or the driver's
 * directory of all layers), and reading a layer back never follows a symbolic link out of it.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { assembleLayer, writeLayer } from '../../../src/transports/containers-storage/layer.js';
import { Store } from '../../../src/transports/containers-storage/store.js';
import { TarType, tarOf } from '../../corpus/tar-build.js';
import { makeTempDir } from '../../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

for (const driver of ['vfs', 'overlay'] as const) {
  describe(`containers-storage (${driver}): hostile layers stay inside the layer`, {
    skip: isRoot ? false : 'needs root (layer owners are written with lchown)',
  }, () => {
    let dir: string;
    let store: Store;
    let n = 0;
    const nextID = () => `${String(++n).padStart(2, '0')}${'e'.repeat(62)}`;
    /** A layer written before the hostile one: it must survive. */
    let bystander: string;

    before(async () => {
      dir = await makeTempDir('ferry-layer-escape-');
      store = new Store(driver, path.join(dir, 'root'), path.join(dir, 'run'));
      await store.ensureLayout();
      bystander = nextID();
      await writeLayer(store, bystander, undefined, Readable.from([tarOf([{ name: 'keep', data: 'kept' }])]), 'test');
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    for (const name of ['.wh...', '.wh..', 'sub/.wh...', 'sub/.wh..']) {
      test(`a whiteout ${JSON.stringify(name)} is refused and removes nothing`, async () => {
        const id = nextID();
        const members = [
          { name: 'sub/', type: TarType.directory },
          { name: 'sub/f', data: 'x' },
          { name, data: '' },
        ];
        await assert.rejects(
          writeLayer(store, id, undefined, Readable.from([tarOf(members)]), 'test'),
          (e: unknown) => isFerryError(e, 'UNSAFE_PATH') && e.message.includes(JSON.stringify(name)),
        );
        assert.ok((await lstat(path.join(store.layerDir(bystander), 'keep'))).isFile(), 'another layer survives');
        assert.ok((await lstat(store.layerDir(id))).isDirectory(), 'the layer root survives');
        assert.ok((await lstat(path.join(store.layerDir(id), 'sub', 'f'))).isFile(), 'the layer files survive');
      });
    }

    test('a file replaced by a symbolic link to a host file is not read through the link', async () => {
      const secret = path.join(dir, 'secret');
      await writeFile(secret, 'host secret bytes');
      const id = nextID();
      const members = [
        { name: 'f', data: 'layer bytes here!' }, // as long as the secret
        { name: 'f', type: TarType.symlink, linkname: secret },
      ];
      await writeLayer(store, id, undefined, Readable.from([tarOf(members)]), 'test');
      let got = Buffer.alloc(0);
      let error: unknown;
      try {
        for await (const c of assembleLayer(store, id, 'test')) got = Buffer.concat([got, c]);
      } catch (e) {
        error = e;
      }
      assert.ok(!got.includes('host secret'), 'the host file was read through the link');
      assert.ok(isFerryError(error), `a typed error, got ${String(error)}`);
    });

    test('a symbolic-link parent in the tar-split data resolves inside the layer when read back', async () => {
      const outside = path.join(dir, 'outside');
      await mkdir(outside, { recursive: true });
      await writeFile(path.join(outside, 'f'), 'outside bytes!');
      const id = nextID();
      const members = [
        { name: 'd/', type: TarType.directory },
        { name: 'd/f', data: 'inside bytes!!' },
        { name: 'd', type: TarType.symlink, linkname: outside },
      ];
      await writeLayer(store, id, undefined, Readable.from([tarOf(members)]), 'test');
      const got = await collect(assembleLayer(store, id, 'test')).catch(() => Buffer.alloc(0));
      assert.ok(!got.includes('outside bytes'), 'read a file outside the layer');
      assert.deepEqual(await readdir(outside), ['f']);
    });
  });
}
