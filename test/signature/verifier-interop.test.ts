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
import { fixturePath } from '../helpers/paths.js';

function installed(program: string): boolean {
  try {
    execFileSync(program, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = !installed('gpg') || !installed('skopeo') ? 'gpg or skopeo not installed' : false;
const REF = 'quay.io/ferry/app:1';

describe('signedBy accepts what skopeo standalone-sign signed with a GnuPG key', { skip }, () => {
  let dir = '';
  let keyData = Buffer.alloc(0);
  let signature = Buffer.alloc(0);
  const manifest = readFileSync(fixturePath('signature', 'image.manifest.json'));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-verifier-'));
    const home = join(dir, 'gnupg');
    execFileSync('mkdir', ['-m', '700', home]);
    const env = { ...process.env, GNUPGHOME: home };
    const gpg = (args: string[]) => execFileSync('gpg', ['--batch', '--no-tty', ...args], { env, stdio: 'pipe' });
    gpg(['--passphrase', '', '--quick-gen-key', 'Ferry Verifier <verifier@ferry.invalid>', 'ed25519', 'sign', 'never']);
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(gpg(['--list-keys', '--with-colons']).toString())?.[1] ?? '';
    keyData = gpg(['--armor', '--export', fpr]);
    const manifestPath = fixturePath('signature', 'image.manifest.json');
    const out = join(dir, 'signature');
    execFileSync('skopeo', ['standalone-sign', '--output', out, manifestPath, REF, fpr], { env, stdio: 'pipe' });
    signature = readFileSync(out);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

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
