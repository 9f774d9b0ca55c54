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
async function loadedPackages(body: string, env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
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
  const r = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, env });
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

  // Port 1 refuses, which is fine: the client was built and its ping sent.
  const openDockerSource = [
    "const ref = ferry.parseImageReference('docker://127.0.0.1:1/ns/img:tag');",
    'await ref.newImageSource({ tlsVerify: false, retryTimes: 0 }).then((s) => s.close(), () => {});',
  ].join('\n');

  test('a docker source connects with node:http: undici is not loaded without a proxy', async () => {
    const env = { ...process.env };
    for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) delete env[name];
    const packages = await loadedPackages(openDockerSource, env);
    assert.ok(!packages.includes('undici'), `undici loaded: ${packages.join(', ')}`);
  });

  test('a docker source behind HTTPS_PROXY loads undici (its proxy agent)', async () => {
    const packages = await loadedPackages(openDockerSource, {
      ...process.env,
      HTTPS_PROXY: 'http://127.0.0.1:1',
      NO_PROXY: '',
    });
    assert.ok(packages.includes('undici'), `undici not loaded: ${packages.join(', ')}`);
  });
});
