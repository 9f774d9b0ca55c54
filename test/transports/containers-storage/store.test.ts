import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { bigDataBaseName, chainedLayerID, Store } from '../../../src/transports/containers-storage/store.js';
import { withTempDir } from '../../helpers/tmp.js';

describe('containers-storage: store naming as containers/storage and containers/image do it', () => {
  test('layer IDs chain from diffIDs: a base layer is its diffID hex, a child sha256 of PARENT+DIFFIDHEX', () => {
    const diffID = `sha256:${'d6575c219db91a830f399e43d8f71207951ee56116c608653cc0389a7136f0d2'}` as const;
    assert.equal(chainedLayerID(undefined, diffID), diffID.slice(7));
    // Seen in a store skopeo 1.9.3 wrote.
    assert.equal(
      chainedLayerID(diffID.slice(7), 'sha256:32b35c1727840baf5c955a65402234f9c748b79f41a66b82d2d28e4c767698f1'),
      '56db91c486dfe18829456d8f74b28e1623e4eedde72014a88db708e36379c201',
    );
  });

  test('big data file names: plain when only [.0-9a-z], else "=" and base64', () => {
    assert.equal(bigDataBaseName('manifest'), 'manifest');
    assert.equal(
      bigDataBaseName('manifest-sha256:9e9f019dd8611dd7b3864a2b598f9121e5f793445ea3a503c061d9b14c90ace8'),
      '=bWFuaWZlc3Qtc2hhMjU2OjllOWYwMTlkZDg2MTFkZDdiMzg2NGEyYjU5OGY5MTIxZTVmNzkzNDQ1ZWEzYTUwM2MwNjFkOWIxNGM5MGFjZTg=',
    );
  });

  test('the driver comes from the brackets, else the one whose layers the graph root holds; others are NOT_IMPLEMENTED', async () => {
    await withTempDir(async (dir) => {
      const spec = { graphRoot: path.join(dir, 'g'), runRoot: path.join(dir, 'r') };
      assert.equal((await Store.resolve({ ...spec, driver: 'vfs' }, 'x')).driver, 'vfs');
      // A storage.conf that names no driver: the graph root's existing layers decide, else overlay.
      const conf = path.join(dir, 'storage.conf');
      await writeFile(conf, '[storage]\n');
      const saved = process.env.CONTAINERS_STORAGE_CONF;
      process.env.CONTAINERS_STORAGE_CONF = conf;
      try {
        assert.equal((await Store.resolve({ ...spec }, 'x')).driver, 'overlay');
        await mkdir(path.join(dir, 'g', 'vfs-layers'), { recursive: true });
        assert.equal((await Store.resolve({ ...spec }, 'x')).driver, 'vfs');
      } finally {
        if (saved === undefined) delete process.env.CONTAINERS_STORAGE_CONF;
        else process.env.CONTAINERS_STORAGE_CONF = saved;
      }
      await assert.rejects(
        Store.resolve({ ...spec, driver: 'btrfs' }, 'containers-storage:[btrfs@/g]x'),
        (e: unknown) => isFerryError(e, 'NOT_IMPLEMENTED') && /"btrfs" storage driver/.test(e.message),
      );
    });
  });
});
