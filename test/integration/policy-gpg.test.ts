/**
 * skopeo signs with a GnuPG key (`copy --sign-by`, simple signing through gpgme) into a `dir:` image;
 * `ferry copy` and `ferry verify` then decide a signedBy policy as skopeo does: the signer's key and
 * identity accept, a tampered manifest, another identity or another key reject, with a reason.
 * A `dir:` image has no Docker reference, so (for skopeo as for Ferry) the default signedIdentity,
 * matchRepoDigestOrExact, has nothing to match and rejects: the identity is named with exactReference.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GpgHome } from '../helpers/gpg.js';
import { makeImage } from '../helpers/make-image.js';
import { runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const IDENTITY = 'example.com/app:1';

interface Key {
  fingerprint: string;
  publicKey: string;
}

/** A new signing key in `home`, its public key exported (armored) beside it. */
async function newKey(home: GpgHome, name: string): Promise<Key> {
  const fingerprint = home.generateKey(`${name} <${name}@example.com>`, 'ed25519');
  assert.match(fingerprint, /^[0-9A-F]{40}$/);
  const publicKey = path.join(path.dirname(home.path), `${name}.asc`);
  await writeFile(publicKey, home.gpg(['--armor', '--export', fingerprint]));
  return { fingerprint, publicKey };
}

describe('skopeo copy --sign-by (GnuPG) → ferry copy / ferry verify under a signedBy policy', () => {
  let dir = '';
  let home: GpgHome | undefined;
  let signer: Key;
  let other: Key;
  let signed = '';

  before(async () => {
    dir = await makeTempDir('ferry-policy-gpg-');
    home = await GpgHome.create(path.join(dir, 'gnupg'));
    signer = await newKey(home, 'signer');
    other = await newKey(home, 'other');
    await makeImage(path.join(dir, 'src'), { tag: 't', layers: 1, layerSize: 4096 });
    signed = path.join(dir, 'signed');
    const r = await runSkopeo(
      [
        '--insecure-policy',
        'copy',
        '-q',
        '--sign-by',
        signer.fingerprint,
        '--sign-identity',
        IDENTITY,
        `oci:${dir}/src:t`,
        `dir:${signed}`,
      ],
      { env: home.env() },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(path.join(signed, 'signature-1')));
  });

  after(async () => {
    // gpg-agent started for the temp GNUPGHOME: stop it before removing its socket directory.
    home?.close();
    const { rm } = await import('node:fs/promises');
    await rm(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** A policy for dir: images with one signedBy requirement. */
  async function policy(keyPath: string, signedIdentity?: Record<string, string>): Promise<string> {
    const file = path.join(dir, `policy-${++n}.json`);
    const requirement = {
      type: 'signedBy',
      keyType: 'GPGKeys',
      keyPath,
      ...(signedIdentity ? { signedIdentity } : {}),
    };
    await writeFile(
      file,
      JSON.stringify({ default: [{ type: 'reject' }], transports: { dir: { '': [requirement] } } }),
    );
    return file;
  }

  /** ferry copy, ferry verify and skopeo copy of `image` under `policyFile`; all three must agree. */
  async function decide(image: string, policyFile: string) {
    const out = path.join(dir, `out-${++n}`);
    const ferry = await runFerry(['--policy', policyFile, 'copy', '-q', `dir:${image}`, `dir:${out}`]);
    const verify = await runFerry(['--policy', policyFile, 'verify', `dir:${image}`]);
    const skopeo = await runSkopeo(['--policy', policyFile, 'copy', '-q', `dir:${image}`, `dir:${out}-skopeo`]);
    const accepted = ferry.code === 0;
    assert.equal(verify.code === 0, accepted, `verify: ${verify.stdout}${verify.stderr}`);
    assert.equal(skopeo.code === 0, accepted, `skopeo: ${skopeo.stderr}; ferry: ${ferry.stderr}`);
    if (!accepted) assert.ok(!existsSync(out), 'a rejected copy writes nothing');
    return { accepted, out, ferry, verify };
  }

  test("the signer's key and the signed identity accept: the image and its signature are copied", async () => {
    const d = await decide(
      signed,
      await policy(signer.publicKey, { type: 'exactReference', dockerReference: IDENTITY }),
    );
    assert.equal(d.accepted, true, d.ferry.stderr);
    assert.deepEqual(
      await readFile(path.join(d.out, 'manifest.json')),
      await readFile(path.join(signed, 'manifest.json')),
    );
    assert.deepEqual(await readFile(path.join(d.out, 'signature-1')), await readFile(path.join(signed, 'signature-1')));
    assert.match(d.verify.stdout, new RegExp(`accepted: signed by key ${signer.fingerprint} as ${IDENTITY}\\n`));
    assert.match(
      d.verify.stdout,
      new RegExp(`signature 1: simpleSigning, key ID ${signer.fingerprint.slice(-16)}, identity ${IDENTITY}`),
    );
  });

  test('the repository alone (exactRepository) accepts too', async () => {
    const d = await decide(
      signed,
      await policy(signer.publicKey, { type: 'exactRepository', dockerRepository: 'example.com/app' }),
    );
    assert.equal(d.accepted, true, d.ferry.stderr);
  });

  test('the default signedIdentity rejects a dir: image (it has no Docker reference to match), as skopeo does', async () => {
    const d = await decide(signed, await policy(signer.publicKey));
    assert.equal(d.accepted, false);
    assert.match(d.ferry.stderr, /an image without a Docker reference \(matchRepoDigestOrExact\)/);
  });

  test('another identity rejects, naming the identity the signature has', async () => {
    const d = await decide(
      signed,
      await policy(signer.publicKey, { type: 'exactReference', dockerReference: 'example.com/app:2' }),
    );
    assert.equal(d.accepted, false);
    assert.match(
      d.ferry.stderr,
      /^ferry: source image "dir:.*" rejected by the trust policy: manifest sha256:[0-9a-f]{64} by transports\["dir"\]\[""\]: requirement 1 \(signedBy\): .*signed identity "example\.com\/app:1" is not accepted/,
    );
  });

  test('another key rejects, naming the key ID that signed', async () => {
    const d = await decide(
      signed,
      await policy(other.publicKey, { type: 'exactReference', dockerReference: IDENTITY }),
    );
    assert.equal(d.accepted, false);
    assert.match(
      d.ferry.stderr,
      new RegExp(`key ID ${signer.fingerprint.slice(-16)}, which is not in the trusted keyring`),
    );
  });

  test('a tampered manifest rejects: the signature is for another digest', async () => {
    const tampered = path.join(dir, 'tampered');
    await cp(signed, tampered, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(tampered, 'manifest.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    manifest.annotations = { tampered: 'yes' };
    await writeFile(path.join(tampered, 'manifest.json'), JSON.stringify(manifest));
    const d = await decide(
      tampered,
      await policy(signer.publicKey, { type: 'exactReference', dockerReference: IDENTITY }),
    );
    assert.equal(d.accepted, false);
    assert.match(d.ferry.stderr, /signature is for manifest sha256:[0-9a-f]{64}, not this image's/);
    assert.match(d.verify.stdout, /: rejected\n/);
  });
});
