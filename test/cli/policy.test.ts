import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { makeImage } from '../helpers/make-image.js';
import { runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const REJECT_ALL = JSON.stringify({ default: [{ type: 'reject' }] });

describe('trust policy flags (policy checks are not enforced yet)', () => {
  for (const where of ['before', 'after'] as const) {
    it(`copy refuses --policy given ${where} the command name in one line, creating no destination`, async () => {
      await withTempDir(async (dir) => {
        await makeImage(path.join(dir, 'src'), { tag: 't' });
        const policy = path.join(dir, 'policy.json');
        await writeFile(policy, REJECT_ALL);
        const images = [`oci:${dir}/src:t`, `oci:${dir}/out:t`];
        const args =
          where === 'before' ? ['--policy', policy, 'copy', ...images] : ['copy', '--policy', policy, ...images];
        const r = await runFerry(args);
        assert.equal(r.code, 1);
        assert.equal(r.stdout, '');
        assert.equal(
          r.stderr,
          `ferry: --policy ${policy}: trust policy checks are not supported yet, so nothing was copied ` +
            '(--insecure-policy copies without a check)\n',
        );
        assert.ok(!existsSync(path.join(dir, 'out')));
      });
    });
  }

  it('copy refuses --policy naming a missing file the same way, before reading it', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const r = await runFerry(['--policy', '/nonexistent/policy.json', 'copy', `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ferry: --policy \/nonexistent\/policy\.json: trust policy checks are not supported yet/);
      assert.ok(!existsSync(path.join(dir, 'out')));
    });
  });

  it('copy with --insecure-policy (no check asked) copies, even next to --policy', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't' });
      const policy = path.join(dir, 'policy.json');
      await writeFile(policy, REJECT_ALL);
      const r = await runFerry([
        '--insecure-policy',
        '--policy',
        policy,
        'copy',
        '-q',
        `oci:${dir}/src:t`,
        `dir:${dir}/out`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readFile(path.join(dir, 'out', 'manifest.json')), made.bytes);
    });
  });
});
