import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeImage } from '../helpers/make-image.js';
import { fixturePath, repoRoot } from '../helpers/paths.js';
import { startRegistry } from '../helpers/registry.js';
import { type RunResult, run, runFerry, runSkopeo } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('ferry CLI frame', () => {
  test('--help lists the manifest-digest command and exits 0', async () => {
    const r = await runFerry(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: ferry /);
    assert.match(r.stdout, /^\s+manifest-digest <manifest-file>\s/m);
  });

  test('--help shows the trust policy flags, as skopeo does', async () => {
    const r = await runFerry(['--help'], { defaultPolicy: true });
    assert.match(r.stdout, /^\s+--insecure-policy\s/m);
    assert.match(r.stdout, /^\s+--policy <path>\s/m);
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
      '--tmpdir',
      '/tmp',
      '--override-os',
      'linux',
      '--override-arch',
      'arm64',
      '--override-variant',
      'v8',
      '--insecure-policy',
      '--policy',
      '/nonexistent/policy.json',
      'manifest-digest',
      path,
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
    const r = await runFerry([
      '--debug',
      'manifest-digest',
      fixturePath('manifest', 'v2s1-invalid-signatures.manifest.json'),
    ]);
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

  /** Runs `node bin/ferry.cjs ARGS` and returns the node built-in modules it loaded, with the result. */
  async function builtinsLoaded(
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ): Promise<{ r: RunResult; builtins: string[] }> {
    return withTempDir(async (dir) => {
      const logPath = join(dir, 'loaded.txt');
      const preload = join(dir, 'preload.cjs');
      await writeFile(
        preload,
        `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(logPath)}, process.moduleLoadList.join('\\n')));\n`,
      );
      const r = await run(process.execPath, ['--require', preload, join(repoRoot, 'bin', 'ferry.cjs'), ...args], {
        env,
      });
      const builtins = readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('NativeModule '))
        .map((l) => l.slice('NativeModule '.length));
      return { r, builtins };
    });
  }

  test('--version answers without compiling the bundle or loading network modules', async () => {
    const { r, builtins } = await builtinsLoaded(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `ferry version ${version}\n`);
    for (const heavy of ['vm', 'http', 'tls', 'zlib', 'child_process'])
      assert.ok(!builtins.includes(heavy), `${heavy} loaded`);
  });

  test('a command that opens no connection loads neither node:http nor node:tls nor node:http2', async () => {
    const { r, builtins } = await builtinsLoaded(['manifest-digest', fixturePath('manifest', 'v2s2.manifest.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/);
    for (const heavy of ['http', 'tls', 'http2']) assert.ok(!builtins.includes(heavy), `${heavy} loaded`);
  });

  test("a copy to a registry never loads node:http2 (nor undici's HTTP/2 client, bundled for the proxy path)", async () => {
    const reg = await startRegistry();
    try {
      await withTempDir(async (dir) => {
        await makeImage(join(dir, 'img'), { tag: 't', layers: 1, layerSize: 1024 });
        const { r, builtins } = await builtinsLoaded([
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${dir}/img:t`,
          `docker://${reg.host}/h2/none:t`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(builtins.includes('http'), 'the copy did not even load node:http');
        assert.ok(!builtins.includes('http2'), 'http2 loaded');
        // The registry answered plain http on its port, so there was no TLS to try (ping.ts).
        assert.ok(!builtins.includes('tls'), 'node:tls loaded for a plain-http registry');
      });
    } finally {
      await reg.stop();
    }
  });

  test('the V8 code cache is written once per command and build, and a broken cache file is only a slower start', async () => {
    await withTempDir(async (dir) => {
      const env = { ...process.env, XDG_CACHE_HOME: dir };
      const manifest = fixturePath('manifest', 'v2s2.manifest.json');
      const first = await runFerry(['manifest-digest', manifest], { env });
      assert.equal(first.code, 0, first.stderr);
      const codeDir = join(dir, 'ferry', 'code');
      const files = readdirSync(codeDir);
      assert.equal(files.length, 1, files.join(', '));
      assert.match(files[0]!, /^[0-9a-f]{8}-[0-9a-f]{8}-manifest-digest\.bin$/);
      const made = statSync(join(codeDir, files[0]!)).mtimeMs;
      const again = await runFerry(['manifest-digest', manifest], { env });
      assert.equal(again.stdout, first.stdout);
      assert.equal(statSync(join(codeDir, files[0]!)).mtimeMs, made, 'a valid cache was written again');
      // Global options before the command (and their values) do not hide it: same cache file.
      const withGlobals = await runFerry(['--insecure-policy', '--tmpdir', dir, 'manifest-digest', manifest], { env });
      assert.equal(withGlobals.stdout, first.stdout);
      assert.deepEqual(readdirSync(codeDir), files);
      await writeFile(join(codeDir, files[0]!), 'not a code cache');
      const broken = await runFerry(['manifest-digest', manifest], { env });
      assert.equal(broken.code, 0, broken.stderr);
      assert.equal(broken.stdout, first.stdout);
      assert.notEqual(
        readFileSync(join(codeDir, files[0]!), 'utf8'),
        'not a code cache',
        'the rejected cache was not replaced',
      );
    });
  });

  test("writing a code cache removes caches not written for 30 days (other installs', gone ones), and keeps at most 256", async () => {
    await withTempDir(async (dir) => {
      const codeDir = join(dir, 'ferry', 'code');
      await mkdir(codeDir, { recursive: true });
      const old = new Date(Date.now() - 40 * 24 * 3600 * 1000);
      const stale = join(codeDir, 'deadbeef-00000000-copy-oci.bin');
      const leftover = join(codeDir, 'deadbeef-00000000-copy-oci.bin.123.tmp');
      const recent = join(codeDir, 'cafebabe-11111111-inspect-docker.bin');
      for (const f of [stale, leftover, recent]) await writeFile(f, 'cache');
      await utimes(stale, old, old);
      await utimes(leftover, old, old);
      const r = await runFerry(['manifest-digest', fixturePath('manifest', 'v2s2.manifest.json')], {
        env: { ...process.env, XDG_CACHE_HOME: dir },
      });
      assert.equal(r.code, 0, r.stderr);
      const left = readdirSync(codeDir).sort();
      assert.ok(!left.includes('deadbeef-00000000-copy-oci.bin'), left.join(', '));
      assert.ok(!left.includes('deadbeef-00000000-copy-oci.bin.123.tmp'), left.join(', '));
      assert.ok(left.includes('cafebabe-11111111-inspect-docker.bin'), left.join(', '));
      assert.equal(left.filter((f) => f.endsWith('-manifest-digest.bin')).length, 1, left.join(', '));

      // Past 256 files, the oldest go.
      for (let i = 0; i < 300; i++) {
        const f = join(codeDir, `${i.toString(16).padStart(8, '0')}-22222222-other.bin`);
        await writeFile(f, 'cache');
        const when = new Date(Date.now() - (300 - i) * 60_000);
        await utimes(f, when, when);
      }
      await rm(join(codeDir, left.find((f) => f.endsWith('-manifest-digest.bin'))!));
      const again = await runFerry(['manifest-digest', fixturePath('manifest', 'v2s2.manifest.json')], {
        env: { ...process.env, XDG_CACHE_HOME: dir },
      });
      assert.equal(again.code, 0, again.stderr);
      const kept = readdirSync(codeDir);
      assert.equal(kept.length, 256);
      assert.ok(
        kept.some((f) => f.endsWith('-manifest-digest.bin')),
        'the cache just written was removed',
      );
      assert.ok(!kept.includes('00000000-22222222-other.bin'), 'the oldest stayed');
      assert.ok(kept.includes(`${(299).toString(16).padStart(8, '0')}-22222222-other.bin`), 'the newest went');
    });
  });

  test('a registry command keeps its code cache valid from run to run (its V8 flag is set only after the cache is read)', async () => {
    const reg = await startRegistry();
    try {
      await withTempDir(async (dir) => {
        const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'cache') };
        await makeImage(join(dir, 'img'), { tag: 't', layers: 1, layerSize: 1024 });
        const copy = () =>
          runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${dir}/img:t`, `docker://${reg.host}/cache/kept:t`], {
            env,
          });
        const codeDir = join(dir, 'cache', 'ferry', 'code');
        const first = await copy();
        assert.equal(first.code, 0, first.stderr);
        const files = readdirSync(codeDir).filter((f) => f.endsWith('-copy-oci-docker.bin'));
        assert.equal(files.length, 1, readdirSync(codeDir).join(', '));
        const path = join(codeDir, files[0]!);
        const made = statSync(path).mtimeMs;
        for (let run = 0; run < 2; run++) {
          const again = await copy();
          assert.equal(again.code, 0, again.stderr);
          assert.equal(statSync(path).mtimeMs, made, `run ${run + 2} found the cache invalid and wrote it again`);
        }
      });
    } finally {
      await reg.stop();
    }
  });

  test('the bundled CLI opens an SQLite blob-info cache (better-sqlite3 inside the bundle, its add-on by path)', async () => {
    await withTempDir(async (dir) => {
      await makeImage(join(dir, 'img'), { tag: 't', layers: 1, layerSize: 1024 });
      const cache = join(dir, 'bic.sqlite');
      const r = await runFerry(['copy', '-q', '--blob-cache', cache, `oci:${dir}/img:t`, `oci:${dir}/copy:t`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(readFileSync(cache).subarray(0, 16).toString('latin1'), 'SQLite format 3\0');
    });
  });

  test('bin/ferry hands NODE_EXTRA_CA_CERTS over instead of letting node parse it at start-up', async () => {
    await withTempDir(async (dir) => {
      // A credential helper (a child process) shows the environment Ferry runs with.
      const helper = join(dir, 'docker-credential-envdump');
      await writeFile(
        helper,
        `#!/bin/sh\nprintf '%s|%s' "$NODE_EXTRA_CA_CERTS" "$FERRY_NODE_EXTRA_CA_CERTS" > ${JSON.stringify(join(dir, 'env.txt'))}\nexit 1\n`,
        {
          mode: 0o755,
        },
      );
      const auth = join(dir, 'auth.json');
      await writeFile(auth, JSON.stringify({ credHelpers: { '127.0.0.1:1': 'envdump' } }));
      const r = await runFerry(['inspect', '--authfile', auth, '--retry-times', '0', 'docker://127.0.0.1:1/x/y:t'], {
        env: {
          ...process.env,
          PATH: `${dir}:${process.env.PATH ?? ''}`,
          NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem',
        },
      });
      assert.notEqual(r.code, 0);
      // node itself would have warned at start-up that it could not load the file.
      assert.doesNotMatch(r.stderr, /Warning: Ignoring extra certs/);
      assert.equal(readFileSync(join(dir, 'env.txt'), 'utf8'), '/nonexistent/extra-ca.pem|');
    });
  });
});
