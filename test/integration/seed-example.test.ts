/**
 * The README's library example, run as a user would write it: a script that imports 'ferry' by
 * its package name, against the real registry holding a `fedora` repository that skopeo pushed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { repoRoot } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const SEED_EXAMPLE = (host: string) => `
import { parseImageReference } from 'ferry';
const ref = parseImageReference('docker://${host}/fedora');
const img = await ref.newImage({ tlsVerify: false });
try {
  const { bytes, mimeType } = await img.manifest();
  console.log(mimeType, bytes.toString());
} finally {
  await img.close();
}
`;

describe('the seed library example', () => {
  let reg: TestRegistry;
  let dir: string;
  let image: MadeImage;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-seed-');
    image = await makeImage(join(dir, 'oci'), { tag: 'latest', layers: 2, layerSize: 50_000, seed: 3 });
    const push = await runSkopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${dir}/oci:latest`,
      `docker://${reg.host}/fedora`,
    ]);
    assert.equal(push.code, 0, push.stderr);
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('prints the exact manifest bytes and MIME type of docker://HOST/fedora', async () => {
    // Inside the package folder, `import 'ferry'` resolves to this package through its "exports".
    const scriptDir = await mkdtemp(join(repoRoot, 'dist', 'seed-'));
    try {
      const script = join(scriptDir, 'example.mjs');
      await writeFile(script, SEED_EXAMPLE(reg.host));
      const r = await run(process.execPath, [script]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `application/vnd.oci.image.manifest.v1+json ${image.bytes.toString()}\n`);
    } finally {
      await rm(scriptDir, { recursive: true, force: true });
    }
  });
});
