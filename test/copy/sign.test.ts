/**
 * copyImage with signing (containers/image copy/sign.go): each manifest written is signed by each signer,
 * after the copied signatures; bad signing options fail before anything is written.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import { copyImage } from '../../src/copy/index.js';
import type { ProgressEvent } from '../../src/copy/types.js';
import { isFerryError } from '../../src/errors.js';
import { manifestDigest } from '../../src/manifest/digest.js';
import { verifySignature } from '../../src/signature/simple/index.js';
import {
  generateSigstoreKeyPair,
  isSigstoreBlob,
  parsePublicKeyPEM,
  parseSigstoreBlob,
  verifySigstoreSignature,
} from '../../src/signature/sigstore/index.js';
import { dirTransport } from '../../src/transports/dir/index.js';
import { ociTransport } from '../../src/transports/oci-layout/index.js';
import type { ImageReference } from '../../src/transports/types.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { makeTempDir } from '../helpers/tmp.js';
import { rm } from 'node:fs/promises';

const oci = (dir: string, tag = 'latest'): ImageReference => ociTransport.parseReference(`${dir}:${tag}`);
const dir = (p: string): ImageReference => dirTransport.parseReference(p);
const IDENTITY = 'quay.io/ferry/app:1.0';

let root = '';
let single: MadeImage;
let singleLayout = '';
let multi: MadeImage;
let multiLayout = '';
let pgpPrivate = '';
let pgpPublic = '';
let sigstorePrivate = '';
let sigstorePublic = '';

before(async () => {
  root = await makeTempDir('ferry-copy-sign-');
  singleLayout = path.join(root, 'single');
  single = await makeImage(singleLayout, { layers: 1, layerSize: 4096 });
  multiLayout = path.join(root, 'multi');
  multi = await makeImage(multiLayout, { layers: 1, layerSize: 4096, platforms: ['linux/amd64', 'linux/arm64'] });
  const pgp = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ email: 'copy@ferry.invalid' }],
    passphrase: 'pgp-pass',
    format: 'armored',
  });
  pgpPrivate = pgp.privateKey;
  pgpPublic = pgp.publicKey;
  const pair = await generateSigstoreKeyPair('sig-pass');
  sigstorePrivate = pair.privateKeyPEM;
  sigstorePublic = pair.publicKeyPEM;
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const signing = () => ({
  openpgpKey: { privateKey: pgpPrivate, passphrase: 'pgp-pass' },
  sigstoreKey: { privateKeyPEM: sigstorePrivate, passphrase: 'sig-pass' },
  identity: IDENTITY,
});

/** Checks that `blobs` are one simple and one sigstore signature of `manifest` as IDENTITY. */
async function assertSignedBoth(blobs: Buffer[], manifest: Buffer): Promise<void> {
  assert.equal(blobs.length, 2);
  const [simple, sigstore] = blobs as [Buffer, Buffer];
  assert.ok(!isSigstoreBlob(simple) && isSigstoreBlob(sigstore));
  const v = await verifySignature(simple, pgpPublic, {
    expectedIdentity: IDENTITY,
    expectedDigest: manifestDigest(manifest),
  });
  assert.equal(v.creator, 'ferry');
  const s = verifySigstoreSignature(parseSigstoreBlob(sigstore), manifest, {
    publicKeys: [parsePublicKeyPEM(sigstorePublic, 'pub')],
  });
  assert.equal(s.dockerReference, IDENTITY);
}

async function signatureFiles(d: string, prefix = ''): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let n = 1; ; n++) {
    try {
      out.push(await readFile(path.join(d, `${prefix}signature-${n}`)));
    } catch {
      return out;
    }
  }
}

