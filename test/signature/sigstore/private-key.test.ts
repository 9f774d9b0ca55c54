/**
 * cosign's encrypted private keys: the upstream fixtures (sigstore/cosign pkg/cosign/keys_test.go, passphrase
 * "hello") decrypt as upstream expects, keys Ferry writes read back, and bad input is refused with a typed error.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { xsalsa20poly1305 } from '@noble/ciphers/salsa';
import { isFerryError } from '../../../src/errors.js';
import {
  COSIGN_PRIVATE_KEY_PEM_LABEL,
  checkSigstoreKeyFilesAbsent,
  generateSigstoreKeyPair,
  readSigstorePrivateKey,
  writeSigstoreKeyFiles,
} from '../../../src/signature/sigstore/index.js';
import { decodePEM } from '../../../src/signature/sigstore/keys.js';
import { fixturePath } from '../../helpers/paths.js';
import { withTempDir } from '../../helpers/tmp.js';

const KEYS = (name: string) => fixturePath('signature', 'sigstore', 'cosign-private-keys', name);

function rejects(code: string, reason: string, check?: (message: string) => void) {
  return (e: unknown) => {
    assert.ok(isFerryError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.equal(e.details.reason, reason, e.message);
    check?.(e.message);
    return true;
  };
}

interface Envelope {
  kdf: { name: string; params: Record<string, number>; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

/** The JSON inside a key's PEM block. */
function envelopeOf(pem: string): Envelope {
  const block = decodePEM(pem);
  assert.ok(block);
  return JSON.parse(block.der.toString('utf8'));
}

