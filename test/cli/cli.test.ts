import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test } from 'node:test';
import { ferryBin, fixturePath, repoRoot } from '../helpers/paths.js';
import { run, runFerry, runSkopeo } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('ferry CLI frame', () => {
  test('--help lists the manifest-digest command and exits 0', async () => {
    const r = await runFerry(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: ferry /);
    assert.match(r.stdout, /^\s+manifest-digest <manifest-file>\s/m);
  });

  test('--help does not show the hidden policy flags', async () => {
    const r = await runFerry(['--help']);
    assert.doesNotMatch(r.stdout, /--insecure-policy|--policy/);
    assert.match(r.stdout, /--override-arch <arch>/);
  });

  test('--version and -v print "ferry version" and the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await runFerry([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `ferry version ${version}\n`);
      assert.equal(r.stderr, '');
    }
  });

  test('an unknown command exits with the same code as skopeo and names the command', async () => {
    // A name close to no command (commander, like cobra, suggests near names such as logout for bogus).
    const skopeo = await runSkopeo(['frobnicate']);
    const r = await runFerry(['frobnicate']);
    assert.equal(r.code, 1);
    assert.equal(r.code, skopeo.code);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "ferry: unknown command 'frobnicate'\n");
  });

  test('a missing argument exits 1 like skopeo and names the argument', async () => {
    const skopeo = await runSkopeo(['manifest-digest']);
    const r = await runFerry(['manifest-digest']);
    assert.equal(r.code, skopeo.code);
    assert.match(r.stderr, /^ferry: missing required argument 'manifest-file'\n$/);
  });

  test('an extra argument is a usage error', async () => {
    const r = await runFerry(['manifest-digest', 'a.json', 'b.json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ferry: too many arguments/);
  });

  test('an unknown flag is a usage error', async () => {
    const r = await runFerry(['--bogus-flag']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ferry: unknown option '--bogus-flag'/);
  });

  test('global flags are accepted before the command, hidden ones included', async () => {
    const path = fixturePath('manifest', 'v2s2.manifest.json');
    const plain = await runFerry(['manifest-digest', path]);
    const r = await runFerry([
      '--tmpdir', '/tmp', '--override-os', 'linux', '--override-arch', 'arm64', '--override-variant', 'v8',
      '--insecure-policy', '--policy', '/nonexistent/policy.json', 'manifest-digest', path,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, plain.stdout);
  });

  test('a FerryError prints one "ferry: " line without a stack trace and exits 1', async () => {
    const r = await runFerry(['manifest-digest', fixturePath('manifest', 'v2s1-invalid-signatures.manifest.json')]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^ferry: [^\n]*v2s1-invalid-signatures\.manifest\.json[^\n]*\n$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('--debug adds the stack trace to an error', async () => {
    const r = await runFerry(['--debug', 'manifest-digest', fixturePath('manifest', 'v2s1-invalid-signatures.manifest.json')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ferry: /);
    assert.match(r.stderr, /\n\s+at /);
  });

  test('manifest-digest prints the digest and a newline for a manifest in a temp dir', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'manifest.json');
      await writeFile(path, '{"schemaVersion":2}');
      const r = await runFerry(['manifest-digest', path]);
      assert.equal(r.code, 0, r.stderr);
      const expected = createHash('sha256').update('{"schemaVersion":2}').digest('hex');
      assert.equal(r.stdout, `sha256:${expected}\n`);
    });
  });

  test('--version loads no library module (start-up stays lean)', async () => {
    await withTempDir(async (dir) => {
      const logPath = join(dir, 'loaded.txt');
      const hooks = join(dir, 'hooks.mjs');
      await writeFile(
        hooks,
        [
          "import { appendFileSync } from 'node:fs';",
          'export async function resolve(specifier, context, next) {',
          '  const r = await next(specifier, context);',
          `  appendFileSync(${JSON.stringify(logPath)}, r.url + '\\n');`,
          '  return r;',
          '}',
          '',
        ].join('\n'),
      );
      const register = join(dir, 'register.mjs');
      await writeFile(
        register,
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
      );
      const r = await run(process.execPath, ['--import', pathToFileURL(register).href, ferryBin, '--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `ferry version ${version}\n`);
      const loaded = readFileSync(logPath, 'utf8').split('\n').filter((u) => u.includes('/dist/src/'));
      assert.ok(loaded.some((u) => u.endsWith('/dist/src/cli/main.js')), `main.js not seen: ${loaded.join(', ')}`);
      const library = loaded.filter((u) => !u.includes('/dist/src/cli/'));
      assert.deepEqual(library, []);
    });
  });
});
