import assert from 'node:assert/strict';
import { readFile, writeFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { isFerryError } from '../../../src/errors.js';
import { assembleLayer, writeLayer } from '../../../src/transports/containers-storage/layer.js';
import { Store } from '../../../src/transports/containers-storage/store.js';
import { Crc64, decodeEntry } from '../../../src/transports/containers-storage/tar-split.js';
import { getXattr } from '../../../src/transports/containers-storage/xattr.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { rm } from 'node:fs/promises';

const isRoot = process.getuid?.() === 0;

async function tarOf(entries: { header: Partial<tar.Header> & { name: string }; body?: Buffer }[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(
        { ...e.header, mtime: e.header.mtime ?? new Date(1_700_000_000_000) },
        e.body ?? Buffer.alloc(0),
        (err) => (err ? reject(err) : resolve()),
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

describe('containers-storage: tar-split and layer contents', {
  skip: isRoot ? false : 'needs root (layer owners are written with lchown)',
}, () => {
  let dir: string;
  let store: Store;
  let n = 0;
  const nextID = () => `${String(++n).padStart(2, '0')}${'0'.repeat(62)}`;

  before(async () => {
    dir = await makeTempDir('ferry-tarsplit-');
    store = new Store('vfs', path.join(dir, 'root'), path.join(dir, 'run'));
    await store.ensureLayout();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('CRC-64/ISO of "123456789" is the check value of the ISO polynomial', () => {
    const c = new Crc64();
    c.update(Buffer.from('12345'));
    c.update(Buffer.from('6789'));
    assert.equal(c.digest().toString('hex'), 'b90956c775a41001');
  });

  test('a layer is rebuilt byte for byte: pax long names, a UTF-8 name, links, trailing record padding', async () => {
    const long = `d/${'x'.repeat(150)}/file`;
    const body = Buffer.alloc(70_000, 7);
    let bytes = await tarOf([
      { header: { name: 'd/', type: 'directory', mode: 0o755 } },
      { header: { name: long, type: 'file', mode: 0o640, uid: 1000, gid: 1001 }, body },
      { header: { name: 'd/link', type: 'symlink', linkname: '../nowhere' } },
      { header: { name: 'd/hard', type: 'link', linkname: long } },
      { header: { name: 'd/caf\u00e9', type: 'file', mode: 0o644 }, body: Buffer.from('utf8 name\n') },
    ]);
    // The 10240-byte record padding GNU tar writes after the end blocks.
    bytes = Buffer.concat([bytes, Buffer.alloc(10240 - (bytes.length % 10240))]);
    const id = nextID();
    const written = await writeLayer(store, id, undefined, Readable.from([bytes]), 'test');
    assert.equal(written.diffSize, bytes.length);
    assert.deepEqual(written.uids, [0, 1000]);
    assert.deepEqual(written.gids, [0, 1001]);
    assert.ok((await collect(assembleLayer(store, id, 'test'))).equals(bytes));
    const entries = gunzipSync(await readFile(store.tarSplitPath(id)))
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => decodeEntry(l, 'test'));
    assert.deepEqual(
      entries.filter((e) => e.type === 1).map((e) => e.name?.toString('utf8')),
      ['d/', long, 'd/link', 'd/hard', 'd/caf\u00e9'],
    );
    assert.equal(entries.at(-1)?.payload?.length, 0, 'the stream ends with an empty segment');
  });

  test('a file changed on disk after storing is refused on read (CRC-64 / size)', async () => {
    const bytes = await tarOf([{ header: { name: 'f', type: 'file' }, body: Buffer.from('original') }]);
    const id = nextID();
    await writeLayer(store, id, undefined, Readable.from([bytes]), 'test');
    await writeFile(path.join(store.layerDir(id), 'f'), 'tampered');
    await assert.rejects(collect(assembleLayer(store, id, 'test')), (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'));
  });

  test('names that climb out of the layer are refused; a symlinked parent resolves inside the layer', async () => {
    const climbing = await tarOf([{ header: { name: '../escape', type: 'file' }, body: Buffer.from('x') }]);
    await assert.rejects(writeLayer(store, nextID(), undefined, Readable.from([climbing]), 'test'), (e: unknown) =>
      isFerryError(e, 'UNSAFE_PATH'),
    );
    const outside = path.join(dir, 'outside');
    const viaLink = await tarOf([
      { header: { name: 'a', type: 'symlink', linkname: outside } },
      { header: { name: 'a/planted', type: 'file' }, body: Buffer.from('x') },
    ]);
    const id = nextID();
    await writeLayer(store, id, undefined, Readable.from([viaLink]), 'test');
    await assert.rejects(lstat(path.join(outside, 'planted')), { code: 'ENOENT' });
    assert.ok((await lstat(path.join(store.layerDir(id), outside, 'planted'))).isFile());
  });

  test('a child layer starts as a copy of its parent, then whiteouts apply', async () => {
    const parent = nextID();
    await writeLayer(
      store,
      parent,
      undefined,
      Readable.from([
        await tarOf([
          { header: { name: 'keep', type: 'file', uid: 5, gid: 6, mode: 0o4711 }, body: Buffer.from('k') },
          { header: { name: 'drop', type: 'file' }, body: Buffer.from('d') },
        ]),
      ]),
      'test',
    );
    const child = nextID();
    await writeLayer(
      store,
      child,
      parent,
      Readable.from([await tarOf([{ header: { name: '.wh.drop', type: 'file' } }])]),
      'test',
    );
    const keep = await lstat(path.join(store.layerDir(child), 'keep'));
    assert.deepEqual([keep.uid, keep.gid, keep.mode & 0o7777], [5, 6, 0o4711]);
    await assert.rejects(lstat(path.join(store.layerDir(child), 'drop')), { code: 'ENOENT' });
    assert.ok((await lstat(path.join(store.layerDir(parent), 'drop'))).isFile(), 'the parent is unchanged');
  });
  test('xattrs from pax records are set (after the chown), and a vfs child layer keeps the ones containers/storage copies', async () => {
    const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
    const header = {
      name: 'bin/ping',
      type: 'file' as const,
      uid: 7,
      mode: 0o755,
      pax: {
        'SCHILY.xattr.user.note': 'hello',
        'SCHILY.xattr.security.capability': capability.toString('latin1'),
      },
    } as Partial<tar.Header> & { name: string };
    const parent = nextID();
    await writeLayer(
      store,
      parent,
      undefined,
      Readable.from([await tarOf([{ header, body: Buffer.from('x') }])]),
      'test',
    );
    const child = nextID();
    await writeLayer(
      store,
      child,
      parent,
      Readable.from([await tarOf([{ header: { name: 'other', type: 'file' } }])]),
      'test',
    );
    for (const id of [parent, child]) {
      const file = path.join(store.layerDir(id), 'bin/ping');
      assert.equal((await getXattr(file, 'user.note'))?.toString(), 'hello', `user.note in ${id}`);
      assert.deepEqual(await getXattr(file, 'security.capability'), capability, `security.capability in ${id}`);
    }
  });

  test('overlay: a whiteout is a character device 0/0 and an opaque marker the trusted.overlay.opaque xattr', async () => {
    const ov = new Store('overlay', path.join(dir, 'ov-root'), path.join(dir, 'ov-run'));
    await ov.ensureLayout();
    const id = nextID();
    await writeLayer(
      ov,
      id,
      undefined,
      Readable.from([
        await tarOf([
          { header: { name: 'd/', type: 'directory' } },
          { header: { name: 'd/.wh..wh..opq', type: 'file' } },
          { header: { name: '.wh.gone', type: 'file', uid: 3, gid: 4 } },
        ]),
      ]),
      'test',
    );
    const diff = ov.layerDir(id);
    assert.equal(diff, path.join(dir, 'ov-root', 'overlay', id, 'diff'));
    const wh = await lstat(path.join(diff, 'gone'));
    assert.ok(wh.isCharacterDevice());
    assert.deepEqual([wh.rdev, wh.uid, wh.gid, wh.mode & 0o7777], [0, 3, 4, 0]);
    assert.equal((await getXattr(path.join(diff, 'd'), 'trusted.overlay.opaque'))?.toString(), 'y');
    await assert.rejects(lstat(path.join(diff, 'd', '.wh..wh..opq')), { code: 'ENOENT' });
    const link = (await readFile(path.join(dir, 'ov-root', 'overlay', id, 'link'), 'utf8')).trim();
    assert.match(link, /^[A-Z2-7]{26}$/);
    assert.equal((await lstat(path.join(dir, 'ov-root', 'overlay', 'l', link))).isSymbolicLink(), true);
  });
});
