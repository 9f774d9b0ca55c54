import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { test } from 'node:test';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { withTempDir } from '../helpers/tmp.js';
import { checkLayout } from './check.js';

test('the layout check finds a damaged layer, a missing manifest, a stray temp file and a broken index.json', async () => {
  await withTempDir(async (dir) => {
    const made = await makeImage(dir, { tag: 'a', platforms: ['linux/amd64', 'linux/arm64'], layerSize: 4096 });
    const other = await makeImage(dir, { tag: 'b', seed: 2, layerSize: 4096 });
    const clean = await checkLayout(dir);
    assert.deepEqual(clean.problems, []);
    assert.deepEqual(
      [...clean.tags],
      [
        ['a', made.digest],
        ['b', other.digest],
      ],
    );

    const layer = blobPath(dir, made.instances[1]?.layers[0]?.digest ?? '');
    const bytes = await readFile(layer);
    bytes[10] = (bytes[10] ?? 0) ^ 1;
    await writeFile(layer, bytes);
    await rm(blobPath(dir, other.digest));
    await writeFile(`${dir}/blobs/sha256/.tmp-left-behind`, 'x');
    const damaged = await checkLayout(dir);
    // The damaged layer counts twice: as a referenced blob and as a file under the wrong name.
    assert.equal(damaged.problems.length, 4, damaged.problems.join('\n'));
    assert.match(damaged.problems.join('\n'), /stray file blobs\/sha256\/\.tmp-left-behind/);

    await writeFile(`${dir}/index.json`, '{"manifests": [');
    assert.match((await checkLayout(dir)).problems.join('\n'), /index\.json/);
  });
});