function pemOf(label: string, json: unknown): string {
  const b64 = Buffer.from(JSON.stringify(json)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n')}\n-----END ${label}-----\n`;
}

describe('reading cosign encrypted private keys', () => {
  test('the upstream SIGSTORE- and COSIGN-labelled fixtures decrypt with their passphrase to ECDSA P-256 keys', async () => {
    const passphrase = (await readFile(KEYS('passphrase'), 'utf8')).trim();
    for (const name of ['sigstore.key', 'cosign-rsa.key']) {
      const key = await readSigstorePrivateKey(await readFile(KEYS(name)), passphrase, name);
      assert.equal(key.privateKey.asymmetricKeyType, 'ec', name);
      assert.equal(key.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1', name);
      assert.equal(key.publicKey.type, 'public');
    }
  });

  test('the upstream SEC 1 EC fixture decrypts but is refused as not PKCS #8, as cosign refuses it', async () => {
    await assert.rejects(
      readSigstorePrivateKey(await readFile(KEYS('cosign-ec-sec1.key')), 'hello', 'cosign-ec-sec1.key'),
      rejects('INVALID_ARGUMENT', 'invalid-key', (m) => assert.match(m, /not a PKCS #8 private key/)),
    );
  });

  test('a wrong passphrase is SIGNING_FAILED "wrong-passphrase" and the message holds neither passphrase nor key', async () => {
    const pem = await readFile(KEYS('sigstore.key'), 'utf8');
    const secret = 'hellO-not-the-passphrase';
    await assert.rejects(
      readSigstorePrivateKey(pem, secret, 'my.key'),
      rejects('SIGNING_FAILED', 'wrong-passphrase', (m) => {
        assert.equal(m, 'cannot decrypt sigstore private key my.key: wrong passphrase');
        assert.ok(!m.includes(secret));
      }),
    );
  });

  test('a tampered ciphertext fails authentication like a wrong passphrase', async () => {
    const json = envelopeOf(await readFile(KEYS('sigstore.key'), 'utf8'));
    const ct = Buffer.from(json.ciphertext, 'base64');
    ct[ct.length - 1] = (ct[ct.length - 1] as number) ^ 1;
    json.ciphertext = ct.toString('base64');
    await assert.rejects(
      readSigstorePrivateKey(pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', json), 'hello'),
      rejects('SIGNING_FAILED', 'wrong-passphrase'),
    );
  });

  test('malformed files are refused before any key derivation, naming the rule', async () => {
    const json = envelopeOf(await readFile(KEYS('sigstore.key'), 'utf8'));
    const cases: Array<[string, RegExp]> = [
      ['not a key', /no PEM block found/],
      [await readFile(fixturePath('signature', 'sigstore', 'cosign.pub'), 'utf8'), /unsupported PEM type "PUBLIC KEY"/],
      // A huge N would make scrypt run for minutes: only go-securesystemslib's three parameter sets are accepted.
      [
        pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', { ...json, kdf: { ...json.kdf, params: { N: 1048576, r: 8, p: 1 } } }),
        /unsupported scrypt parameters/,
      ],
      [
        pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', { ...json, kdf: { ...json.kdf, name: 'pbkdf2' } }),
        /unknown kdf name "pbkdf2"/,
      ],
      [
        pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', { ...json, cipher: { ...json.cipher, name: 'aes' } }),
        /unknown cipher name "aes"/,
      ],
      [
        pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', { ...json, cipher: { ...json.cipher, nonce: 'AAAA' } }),
        /nonce is 3 bytes/,
      ],
      [pemOf('ENCRYPTED SIGSTORE PRIVATE KEY', { ...json, ciphertext: 42 }), /"ciphertext" is not a base64 string/],
      [
        '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n',
        /not the JSON/,
      ],
    ];
    for (const [pem, message] of cases) {
      const started = Date.now();
      await assert.rejects(
        readSigstorePrivateKey(pem, 'hello', 'k'),
        rejects('INVALID_ARGUMENT', 'invalid-key', (m) => assert.match(m, message)),
      );
      assert.ok(Date.now() - started < 1000, `${message} took ${Date.now() - started} ms`);
    }
  });

  test('the cipher is NaCl secretbox: the XSalsa20-Poly1305 vector of "Cryptography in NaCl" (tests/secretbox.c)', () => {
    const h = (s: string) => Buffer.from(s, 'hex');
    const key = h('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389');
    const nonce = h('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37');
    const message = h(
      'be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705',
    );
    const expected =
      'f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14a6599b1f654cb45a74e355a5';
    assert.equal(Buffer.from(xsalsa20poly1305(key, nonce).encrypt(message)).toString('hex'), expected);
  });
});

describe('generating sigstore key pairs', () => {
  test('a generated key is ECDSA P-256 in the form containers/image writes, and reads back to its public key', async () => {
    const pair = await generateSigstoreKeyPair('s3cret');
    assert.match(pair.privateKeyPEM, new RegExp(`^-----BEGIN ${COSIGN_PRIVATE_KEY_PEM_LABEL}-----\n`));
    for (const line of pair.privateKeyPEM.trim().split('\n').slice(1, -1)) assert.ok(line.length <= 64);
    const json = envelopeOf(pair.privateKeyPEM);
    assert.deepEqual(Object.keys(json), ['kdf', 'cipher', 'ciphertext']);
    assert.deepEqual(json.kdf.params, { N: 65536, r: 8, p: 1 });
    assert.equal(json.kdf.name, 'scrypt');
    assert.equal(Buffer.from(json.kdf.salt, 'base64').length, 32);
    assert.equal(json.cipher.name, 'nacl/secretbox');
    assert.equal(Buffer.from(json.cipher.nonce, 'base64').length, 24);
    assert.match(pair.publicKeyPEM, /^-----BEGIN PUBLIC KEY-----\n/);

    const read = await readSigstorePrivateKey(pair.privateKeyPEM, 's3cret');
    const want = createPublicKey(pair.publicKeyPEM).export({ type: 'spki', format: 'der' });
    assert.deepEqual(read.publicKey.export({ type: 'spki', format: 'der' }), want);
    assert.equal(read.privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    await assert.rejects(
      readSigstorePrivateKey(pair.privateKeyPEM, 's3cret '),
      rejects('SIGNING_FAILED', 'wrong-passphrase'),
    );
  });

  test('an empty passphrase is a passphrase (cosign allows it)', async () => {
    const pair = await generateSigstoreKeyPair('');
    assert.equal((await readSigstorePrivateKey(pair.privateKeyPEM, '')).privateKey.type, 'private');
  });

  test('key files: PREFIX.private (0600) and PREFIX.pub, never over an existing file', async () => {
    await withTempDir(async (dir) => {
      const prefix = join(dir, 'k');
      const paths = await writeSigstoreKeyFiles(prefix, 'pw');
      assert.deepEqual(paths, { privateKeyPath: `${prefix}.private`, publicKeyPath: `${prefix}.pub` });
      assert.equal((await stat(paths.privateKeyPath)).mode & 0o777, 0o600);
      const pub = await readFile(paths.publicKeyPath, 'utf8');
      const read = await readSigstorePrivateKey(await readFile(paths.privateKeyPath), 'pw');
      assert.deepEqual(
        read.publicKey.export({ type: 'spki', format: 'der' }),
        createPublicKey(pub).export({ type: 'spki', format: 'der' }),
      );
      await assert.rejects(writeSigstoreKeyFiles(prefix, 'pw'), (e: unknown) =>
        isFerryError(e, 'DESTINATION_NOT_EMPTY'),
      );
      assert.equal(await readFile(paths.publicKeyPath, 'utf8'), pub, 'the existing key is untouched');

      const other = join(dir, 'only-private');
      await writeFile(`${other}.private`, 'mine');
      await assert.rejects(
        checkSigstoreKeyFilesAbsent(other),
        /refusing to overwrite existing ".*only-private\.private"/,
      );
      await mkdir(join(dir, 'd.pub'));
      await assert.rejects(writeSigstoreKeyFiles(join(dir, 'd'), 'pw'), /refusing to overwrite/);
      await assert.rejects(stat(join(dir, 'd.private')), { code: 'ENOENT' });
    });
  });
});
