/** `ferry manifest-digest` agrees with the real `skopeo manifest-digest` on every manifest fixture. */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fixturePath } from '../helpers/paths.js';
import { runFerry, runSkopeo } from '../helpers/run.js';

const dir = fixturePath('manifest');
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.json'))
  .sort();

describe('ferry manifest-digest matches skopeo manifest-digest', { concurrency: 4 }, () => {
  test('the manifest fixture folder is not empty', () => {
    assert.ok(files.length > 0, `no .json fixtures in ${dir}`);
  });

  for (const name of files) {
    test(`gives skopeo's answer for ${name}`, async () => {
      const path = `${dir}/${name}`;
      const [skopeo, ferry] = await Promise.all([
        runSkopeo(['manifest-digest', path]),
        runFerry(['manifest-digest', path]),
      ]);
      if (skopeo.code === 0) {
        assert.match(skopeo.stdout, /^sha256:[0-9a-f]{64}\n$/);
        assert.equal(ferry.stderr, '');
        assert.equal(ferry.code, 0);
        assert.equal(ferry.stdout, skopeo.stdout);
      } else {
        assert.notEqual(ferry.code, 0, `skopeo failed (${skopeo.stderr.trim()}) but ferry printed ${ferry.stdout}`);
        assert.equal(ferry.stdout, '');
        assert.match(ferry.stderr, new RegExp(`^ferry: .*${name.replace(/\./g, '\\.')}.*\\n$`));
      }
    });
  }

  test('a file that does not exist fails with a message naming it, like skopeo', async () => {
    const path = fixturePath('manifest', 'no-such-manifest.json');
    const skopeo = await runSkopeo(['manifest-digest', path]);
    const ferry = await runFerry(['manifest-digest', path]);
    assert.notEqual(skopeo.code, 0);
    assert.equal(ferry.code, skopeo.code);
    assert.equal(ferry.stdout, '');
    assert.match(ferry.stderr, /^ferry: cannot read manifest file ".*no-such-manifest\.json": .*ENOENT/);
  });
});