describe('copyImage with signing', () => {
  test('signs the manifest written with each signer (simple, then sigstore), as the given identity', async () => {
    const out = path.join(root, 'signed-single');
    const events: ProgressEvent[] = [];
    const result = await copyImage(oci(singleLayout), dir(out), {
      signing: signing(),
      onProgress: (e) => events.push(e),
    });
    const manifest = await readFile(path.join(out, 'manifest.json'));
    assert.deepEqual(manifest, result.manifest);
    await assertSignedBoth(await signatureFiles(out), manifest);
    const texts = events.flatMap((e) => (e.kind === 'message' ? [e.text] : []));
    assert.ok(
      texts.some((t) => /^Creating signature 1: Signing image using simple signing/.test(t)),
      texts.join('\n'),
    );
    assert.ok(texts.includes('Creating signature 2: Signing image using a sigstore signature'), texts.join('\n'));
  });

  test('a converted manifest is signed as written, not as read', async () => {
    const out = path.join(root, 'signed-converted');
    const result = await copyImage(oci(singleLayout), dir(out), {
      signing: signing(),
      forceManifestMIMEType: 'application/vnd.docker.distribution.manifest.v2+json',
    });
    assert.notEqual(result.manifestDigest, single.digest);
    await assertSignedBoth(await signatureFiles(out), await readFile(path.join(out, 'manifest.json')));
  });

  test('a list copy signs every instance and the list itself, as containers/image does', async () => {
    const out = path.join(root, 'signed-list');
    await copyImage(oci(multiLayout), dir(out), { signing: signing(), imageListSelection: 'all' });
    await assertSignedBoth(await signatureFiles(out), await readFile(path.join(out, 'manifest.json')));
    for (const instance of multi.instances) {
      const hex = instance.digest.slice('sha256:'.length);
      const bytes = await readFile(path.join(out, `${hex}.manifest.json`));
      await assertSignedBoth(await signatureFiles(out, `${hex}.`), bytes);
    }
  });

  test('new signatures follow the copied ones; removeSignatures keeps only the new ones', async () => {
    const first = path.join(root, 'chain-1');
    await copyImage(oci(singleLayout), dir(first), {
      signing: { sigstoreKey: { privateKeyPEM: sigstorePrivate, passphrase: 'sig-pass' }, identity: IDENTITY },
    });
    const original = await signatureFiles(first);
    assert.equal(original.length, 1);
    const second = path.join(root, 'chain-2');
    await copyImage(dir(first), dir(second), { signing: signing() });
    const sigs = await signatureFiles(second);
    assert.equal(sigs.length, 3);
    assert.deepEqual(sigs[0], original[0]);
    await assertSignedBoth(sigs.slice(1), await readFile(path.join(second, 'manifest.json')));

    const third = path.join(root, 'chain-3');
    await copyImage(dir(first), dir(third), { signing: signing(), removeSignatures: true });
    await assertSignedBoth(await signatureFiles(third), await readFile(path.join(third, 'manifest.json')));
  });

  test('signing with preserveDigests keeps the digest and signs it', async () => {
    const out = path.join(root, 'preserved');
    const result = await copyImage(oci(singleLayout), dir(out), { signing: signing(), preserveDigests: true });
    assert.equal(result.manifestDigest, single.digest);
    await assertSignedBoth(await signatureFiles(out), await readFile(path.join(out, 'manifest.json')));
  });

  test('bad signing options fail before anything is written, with a typed error naming the rule', async () => {
    const cases: Array<[string, Parameters<typeof copyImage>[2], ImageReference | undefined, string, RegExp]> = [
      [
        'no identity for dir:',
        { signing: { openpgpKey: { privateKey: pgpPrivate, passphrase: 'pgp-pass' } } },
        undefined,
        'INVALID_ARGUMENT',
        /cannot determine the docker reference to sign for destination dir:/,
      ],
      [
        'name-only identity',
        { signing: { ...signing(), identity: 'quay.io/ferry/app' } },
        undefined,
        'INVALID_ARGUMENT',
        /must be a fully specified reference/,
      ],
      [
        'malformed identity',
        { signing: { ...signing(), identity: 'Not A Reference' } },
        undefined,
        'INVALID_ARGUMENT',
        /invalid signing identity "Not A Reference"/,
      ],
      [
        'wrong sigstore passphrase',
        { signing: { ...signing(), sigstoreKey: { privateKeyPEM: sigstorePrivate, passphrase: 'nope' } } },
        undefined,
        'SIGNING_FAILED',
        /wrong passphrase/,
      ],
      [
        'wrong OpenPGP passphrase',
        { signing: { ...signing(), openpgpKey: { privateKey: pgpPrivate, passphrase: 'nope' } } },
        undefined,
        'SIGNING_FAILED',
        /cannot decrypt private key/,
      ],
      [
        'missing sigstore key file',
        { signing: { ...signing(), sigstoreKey: { privateKeyFile: path.join(root, 'absent.key'), passphrase: 'x' } } },
        undefined,
        'INVALID_ARGUMENT',
        /reading private key from ".*absent\.key"/,
      ],
      [
        'destination without signatures (oci:)',
        { signing: signing() },
        oci(path.join(root, 'unsigned-oci')),
        'UNSUPPORTED_OPERATION',
        /cannot sign: destination oci:.* does not support signatures/,
      ],
    ];
    for (const [name, options, destination, code, message] of cases) {
      const target = path.join(root, `refused-${name.replace(/\W+/g, '-')}`);
      await assert.rejects(copyImage(oci(singleLayout), destination ?? dir(target), options), (e: unknown) => {
        assert.ok(isFerryError(e), `${name}: ${String(e)}`);
        assert.equal(e.code, code, `${name}: ${e.message}`);
        assert.match(e.message, message, name);
        assert.ok(!e.message.includes('pgp-pass') && !e.message.includes('sig-pass'), name);
        return true;
      });
      await assert.rejects(stat(target), { code: 'ENOENT' }, `${name}: ${target} was created`);
    }
    // The oci: destination was opened (that creates its layout) but no blob reached it.
    const blobs = await readdir(path.join(root, 'unsigned-oci', 'blobs', 'sha256')).catch(() => [] as string[]);
    assert.deepEqual(blobs, []);
  });
});
