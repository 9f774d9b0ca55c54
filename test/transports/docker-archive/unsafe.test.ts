import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDockerArchiveReference } from '../../../src/transports/docker-archive/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { dockerArchive, expectUnsafeArchive, layerTar, type Member, sha256, writeTar } from './fixtures.js';

describe('docker-archive source refuses unsafe archives', () => {
  let sandbox: string;
  let tmpDir: string;
  let base: Member[];
  let layer: Buffer;

  before(async () => {
    sandbox = await makeTempDir('ferry-docker-archive-unsafe-');
    tmpDir = await makeTempDir('ferry-docker-archive-unsafe-tmp-');
    layer = await layerTar({ f: 'payload' });
    base = dockerArchive([{ repoTags: ['u:1'], layers: [layer], label: 'u' }]).members;
  });
  after(async () => {
    await rm(sandbox, { recursive: true, force: true });
    await rm(tmpDir, { recursive: true, force: true });
  });

  const expectUnsafe = (name: string, members: Member[], entry: string) =>
    expectUnsafeArchive(
      (path) => parseDockerArchiveReference(path).newImageSource({ tmpDir }),
      { sandbox, tmpDir },
      name,
      members,
      entry,
    );

  test('refuses a member named with ".."', async () => {
    await expectUnsafe('dotdot.tar', [{ name: '../evil', data: 'x' }, ...base], '../evil');
  });

  test('refuses a member with an absolute name', async () => {
    await expectUnsafe('abs.tar', [...base, { name: '/abs/evil', data: 'x' }], '/abs/evil');
  });

  test('refuses a symbolic link that points outside the archive', async () => {
    await expectUnsafe(
      'symlink-out.tar',
      [...base, { name: 'v1id/layer.tar', type: 'symlink', linkname: '../../outside.tar' }],
      'v1id/layer.tar',
    );
  });

  test('refuses a symbolic link to an absolute path', async () => {
    await expectUnsafe(
      'symlink-abs.tar',
      [...base, { name: 'v1id/layer.tar', type: 'symlink', linkname: '/etc/passwd' }],
      'v1id/layer.tar',
    );
  });

  test('refuses a hard link that points outside the archive', async () => {
    await expectUnsafe('hardlink.tar', [...base, { name: 'h', type: 'link', linkname: '../x' }], 'h');
  });

  test('refuses a manifest.json layer path that climbs out of the archive', async () => {
    const members = base.map((m) => {
      if (m.name !== 'manifest.json') return m;
      const items = JSON.parse(String(m.data)) as { Layers: string[] }[];
      (items[0] as { Layers: string[] }).Layers = ['../outside.tar'];
      return { ...m, data: JSON.stringify(items) };
    });
    await expectUnsafe('layers-out.tar', members, '../outside.tar');
  });

  test('follows a legacy layer.tar symbolic link that stays inside the archive', async () => {
    const hex = sha256(layer).slice(7);
    const members: Member[] = base.map((m) => {
      if (m.name !== 'manifest.json') return m;
      const items = JSON.parse(String(m.data)) as { Layers: string[] }[];
      (items[0] as { Layers: string[] }).Layers = ['v1id/layer.tar'];
      return { ...m, data: JSON.stringify(items) };
    });
    members.push({ name: 'v1id/layer.tar', type: 'symlink', linkname: `../${hex}.tar` });
    const path = join(sandbox, 'legacy.tar');
    await writeTar(path, members);
    const src = await parseDockerArchiveReference(path).newImageSource();
    try {
      const manifest = JSON.parse((await src.getManifest()).bytes.toString()) as {
        layers: { digest: string; size: number }[];
      };
      assert.deepEqual(
        manifest.layers.map((l) => [l.digest, l.size]),
        [[sha256(layer), layer.length]],
      );
    } finally {
      await src.close();
      await rm(path);
    }
  });
});
