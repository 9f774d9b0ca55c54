import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { progressPrinter } from '../../src/cli/progress.js';
import { registryOptions } from '../../src/cli/registry-flags.js';
import type { Digest } from '../../src/digest/digest.js';
import { makeImage } from '../helpers/make-image.js';
import { runFerry } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const D1 = `sha256:${'1'.repeat(64)}` as Digest;
const D2 = `sha256:${'2'.repeat(64)}` as Digest;

describe('copy progress lines', () => {
  it('prints skopeo lines for a single image, with short digests for skipped blobs', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    print({ kind: 'signatures-getting' });
    print({ kind: 'blob-started', blob: { digest: D1, size: 1 }, isConfig: false });
    print({ kind: 'blob-skipped', blob: { digest: D2, size: 1 }, isConfig: false, reason: 'already-exists' });
    print({ kind: 'blob-started', blob: { digest: D2, size: 1 }, isConfig: true });
    print({ kind: 'manifest-writing' });
    assert.equal(
      lines.join(''),
      [
        'Getting image source signatures',
        `Copying blob ${D1}`,
        'Copying blob 222222222222 skipped: already exists',
        `Copying config ${D2}`,
        'Writing manifest to image destination',
        'Storing signatures',
        '',
      ].join('\n'),
    );
  });

  it('names the list steps of a multi-image copy', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    print({ kind: 'signatures-getting' });
    print({ kind: 'signatures-getting' });
    print({ kind: 'manifest-writing', instanceDigest: D1 });
    print({ kind: 'manifest-writing' });
    assert.deepEqual(lines.join('').split('\n'), [
      'Getting image list signatures',
      'Getting image source signatures',
      'Writing manifest to image destination',
      'Storing signatures',
      'Writing manifest list to image destination',
      'Storing list signatures',
      '',
    ]);
  });
});

describe('registry flags', () => {
  it('maps prefixed flags onto image options', () => {
    const flags = { srcCreds: 'u:p:x', srcTlsVerify: false, destCreds: false, destCertDir: '/c', authfile: '/a' };
    assert.deepEqual(registryOptions(flags, 'src-', undefined, '/a'), {
      authFile: '/a',
      tlsVerify: false,
      credentials: { username: 'u', password: 'p:x' },
    });
    assert.deepEqual(registryOptions(flags, 'dest-'), { certDir: '/c', noCreds: true });
  });

  it('rejects --creds together with --username', () => {
    assert.throws(() => registryOptions({ creds: 'a:b', username: 'c' }), /cannot be used together/);
    assert.throws(() => registryOptions({ username: 'c' }), /must be used together/);
  });
});

describe('ferry copy', () => {
  it('copies an OCI image, printing progress to stderr only, and writes the digest file without a newline', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 't' });
      const digestFile = path.join(dir, 'digest');
      const r = await runFerry(['copy', '--digestfile', digestFile, `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^Getting image source signatures\nCopying blob sha256:/);
      assert.match(r.stderr, /Writing manifest to image destination\nStoring signatures\n$/);
      assert.equal(r.stdout, '');
      assert.equal(await readFile(digestFile, 'utf8'), made.digest);
      assert.deepEqual(await readFile(path.join(dir, 'out', 'manifest.json')), made.bytes);
    });
  });

  it('prints nothing with -q', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const r = await runFerry(['copy', '-q', `oci:${dir}/src:t`, `oci:${dir}/out:t`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, '');
    });
  });

  it('copies every instance and the index unchanged with --all', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 'm', platforms: ['linux/amd64', 'linux/arm64/v8'] });
      const r = await runFerry(['copy', '-q', '--all', `oci:${dir}/src:m`, `oci:${dir}/out:m`]);
      assert.equal(r.code, 0, r.stderr);
      const raw = await runFerry(['inspect', '--raw', `oci:${dir}/out:m`]);
      assert.equal(raw.stdout, made.bytes.toString('utf8'));
      for (const instance of made.instances) {
        assert.ok(existsSync(path.join(dir, 'out', 'blobs', 'sha256', instance.digest.slice(7))));
      }
    });
  });

  it('copies only the chosen instance by default', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(path.join(dir, 'src'), { tag: 'm', platforms: ['linux/amd64', 'linux/arm64/v8'] });
      const r = await runFerry(['--override-arch', 'arm64', 'copy', '-q', `oci:${dir}/src:m`, `dir:${dir}/out`]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await readFile(path.join(dir, 'out', 'manifest.json')), made.instances[1]?.bytes);
    });
  });

  it('rejects an unknown --format and --all together with --multi-arch', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      const bad = await runFerry(['copy', '-f', 'v3', `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown format "v3"/);
      const both = await runFerry(['copy', '--all', '--multi-arch', 'all', `oci:${dir}/src:t`, `dir:${dir}/out`]);
      assert.equal(both.code, 1);
      assert.match(both.stderr, /--all and --multi-arch/);
      assert.ok(!existsSync(path.join(dir, 'out')));
    });
  });
});

describe('ferry delete', () => {
  it('removes a tag from an OCI layout and keeps the others', async () => {
    await withTempDir(async (dir) => {
      await makeImage(dir, { tag: 'a' });
      await makeImage(dir, { tag: 'b', seed: 2 });
      const r = await runFerry(['delete', `oci:${dir}:a`]);
      assert.equal(r.code, 0, r.stderr);
      const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
        manifests: { annotations?: Record<string, string> }[];
      };
      assert.deepEqual(
        index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']),
        ['b'],
      );
      const gone = await runFerry(['inspect', `oci:${dir}:a`]);
      assert.equal(gone.code, 1);
    });
  });

  it('reports the transport error for a transport that cannot delete', async () => {
    await withTempDir(async (dir) => {
      await makeImage(path.join(dir, 'src'), { tag: 't' });
      await runFerry(['copy', '-q', `oci:${dir}/src:t`, `dir:${dir}/d`]);
      const r = await runFerry(['delete', `dir:${dir}/d`]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^ferry: .*not supported/);
    });
  });
});
