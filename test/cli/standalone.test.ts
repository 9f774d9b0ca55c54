import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GpgHome } from '../helpers/gpg.js';
import { fixturePath } from '../helpers/paths.js';
import { runFerry, runSkopeo } from '../helpers/run.js';
import { withTempDir } from '../helpers/tmp.js';

const KEY = '08CD26E446E2E95249B7A405E932F44B23E8DD43';
const DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55';
const sig = (name: string): string => fixturePath('signature', name);
const manifest = sig('image.manifest.json');

describe('ferry standalone-verify', () => {
  test('prints the fingerprint and digest it verified, as skopeo does', async () => {
    for (const fingerprints of [KEY, `0123456789ABCDEF0123456789ABCDEF01234567,${KEY}`, 'any']) {
      const r = await runFerry([
        'standalone-verify',
        manifest,
        'docker.io/testing/manifest',
        fingerprints,
        sig('image.signature'),
        '--public-key-file',
        sig('pubring.gpg'),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `Signature verified using fingerprint ${KEY}, digest ${DIGEST}\n`);
    }
  });

  test('exits 1 naming the rule a signature broke', async () => {
    const cases: [string[], RegExp][] = [
      [['testing/manifest', KEY, sig('expired.signature')], /verifying signature: .*expired/i],
      [['testing/manifest', KEY, sig('unknown-key.signature')], /not in the trusted keyring/],
      [['example.com/other', KEY, sig('image.signature')], /does not match "example.com\/other"/],
      [['testing/manifest', '0123456789ABCDEF0123456789ABCDEF01234567', sig('image.signature')], /is not accepted/],
    ];
    for (const [args, message] of cases) {
      const r = await runFerry(['standalone-verify', manifest, ...args, '--public-key-file', sig('pubring.gpg')]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  test('refuses "any" without a public key file, as skopeo does', async () => {
    const r = await runFerry(['standalone-verify', manifest, 'testing/manifest', 'any', sig('image.signature')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot use any fingerprint without a public key file/);
  });

  test('--help shows the arguments and the "any" rule', async () => {
    const r = await runFerry(['standalone-verify', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /<manifest> <docker-reference> <key-fingerprints> <signature>/);
    assert.match(r.stdout, /"any"/);
  });
});

describe('ferry standalone-sign', () => {
  test('signs with a key of the GnuPG home; skopeo and ferry verify the signature', async () => {
    await withTempDir(async (dir) => {
      const home = await GpgHome.create(join(dir, 'gnupg'));
      const env = home.env();
      try {
        const fpr = home.generateKey('CLI <cli@ferry.invalid>', 'ed25519');
        const out = join(dir, 'app.sig');
        const signed = await runFerry(['standalone-sign', manifest, 'quay.io/org/app:1', fpr, '-o', out], { env });
        assert.equal(signed.code, 0, signed.stderr);
        assert.equal(signed.stdout, '');
        assert.ok(readFileSync(out).length > 0);
        const skopeo = await runSkopeo(['standalone-verify', manifest, 'quay.io/org/app:1', fpr, out], { env });
        assert.equal(skopeo.code, 0, skopeo.stderr);
        const ferry = await runFerry(['standalone-verify', manifest, 'quay.io/org/app:1', fpr, out], { env });
        assert.equal(ferry.stdout, `Signature verified using fingerprint ${fpr}, digest ${DIGEST}\n`);
      } finally {
        home.close();
      }
    });
  });

  test('requires --output and names a key gpg does not hold', async () => {
    const noOutput = await runFerry(['standalone-sign', manifest, 'quay.io/org/app:1', KEY]);
    assert.notEqual(noOutput.code, 0);
    assert.match(noOutput.stderr, /--output/);
    await withTempDir(async (dir) => {
      const r = await runFerry(['standalone-sign', manifest, 'quay.io/org/app:1', KEY, '-o', join(dir, 's')], {
        env: { ...process.env, GNUPGHOME: dir },
      });
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`creating signature: .*${KEY}`));
    });
  });
});
