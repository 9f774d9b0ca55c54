/**
 * containers-storage layers against hostile tars (security review): a whiteout may only hide a
 * name inside the layer, never `.` or `..` (which would remove the layer root or the driver's
 * directory of all layers), and reading a layer back never follows a symbolic link out of it.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import tar from 'tar-stream';
import { isFerryError } from '../../../src/errors.js';
import { assembleLayer, writeLayer } from '../../../src/transports/containers-storage/layer.js';
import { Store } from '../../../src/transports/containers-storage/store.js';
import { getXattr } from '../../../src/transports/containers-storage/xattr.js';
import { TarType, tarOf } from '../../corpus/tar-build.js';
import { makeTempDir } from '../../helpers/tmp.js';

const isRoot = process.getuid?.() === 0;

/** A tar by tar-stream, for members with pax xattrs. */
async function paxTar(entries: (Partial<tar.Header> & { name: string })[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const header of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry({ mtime: new Date(1_700_000_000_000), ...header }, Buffer.alloc(0), (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

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

    test('xattrs and directory times set after the last member do not follow a directory later replaced by a symlink', async () => {
      const outside = path.join(dir, 'outside-late');
      await mkdir(path.join(outside, 'sub'), { recursive: true });
      await writeFile(path.join(outside, 'f'), '');
      const before = (await stat(path.join(outside, 'sub'))).mtimeMs;
      const bytes = await paxTar([
        { name: 'd/', type: 'directory' },
        { name: 'd/sub/', type: 'directory', mtime: new Date(1_000_000) },
        { name: 'd/f', type: 'file', pax: { 'SCHILY.xattr.user.ferry': 'planted' } },
        { name: 'd', type: 'symlink', linkname: outside },
      ]);
      await writeLayer(store, nextID(), undefined, Readable.from([bytes]), 'test').catch(() => undefined);
      assert.equal(await getXattr(path.join(outside, 'f'), 'user.ferry'), undefined, 'an xattr was set outside');
      assert.equal((await stat(path.join(outside, 'sub'))).mtimeMs, before, 'a directory outside got new times');
    });

    test('a layer cannot set its own SELinux label (security.selinux is ignored, as containers/storage)', async () => {
      const id = nextID();
      const bytes = await paxTar([
        { name: 'f', type: 'file', pax: { 'SCHILY.xattr.security.selinux': 'system_u:object_r:shadow_t:s0\0' } },
      ]);
      await writeLayer(store, id, undefined, Readable.from([bytes]), 'test');
      assert.equal(await getXattr(path.join(store.layerDir(id), 'f'), 'security.selinux'), undefined);
    });

    for (const [label, members] of [
      ['a path not extracted yet', [{ name: 'h', type: TarType.hardlink, linkname: 'later' }, { name: 'later' }]],
      [
        'a directory',
        [
          { name: 'd/', type: TarType.directory },
          { name: 'h', type: TarType.hardlink, linkname: 'd' },
        ],
      ],
      ['a name above the root', [{ name: 'h', type: TarType.hardlink, linkname: '../../../../etc/passwd' }]],
    ] as const) {
      test(`a hard link to ${label} is a typed error naming the member`, async () => {
        const id = nextID();
        await assert.rejects(
          writeLayer(store, id, undefined, Readable.from([tarOf(members)]), 'test'),
          (e: unknown) => isFerryError(e) && e.message.includes('"h"'),
        );
        assert.deepEqual(await readdir(dir).then((l) => l.includes('passwd')), false);
      });
    }

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

describe('containers-storage: extension headers are bounded in total, not only one by one', () => {
  /** `copies` pax headers of `size` bytes each, then one file: each header alone is under the 16 MiB cap. */
  async function stackedPax(copies: number, size: number, global: boolean): Promise<Buffer> {
    const chunks: Buffer[] = [];
    const pack = tar.pack();
    pack.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
    pack.entry({ name: 'f', mtime: new Date(0), pax: { comment: 'A'.repeat(size) } }, Buffer.from('x'));
    pack.finalize();
    await done;
    const bytes = Buffer.concat(chunks);
    const paxSize = Number.parseInt(bytes.subarray(124, 135).toString('latin1'), 8);
    const paxEnd = 512 + Math.ceil(paxSize / 512) * 512;
    const header = Buffer.from(bytes.subarray(0, paxEnd));
    if (global) {
      header.write('g', 156, 'latin1');
      header.fill(0x20, 148, 156);
      let sum = 0;
      for (const b of header.subarray(0, 512)) sum += b;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    }
    return Buffer.concat([...Array.from({ length: copies }, () => header), bytes.subarray(paxEnd)]);
  }

  for (const global of [false, true]) {
    test(`${global ? 'global' : 'per-file'} pax headers of 8 MiB, five in a row, are refused`, {
      skip: isRoot ? false : 'needs root',
    }, async () => {
      const dir = await makeTempDir('ferry-pax-stack-');
      try {
        const store = new Store('vfs', path.join(dir, 'root'), path.join(dir, 'run'));
        await store.ensureLayout();
        const bytes = await stackedPax(5, 8 * 1024 * 1024, global);
        await assert.rejects(
          writeLayer(store, `${'f'.repeat(64)}`, undefined, Readable.from([bytes]), 'test'),
          (e: unknown) => isFerryError(e, 'INVALID_ARCHIVE') && /extension header/.test(e.message),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('containers-storage: a tar-split file read as hostile', { skip: isRoot ? false : 'needs root' }, () => {
  test('a line longer than any the writer makes is refused as it is read, not buffered whole', async () => {
    const dir = await makeTempDir('ferry-tarsplit-line-');
    try {
      const store = new Store('vfs', path.join(dir, 'root'), path.join(dir, 'run'));
      await store.ensureLayout();
      const id = 'a'.repeat(64);
      await writeLayer(store, id, undefined, Readable.from([tarOf([{ name: 'f', data: 'x' }])]), 'test');
      await writeFile(store.tarSplitPath(id), gzipSync(Buffer.alloc(48 * 1024 * 1024, 'A')));
      await assert.rejects(
        collect(assembleLayer(store, id, 'test')),
        (e: unknown) => isFerryError(e, 'INVALID_LAYOUT') && /longer than/.test(e.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('containers-storage: store records read as hostile', () => {
  test('a layers.json or images.json ID that is not a plain name is refused before any path is built from it', async () => {
    const dir = await makeTempDir('ferry-records-');
    try {
      const store = new Store('vfs', path.join(dir, 'root'), path.join(dir, 'run'));
      await store.ensureLayout();
      for (const id of ['../../../etc', '/abs', 'a/b', '..', '.hidden', 'x\n']) {
        await writeFile(path.join(store.layersDir, 'layers.json'), JSON.stringify([{ id }]));
        await assert.rejects(store.readLayers(), (e: unknown) => isFerryError(e, 'INVALID_LAYOUT'), id);
        await writeFile(path.join(store.imagesDir, 'images.json'), JSON.stringify([{ id }]));
        await assert.rejects(store.readImages(), (e: unknown) => isFerryError(e, 'INVALID_LAYOUT'), id);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
