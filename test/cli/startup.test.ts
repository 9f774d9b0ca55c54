/**
 * Start-up stays lean: importing Ferry and parsing references loads no heavy npm package (undici,
 * the SQLite driver, tar, zstd, xz, TOML); each loads when an image, cache or config first needs it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/paths.js';
import { run } from '../helpers/run.js';

const HEAVY_PACKAGES = ['undici', 'better-sqlite3', 'tar-stream', 'zstd-napi', 'lzma-native', 'smol-toml'];

/** Runs `body` (ES module code, with Ferry imported as `ferry`) in a child and returns the npm packages it loaded. */
async function loadedPackages(body: string): Promise<string[]> {
  const index = pathToFileURL(join(repoRoot, 'dist', 'src', 'index.js')).href;
  const script = [
    "import { createRequire } from 'node:module';",
    `const ferry = await import(${JSON.stringify(index)});`,
    body,
    // Every CommonJS file (packages, also when imported from ESM) goes through this one cache.
    'const files = Object.keys(createRequire(import.meta.url).cache);',
    'const packages = [...new Set(files.flatMap((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1] ?? []))];',
    'process.stdout.write(JSON.stringify(packages));',
  ].join('\n');
  const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe('start-up cost', () => {
  test('importing Ferry and parsing references of every transport loads no heavy package', async () => {
    const packages = await loadedPackages(
      [
        "ferry.parseImageReference('docker://registry.example/ns/img:tag');",
        "ferry.parseImageReference('oci:/tmp/layout:tag');",
        "ferry.parseImageReference('dir:/tmp/dir');",
        "ferry.parseImageReference('docker-archive:/tmp/a.tar:img:tag');",
        "ferry.parseImageReference('oci-archive:/tmp/a.tar:tag');",
      ].join('\n'),
    );
    for (const name of HEAVY_PACKAGES)
      assert.ok(!packages.includes(name), `${name} was loaded: ${packages.join(', ')}`);
  });

  test('opening a docker source loads undici (the registry client is lazy, not missing)', async () => {
    const packages = await loadedPackages(
      [
        "const ref = ferry.parseImageReference('docker://127.0.0.1:1/ns/img:tag');",
        // Opening pings the registry; port 1 refuses, which is fine: the client was built.
        'await ref.newImageSource({ tlsVerify: false, retryTimes: 0 }).then((s) => s.close(), () => {});',
      ].join('\n'),
    );
    assert.ok(packages.includes('undici'), `undici not loaded: ${packages.join(', ')}`);
  });
});
