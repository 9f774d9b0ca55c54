/**
 * The README's main job, `npm run demo` (scripts/demo.sh), run as a user runs it: it must finish
 * and report the image config unchanged across every hop.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/run.js';

test('scripts/demo.sh (npm run demo) copies through every transport and finds the config unchanged', async () => {
  const r = await run('sh', [join(repoRoot, 'scripts', 'demo.sh')], { cwd: repoRoot, timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^demo: config sha256:[0-9a-f]{64} is the same in oci:, docker-archive: and dir:$/m);
  assert.match(r.stderr, /^\$ ferry copy --policy \S+policy.json tarball:/m);
});
