/**
 * The policy decision for an image through the public API: verifyImage decides a list and every
 * instance; copyImage decides what it copies (the image; each copied instance of a list, as
 * containers/image copy does) before the destination is opened, and writes nothing on a refusal.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as openpgp from 'openpgp';
import {
  copyImage,
  type Digest,
  digestHex,
  type ImagePolicyVerification,
  isFerryError,
  type Policy,
  parseImageReference,
  parsePolicy,
  serializePayload,
  signWithKey,
  verifyImage,
} from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { makeTempDir } from '../helpers/tmp.js';

const IDENTITY = 'example.com/multi:1';

describe('policy decisions for images and lists', () => {
  let dir = '';
  let made: MadeImage;
  /** dir: image of a two-platform index, where only the amd64 instance and nothing else is signed. */
  let signedList = '';
  let publicKey = '';
  let privateKey = '';

  async function sign(target: string, digest: Digest, instance: boolean): Promise<void> {
    const payload = serializePayload({ dockerManifestDigest: digest, dockerReference: IDENTITY });
    const signature = await signWithKey(payload, privateKey);
    const name = instance ? `${digestHex(digest)}.signature-1` : 'signature-1';
    await writeFile(path.join(target, name), signature);
  }

  const signedBy = (): Policy =>
    parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          dir: {
            '': [
              {
                type: 'signedBy',
                keyType: 'GPGKeys',
                keyPath: path.join(dir, 'public.asc'),
                signedIdentity: { type: 'exactReference', dockerReference: IDENTITY },
              },
            ],
          },
        },
      }),
      'policy.json',
    );

  before(async () => {
    dir = await makeTempDir('ferry-image-policy-');
    const key = await openpgp.generateKey({
      userIDs: [{ name: 'Ferry Test', email: 'test@example.com' }],
      format: 'armored',
    });
    publicKey = key.publicKey;
    privateKey = key.privateKey;
    await writeFile(path.join(dir, 'public.asc'), publicKey);
    made = await makeImage(path.join(dir, 'src'), {
      tag: 't',
      platforms: ['linux/amd64', 'linux/arm64'],
      layers: 1,
      layerSize: 1024,
    });
    signedList = path.join(dir, 'signed-list');
    await copyImage(parseImageReference(`oci:${dir}/src:t`), parseImageReference(`dir:${signedList}`), {
      imageListSelection: 'all',
      blobInfoCache: 'none',
    });
    await sign(signedList, made.instances[0]!.digest as Digest, true);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('verifyImage decides the list and every instance, with the scope and the signatures found', async () => {
    const v = await verifyImage(`dir:${signedList}`, signedBy());
    assert.equal(v.reference, `dir:${signedList}`);
    assert.equal(v.allowed, false);
    assert.deepEqual(
      v.decisions.map((d) => [d.digest, d.instance, d.platform?.architecture, d.allowed]),
      [
        [made.digest, false, undefined, false],
        [made.instances[0]!.digest, true, 'amd64', true],
        [made.instances[1]!.digest, true, 'arm64', false],
      ],
    );
    for (const d of v.decisions) assert.equal(d.scope, 'transports["dir"][""]');
    assert.equal(v.decisions[1]?.signatures.length, 1);
    assert.equal(v.decisions[1]?.signatures[0]?.identity, IDENTITY);
    assert.equal(v.decisions[1]?.signatures[0]?.manifestDigest, made.instances[0]!.digest);
    assert.match(v.decisions[2]?.requirements[0]?.reason ?? '', /the image has no simple-signing signatures/);
  });

  test('verifyImage takes a policy.json path too (read strictly)', async () => {
    const file = path.join(dir, 'typo.json');
    await writeFile(file, JSON.stringify({ default: [{ type: 'insecureAcceptAnything', keyPath: 'x' }] }));
    await assert.rejects(verifyImage(`dir:${signedList}`, file), (e) => isFerryError(e, 'INVALID_POLICY'));
    const good = path.join(dir, 'accept.json');
    await writeFile(good, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    assert.equal((await verifyImage(`dir:${signedList}`, good)).allowed, true);
  });

  /** copyImage of the signed list under signedBy(); the decisions it reported, and whether it wrote anything. */
  async function copyDecided(name: string, options: Parameters<typeof copyImage>[2]) {
    const out = path.join(dir, 'out', name);
    const seen: ImagePolicyVerification[] = [];
    let error: unknown;
    try {
      await copyImage(parseImageReference(`dir:${signedList}`), parseImageReference(`dir:${out}`), {
        policy: signedBy(),
        blobInfoCache: 'none',
        onPolicyDecision: (v) => seen.push(v),
        ...options,
      });
    } catch (e) {
      error = e;
    }
    return { error, seen, written: existsSync(out) };
  }

  test('copying the signed instance of the list (system selection) is accepted; only that instance is decided', async () => {
    const r = await copyDecided('amd64', { sourceOptions: { os: 'linux', architecture: 'amd64' } });
    assert.equal(r.error, undefined);
    assert.ok(r.written);
    assert.deepEqual(
      r.seen[0]?.decisions.map((d) => [d.digest, d.allowed]),
      [[made.instances[0]!.digest, true]],
    );
  });

  test('copying the unsigned instance is refused with POLICY_REJECTED naming it, and writes nothing', async () => {
    const r = await copyDecided('arm64', { sourceOptions: { os: 'linux', architecture: 'arm64' } });
    assert.ok(isFerryError(r.error, 'POLICY_REJECTED'), String(r.error));
    assert.match(
      (r.error as Error).message,
      new RegExp(
        `^source image "dir:${signedList}" rejected by the trust policy: instance ${made.instances[1]!.digest} \\(linux/arm64\\) by transports\\["dir"\\]\\[""\\]: requirement 1 \\(signedBy\\): the image has no simple-signing signatures$`,
      ),
    );
    assert.ok(!r.written);
  });

  test('copying all instances decides each (not the list itself) and is refused for the unsigned one', async () => {
    const r = await copyDecided('all', { imageListSelection: 'all' });
    assert.ok(isFerryError(r.error, 'POLICY_REJECTED'));
    assert.deepEqual(
      r.seen[0]?.decisions.map((d) => [d.digest, d.instance, d.allowed]),
      [
        [made.instances[0]!.digest, true, true],
        [made.instances[1]!.digest, true, false],
      ],
    );
    assert.ok(!r.written);
  });

  test('copying only the signed instance ({ instances }) is accepted', async () => {
    const r = await copyDecided('one', { imageListSelection: { instances: [made.instances[0]!.digest as Digest] } });
    assert.equal(r.error, undefined);
    assert.ok(r.written);
  });

  test('index-only decides the list itself (upstream would decide nothing)', async () => {
    const r = await copyDecided('index-only', { imageListSelection: 'index-only' });
    assert.ok(isFerryError(r.error, 'POLICY_REJECTED'));
    assert.deepEqual(
      r.seen[0]?.decisions.map((d) => [d.digest, d.instance]),
      [[made.digest, false]],
    );
  });

  test('insecurePolicy skips the check, and without a policy nothing is checked', async () => {
    const skipped = await copyDecided('insecure', {
      imageListSelection: 'all',
      insecurePolicy: true,
    });
    assert.equal(skipped.error, undefined);
    assert.deepEqual(skipped.seen, []);
    assert.ok(skipped.written);
    const out = path.join(dir, 'out', 'none');
    await copyImage(parseImageReference(`dir:${signedList}`), parseImageReference(`dir:${out}`), {
      imageListSelection: 'all',
      blobInfoCache: 'none',
    });
    assert.ok((await readdir(out)).includes('manifest.json'));
  });

  test('a policy path in copyImage is loaded strictly; a missing one is POLICY_NOT_FOUND, before any write', async () => {
    const r = await copyDecided('missing-policy', { policy: path.join(dir, 'nope.json') });
    assert.ok(isFerryError(r.error, 'POLICY_NOT_FOUND'));
    assert.ok(!r.written);
  });
});
