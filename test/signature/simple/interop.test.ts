/** Round trips with the real GnuPG and skopeo: each side verifies what the other signed. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { payloadFor, standaloneSign, standaloneVerify, verifySignature } from '../../../src/signature/simple/index.js';
import { fixturePath } from '../../helpers/paths.js';
import { GpgHome, installed } from '../../helpers/gpg.js';
import { run } from '../../helpers/run.js';

const manifest = readFileSync(fixturePath('signature', 'image.manifest.json'));
const DIGEST = 'sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55';
const REF = 'quay.io/ferry/app:1';
const PASSPHRASE = 'correct horse';

const skip = !installed('gpg') || !installed('skopeo') ? 'gpg or skopeo not installed' : false;

describe('simple signing interoperability with gpg and skopeo', { skip }, () => {
  let dir = '';
  let home: GpgHome;
  let fpr = '';
  let protectedFpr = '';
  let publicKeys: Buffer = Buffer.alloc(0);
  let armoredSecret = '';
  let armoredProtectedSecret = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-gpg-'));
    home = await GpgHome.create(join(dir, 'gnupg'));
    fpr = home.generateKey('Ferry Test <test@ferry.invalid>', 'ed25519');
    protectedFpr = home.generateKey('Ferry Locked <locked@ferry.invalid>', 'ed25519', PASSPHRASE);
    publicKeys = home.gpg(['--export']);
    armoredSecret = home.exportSecretKey(fpr).toString();
    armoredProtectedSecret = home.exportSecretKey(protectedFpr, PASSPHRASE).toString();
    writeFileSync(join(dir, 'manifest.json'), manifest);
    writeFileSync(join(dir, 'passphrase'), `${PASSPHRASE}\n`);
  });

  after(() => {
    home?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `gpg --verify` reports a good signature by `fingerprint` (VALIDSIG carries the signing key's fingerprint). */
  function gpgVerifies(signature: Buffer, fingerprint: string): void {
    const status = home.gpg(['--status-fd', '1', '--verify'], signature).toString();
    assert.match(status, /^\[GNUPG:\] GOODSIG /m);
    assert.match(status, new RegExp(`^\\[GNUPG:\\] VALIDSIG .* ${fingerprint}$`, 'm'));
  }

  async function skopeoVerifies(signature: Buffer, fingerprint: string): Promise<void> {
    const sigPath = join(dir, 'ferry.sig');
    writeFileSync(sigPath, signature);
    const r = await run('skopeo', ['standalone-verify', join(dir, 'manifest.json'), REF, fingerprint, sigPath], {
      env: home.env(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Signature verified.*${DIGEST}`));
  }

  test('a signature made by skopeo standalone-sign verifies with Ferry', async () => {
    assert.match(fpr, /^[0-9A-F]{40}$/);
    const sigPath = join(dir, 'skopeo.sig');
    const r = await run('skopeo', ['standalone-sign', join(dir, 'manifest.json'), REF, fpr, '-o', sigPath], {
      env: home.env(),
    });
    assert.equal(r.code, 0, r.stderr);
    const v = await standaloneVerify(manifest, REF, [fpr], readFileSync(sigPath), publicKeys);
    assert.deepEqual([v.fingerprint, v.dockerManifestDigest, v.dockerReference], [fpr, DIGEST, REF]);
    assert.match(v.payload.creator ?? '', /^atomic /);
    const armored = home.gpg(['--armor', '--export', fpr]).toString();
    assert.equal((await verifySignature(readFileSync(sigPath), armored)).fingerprint, fpr);
  });

  test('a signature Ferry makes with an armored private key verifies with skopeo and gpg', async () => {
    const signature = await standaloneSign(manifest, REF, fpr, { privateKey: armoredSecret, timestamp: 1700000000 });
    await skopeoVerifies(signature, fpr);
    gpgVerifies(signature, fpr);
    const decrypted = home.gpg(['--decrypt'], signature);
    assert.deepEqual(decrypted, payloadFor(manifest, REF, { timestamp: 1700000000 }));
    assert.equal((await standaloneVerify(manifest, REF, [fpr], signature, publicKeys)).fingerprint, fpr);
  });

  test('an encrypted private key signs with its passphrase and not without it', async () => {
    const signature = await standaloneSign(manifest, REF, protectedFpr, {
      privateKey: armoredProtectedSecret,
      passphrase: PASSPHRASE,
    });
    await skopeoVerifies(signature, protectedFpr);
    await assert.rejects(
      standaloneSign(manifest, REF, protectedFpr, { privateKey: armoredProtectedSecret, passphrase: 'wrong' }),
      (e) => isFerryError(e, 'SIGNING_FAILED'),
    );
    await assert.rejects(
      standaloneSign(manifest, REF, protectedFpr, { privateKey: armoredProtectedSecret }),
      (e) => isFerryError(e, 'SIGNING_FAILED') && /needs a passphrase/.test(e.message),
    );
    await assert.rejects(
      standaloneSign(manifest, REF, fpr, { privateKey: armoredProtectedSecret, passphrase: PASSPHRASE }),
      (e) => isFerryError(e, 'SIGNING_FAILED') && e.message.includes(protectedFpr),
    );
  });

  test('a signature Ferry makes through the gpg binary verifies with skopeo and Ferry', async () => {
    const signature = await standaloneSign(manifest, REF, fpr, { gnupgHome: home.path });
    await skopeoVerifies(signature, fpr);
    gpgVerifies(signature, fpr);
    const v = await verifySignature(signature, publicKeys, { expectedIdentity: REF });
    assert.equal(v.fingerprint, fpr);
    assert.equal(v.creator, 'ferry');
  });

  test('signing through gpg uses a passphrase file with loopback pinentry', async () => {
    home.close(); // no cached passphrase
    const signature = await standaloneSign(manifest, REF, protectedFpr, {
      gnupgHome: home.path,
      passphraseFile: join(dir, 'passphrase'),
    });
    await skopeoVerifies(signature, protectedFpr);
    home.close();
    writeFileSync(join(dir, 'wrong'), 'wrong\n');
    await assert.rejects(
      standaloneSign(manifest, REF, protectedFpr, { gnupgHome: home.path, passphraseFile: join(dir, 'wrong') }),
      (e) => isFerryError(e, 'SIGNING_FAILED'),
    );
  });

  test('signing through gpg with a key it does not hold is a typed error', async () => {
    await assert.rejects(
      standaloneSign(manifest, REF, '0123456789ABCDEF0123456789ABCDEF01234567', { gnupgHome: home.path }),
      (e) => isFerryError(e, 'SIGNING_FAILED') && e.message.includes('0123456789ABCDEF0123456789ABCDEF01234567'),
    );
  });

  test('a SHA-1 signature made by gpg is refused as a weak algorithm', async () => {
    const signature = home.gpg(['--digest-algo', 'SHA1', '--local-user', fpr, '--sign'], payloadFor(manifest, REF));
    await assert.rejects(
      verifySignature(signature, publicKeys),
      (e) => isFerryError(e, 'INVALID_SIGNATURE') && e.details.reason === 'weak-algorithm',
    );
  });

  test('a signature by a key that has since expired is refused', async () => {
    const past = ['--faked-system-time', '20200101T000000!'];
    const old = home.generateKey('Old <old@ferry.invalid>', 'ed25519', '', { expires: '1d', at: '20200101T000000!' });
    const signature = home.gpg([...past, '--local-user', old, '--sign'], payloadFor(manifest, REF));
    const keys = home.gpg(['--export', old]);
    await assert.rejects(
      verifySignature(signature, keys),
      (e) => isFerryError(e, 'INVALID_SIGNATURE') && e.details.reason === 'expired',
    );
    const v = await verifySignature(signature, keys, { date: new Date('2020-01-01T00:00:10Z') });
    assert.equal(v.fingerprint, old);
  });
});
