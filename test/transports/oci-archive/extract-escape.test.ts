/**
 * oci-archive extraction against hostile tars: nothing may be created outside the extraction root
 * (not even a directory), no link may point outside it, dangling or not, and the temp dir goes away.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type FerryErrorCode, isFerryError } from '../../../src/errors.js';
import { parseOciArchiveReference } from '../../../src/transports/oci-archive/index.js';
import { ociTransport } from '../../../src/transports/oci-layout/index.js';
import { registerTransport } from '../../../src/transports/registry.js';
import { makeImage } from '../../helpers/make-image.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { layoutMembers } from '../../corpus/layout-members.js';
import { type TarMember, TarType, tarOf } from '../../corpus/tar-build.js';

const { symlink, hardlink, directory, charDevice, blockDevice, fifo } = TarType;

describe('oci-archive extraction refuses escapes before creating anything', () => {
  let base: string;
  let archives: string;
  /** Ferry's temp dir: each extraction root is made inside it, so its own entries are "outside". */
  let tmpDir: string;
  let layout: TarMember[];

  before(async () => {
    registerTransport(ociTransport);
    base = await makeTempDir('ferry-extract-escape-');
    archives = join(base, 'archives');
    tmpDir = join(base, 'tmp');
    await mkdir(archives);
    await mkdir(tmpDir);
    await makeImage(join(base, 'layout'), { tag: 't', layers: 1, layerSize: 2000 });
    layout = await layoutMembers(join(base, 'layout'));
    await rm(join(base, 'layout'), { recursive: true });
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  /** Opens an archive of `members`; returns the error (or undefined) and checks nothing stayed behind. */
  async function open(name: string, members: TarMember[]): Promise<unknown> {
    const path = join(archives, name);
    await writeFile(path, tarOf(members));
    let error: unknown;
    try {
      const src = await parseOciArchiveReference(path).newImageSource({ tmpDir });
      try {
        await src.getManifest();
      } finally {
        await src.close();
      }
    } catch (e) {
      error = e;
    }
    const left = {
      tmp: await readdir(tmpDir),
      archives: await readdir(archives),
      base: (await readdir(base)).filter((e) => e !== 'secret').sort(),
    };
    // Cleaned before asserting, so that one failure does not fail every later case.
    for (const entry of left.tmp) await rm(join(tmpDir, entry), { recursive: true, force: true });
    for (const entry of left.archives) await rm(join(archives, entry), { recursive: true, force: true });
    assert.deepEqual(left.tmp, [], `${name}: the extraction root or something outside it is left in the temp dir`);
    assert.deepEqual(left.archives, [name], `${name}: something was written beside the archive`);
    assert.deepEqual(left.base, ['archives', 'tmp'], `${name}: something was written outside`);
    return error;
  }

  async function expectRefused(name: string, members: TarMember[], code: FerryErrorCode, entry: string): Promise<void> {
    const error = await open(name, members);
    assert.ok(isFerryError(error, code), `${name}: expected ${code}, got ${String(error)}`);
    assert.ok(error.message.includes(`"${entry}"`), `${name}: the message names the entry: ${error.message}`);
    assert.ok(error.message.includes(join(archives, name)), `${name}: the message names the archive: ${error.message}`);
  }

  async function expectAccepted(name: string, members: TarMember[]): Promise<void> {
    const error = await open(name, members);
    assert.equal(error, undefined, `${name}: ${String(error)}`);
  }

  test("a chain of links (a -> ., a/b -> ..) cannot create a file member's directories outside", async () => {
    await expectRefused(
      'chain-file.tar',
      [
        ...layout,
        { name: 'a', type: symlink, linkname: '.' },
        { name: 'a/b', type: symlink, linkname: '..' },
        { name: 'a/b/x/y', data: 'z' },
      ],
      'UNSAFE_PATH',
      'a/b',
    );
    assert.equal(existsSync(join(tmpDir, 'x')), false);
  });

  test('a chain of links cannot create a directory member outside', async () => {
    await expectRefused(
      'chain-dir.tar',
      [
        ...layout,
        { name: 'a', type: symlink, linkname: '.' },
        { name: 'a/b', type: symlink, linkname: '..' },
        { name: 'a/b/d/e/', type: directory },
      ],
      'UNSAFE_PATH',
      'a/b',
    );
    assert.equal(existsSync(join(tmpDir, 'd')), false);
  });

  test('a file is never written through a link, even one that stays inside', async () => {
    await expectRefused(
      'through-link.tar',
      [...layout, { name: 'd', type: symlink, linkname: 'blobs' }, { name: 'd/sha256/x', data: 'z' }],
      'UNSAFE_PATH',
      'd/sha256/x',
    );
  });

  test('a dangling link that leads outside through another link is refused', async () => {
    await expectRefused(
      'dangling-chain.tar',
      [...layout, { name: 's', type: symlink, linkname: '.' }, { name: 't', type: symlink, linkname: 's/../nowhere' }],
      'UNSAFE_PATH',
      't',
    );
  });

  test('a dangling link that climbs out of the root is refused', async () => {
    await expectRefused(
      'dangling-out.tar',
      [...layout, { name: 'blobs/l', type: symlink, linkname: '../../nowhere' }],
      'UNSAFE_PATH',
      'blobs/l',
    );
  });

  test('a link to an absolute path is refused, dangling or not', async () => {
    await expectRefused(
      'absolute-link.tar',
      [...layout, { name: 'l', type: symlink, linkname: '/nonexistent/x' }],
      'UNSAFE_PATH',
      'l',
    );
  });

  test('absolute and ".." member names are refused', async () => {
    for (const name of ['/evil', '../evil', './../evil', 'blobs/../../evil']) {
      await expectRefused('names.tar', [...layout, { name, data: 'x' }], 'UNSAFE_PATH', name);
    }
  });

  test('hard links only reach regular files already extracted inside', async () => {
    await writeFile(join(tmpDir, '..', 'secret'), 'outside');
    try {
      await expectRefused(
        'hard-out.tar',
        [...layout, { name: 'h', type: hardlink, linkname: '../secret' }],
        'UNSAFE_PATH',
        'h',
      );
      await expectRefused(
        'hard-chain.tar',
        [
          ...layout,
          { name: 'a', type: symlink, linkname: '.' },
          { name: 'h', type: hardlink, linkname: 'a/../../secret' },
        ],
        'UNSAFE_PATH',
        'h',
      );
      await expectRefused(
        'hard-dir.tar',
        [...layout, { name: 'h', type: hardlink, linkname: 'blobs' }],
        'UNSAFE_PATH',
        'h',
      );
      await expectRefused(
        'hard-symlink.tar',
        [...layout, { name: 's', type: symlink, linkname: 'index.json' }, { name: 'h', type: hardlink, linkname: 's' }],
        'UNSAFE_PATH',
        'h',
      );
      await expectRefused(
        'hard-later.tar',
        [{ name: 'h', type: hardlink, linkname: 'index.json' }, ...layout],
        'UNSAFE_PATH',
        'h',
      );
    } finally {
      await rm(join(tmpDir, '..', 'secret'));
    }
  });

  test('device and FIFO entries are refused', async () => {
    for (const type of [charDevice, blockDevice, fifo]) {
      await expectRefused(`device-${type}.tar`, [...layout, { name: 'dev', type }], 'INVALID_ARCHIVE', 'dev');
    }
  });

  test('a later member of the same name replaces the earlier one, without following it', async () => {
    const index = layout.find((m) => m.name === 'index.json') as TarMember;
    await expectAccepted('dup-file.tar', [{ name: 'index.json', data: 'not json' }, ...layout]);
    await expectAccepted('file-then-link.tar', [
      ...layout,
      { name: 'index-copy.json', data: index.data },
      { name: 'index.json', type: symlink, linkname: 'index-copy.json' },
    ]);
    // A link replaced by a file: the file is written in the link's place, not through it.
    await expectAccepted('link-then-file.tar', [{ name: 'index.json', type: symlink, linkname: 'nowhere' }, ...layout]);
  });

  test('pax names are checked like ustar names, and long valid names extract', async () => {
    await expectRefused(
      'pax-dotdot.tar',
      [...layout, { name: `${'d/'.repeat(60)}../../${'../'.repeat(60)}evil`, data: 'x' }],
      'UNSAFE_PATH',
      `${'d/'.repeat(60)}../../${'../'.repeat(60)}evil`,
    );
    await expectRefused(
      'pax-link.tar',
      [...layout, { name: 'l', type: symlink, linkname: '../x', pax: true }],
      'UNSAFE_PATH',
      'l',
    );
    await expectAccepted('pax-long.tar', [...layout, { name: `blobs/${'n'.repeat(200)}`, data: 'x' }]);
  });
});
