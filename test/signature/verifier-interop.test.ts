/** The policy verifier on a signature made by the real skopeo and GnuPG (key given as keyData, as exported). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDockerReference } from '../../src/reference/reference.js';
import { evaluatePolicy, type ImageToVerify, type SignedByRequirement } from '../../src/signature/policy/index.js';
import { createPolicySignatureVerifier } from '../../src/signature/verifier.js';
import { GpgHome, installed } from '../helpers/gpg.js';
import { fixturePath } from '../helpers/paths.js';

const skip = !installed('gpg') || !installed('skopeo') ? 'gpg or skopeo not installed' : false;
const REF = 'quay.io/ferry/app:1';

describe('signedBy accepts what skopeo standalone-sign signed with a GnuPG key', { skip }, () => {
  let dir = '';
  let keyData: Buffer = Buffer.alloc(0);
  let signature = Buffer.alloc(0);
  const manifest = readFileSync(fixturePath('signature', 'image.manifest.json'));

  let home: GpgHome | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-verifier-'));
    home = await GpgHome.create(join(dir, 'gnupg'));
    const fpr = home.generateKey('Ferry Verifier <verifier@ferry.invalid>', 'ed25519');
    keyData = home.gpg(['--armor', '--export', fpr]);
    const manifestPath = fixturePath('signature', 'image.manifest.json');
    const out = join(dir, 'signature');
    execFileSync('skopeo', ['standalone-sign', '--output', out, manifestPath, REF, fpr], {
      env: home.env(),
      stdio: 'pipe',
    });
    signature = readFileSync(out);
  });

  after(() => {
    home?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const image = (ref: string): ImageToVerify => ({
    manifest,
    dockerReference: parseDockerReference(ref),
    signatures: [{ kind: 'simpleSigning', blob: signature }],
  });
  const req = (): SignedByRequirement => ({
    type: 'signedBy',
    keyType: 'GPGKeys',
    keyData,
    signedIdentity: { type: 'matchRepoDigestOrExact' },
  });

  test('the signed reference is accepted; another tag and another key are rejected', async () => {
    const verifier = createPolicySignatureVerifier();
    assert.equal((await evaluatePolicy([req()], image(REF), { verifier })).allowed, true);
    assert.equal((await evaluatePolicy([req()], image('quay.io/ferry/app:2'), { verifier })).allowed, false);
    const other = { ...req(), keyData: readFileSync(fixturePath('signature', 'public-key.gpg')) };
    assert.equal((await evaluatePolicy([other], image(REF), { verifier })).allowed, false);
  });
});
