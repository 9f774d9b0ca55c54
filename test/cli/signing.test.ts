/**
 * The signing command lines: `ferry generate-sigstore-key` (files, overwrite refusal, passphrase from a file
 * or a terminal) and the rules of `ferry copy --sign-…` flags, checked before anything is copied.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSigstorePrivateKey } from '../../src/signature/sigstore/index.js';
import { installed } from '../helpers/gpg.js';
import { makeImage } from '../helpers/make-image.js';
import { ferryBin } from '../helpers/paths.js';
import { run, runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

let root = '';
let source = '';
let passphraseFile = '';

before(async () => {
  root = await makeTempDir('ferry-cli-sign-');
  source = `oci:${path.join(root, 'layout')}:latest`;
  await makeImage(path.join(root, 'layout'), { layers: 1, layerSize: 1024 });
  passphraseFile = path.join(root, 'pass');
  await writeFile(passphraseFile, 'file pass\n');
});

after(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(root, { recursive: true, force: true });
});

const hasScript = installed('script');

describe('ferry generate-sigstore-key', () => {
  test('writes PREFIX.private (0600, decrypts with the file passphrase) and PREFIX.pub', async () => {
    const prefix = path.join(root, 'k1');
    const r = await runFerry(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', passphraseFile]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Key written to "${prefix}.private" and "${prefix}.pub"\n`);
    assert.equal((await stat(`${prefix}.private`)).mode & 0o777, 0o600);
    const key = await readSigstorePrivateKey(await readFile(`${prefix}.private`), 'file pass');
    assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.match(await readFile(`${prefix}.pub`, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  });

  test('refuses to overwrite either file, leaving them as they were', async () => {
    const prefix = path.join(root, 'k2');
    await writeFile(`${prefix}.pub`, 'keep me');
    const r = await runFerry(['generate-sigstore-key', '--output-prefix', prefix, '--passphrase-file', passphraseFile]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `ferry: refusing to overwrite existing "${prefix}.pub"\n`);
    assert.equal(await readFile(`${prefix}.pub`, 'utf8'), 'keep me');
    await assert.rejects(stat(`${prefix}.private`), { code: 'ENOENT' });
  });

  test('without a passphrase file and no terminal, fails naming the key and writes nothing', async () => {
    const prefix = path.join(root, 'k3');
    const r = await runFerry(['generate-sigstore-key', '--output-prefix', prefix]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot prompt for a passphrase for key .*k3\.private, standard input is not a TTY/);
    assert.deepEqual(
      (await readdir(root)).filter((f) => f.startsWith('k3')),
      [],
    );
  });

  test('needs --output-prefix', async () => {
    const r = await runFerry(['generate-sigstore-key']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--output-prefix/);
  });

  test('at a terminal, asks twice without echo and refuses two different answers', {
    skip: !hasScript && 'no script(1)',
  }, async () => {
    const prefix = path.join(root, 'k4');
    const typed = async (input: string, p: string) =>
      run('script', ['-qec', `${ferryBin} generate-sigstore-key --output-prefix ${p}`, '/dev/null'], { input });
    const ok = await typed('tty pass\ntty pass\n', prefix);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /Passphrase for key .*k4\.private: \r?\nPassphrase for key .*k4\.private again: /);
    await readSigstorePrivateKey(await readFile(`${prefix}.private`), 'tty pass');
    const mismatch = await typed('one\ntwo\n', path.join(root, 'k5'));
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stdout, /the passphrases do not match/);
    await assert.rejects(stat(path.join(root, 'k5.private')), { code: 'ENOENT' });
  });
});

describe('ferry copy signing flags', () => {
  const copy = (flags: string[], dest: string) =>
    runFerry(['--insecure-policy', 'copy', '-q', ...flags, source, `dir:${dest}`]);

  test('each misuse is refused before anything is copied, naming the rule', async () => {
    const key = path.join(root, 'k1.private');
    const cases: Array<[string[], RegExp]> = [
      [
        ['--sign-by', 'ABCD', '--sign-by-sigstore-private-key', key, '--sign-passphrase-file', passphraseFile],
        /only one of --sign-by, --sign-by-key-file and --sign-by-sigstore-private-key can be used with --sign-passphrase-file/,
      ],
      [
        [
          '--sign-by-sigstore-private-key',
          key,
          '--sign-passphrase-file',
          passphraseFile,
          '--sign-identity',
          'busybox:latest',
        ],
        /could not parse --sign-identity: .*canonical/,
      ],
      [
        ['--sign-by-sigstore-private-key', key, '--sign-passphrase-file', passphraseFile],
        /cannot determine the docker reference to sign for destination dir:/,
      ],
      [
        [
          '--sign-by-sigstore-private-key',
          key,
          '--sign-passphrase-file',
          passphraseFile,
          '--sign-identity',
          'docker.io/library/busybox',
        ],
        /must be a fully specified reference/,
      ],
      [
        ['--sign-by-sigstore-private-key', key, '--sign-identity', 'docker.io/library/busybox:1'],
        /cannot prompt for a passphrase for key .*k1\.private, standard input is not a TTY/,
      ],
      [
        ['--sign-by-sigstore-private-key', key, '--sign-passphrase-file', path.join(root, 'absent')],
        /reading passphrase file ".*absent"/,
      ],
      [['--sign-identity', 'docker.io/library/busybox:1'], /--sign-identity needs a signing flag/],
      [
        ['--sign-by-key-file', path.join(root, 'no-such.asc'), '--sign-identity', 'docker.io/library/busybox:1'],
        /reading --sign-by-key-file ".*no-such\.asc"/,
      ],
    ];
    for (const [i, [flags, message]] of cases.entries()) {
      const dest = path.join(root, `refused-${i}`);
      const r = await copy(flags, dest);
      assert.equal(r.code, 1, flags.join(' '));
      assert.match(r.stderr, message, flags.join(' '));
      await assert.rejects(stat(dest), { code: 'ENOENT' }, flags.join(' '));
    }
  });

  test("signs into dir: and prints skopeo's lines in its order: manifest, signature, storing", async () => {
    const dest = path.join(root, 'signed');
    const r = await runFerry([
      '--insecure-policy',
      'copy',
      '--sign-by-sigstore-private-key',
      path.join(root, 'k1.private'),
      '--sign-passphrase-file',
      passphraseFile,
      '--sign-identity',
      'docker.io/library/busybox:1',
      source,
      `dir:${dest}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /Writing manifest to image destination\nCreating signature: Signing image using a sigstore signature\nStoring signatures\n$/,
    );
    assert.ok(
      (await readFile(path.join(dest, 'signature-1'))).subarray(0, 15).equals(Buffer.from('\0sigstore-json\n')),
    );
  });

  test('a wrong sigstore passphrase fails without echoing it, and nothing is written', async () => {
    const wrong = path.join(root, 'wrong');
    await writeFile(wrong, 'hunter2\n');
    const dest = path.join(root, 'wrong-pass');
    const r = await copy(
      [
        '--sign-by-sigstore-private-key',
        path.join(root, 'k1.private'),
        '--sign-passphrase-file',
        wrong,
        '--sign-identity',
        'docker.io/library/busybox:1',
      ],
      dest,
    );
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `ferry: cannot decrypt sigstore private key ${path.join(root, 'k1.private')}: wrong passphrase\n`,
    );
    await assert.rejects(stat(dest), { code: 'ENOENT' });
  });
});
