import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parsePolicy } from '../../../src/signature/policy/parse.js';
import { fixturePath } from '../../helpers/paths.js';
import { runSkopeo } from '../../helpers/run.js';
import { withTempDir } from '../../helpers/tmp.js';

/** True when skopeo refuses `policy` when loading it (before it looks at the source image). */
async function skopeoRefuses(dir: string, policy: string): Promise<boolean> {
  const file = join(dir, 'policy.json');
  await writeFile(file, policy);
  const r = await runSkopeo(['--policy', file, 'copy', `dir:${join(dir, 'missing')}`, `dir:${join(dir, 'out')}`]);
  assert.notEqual(r.code, 0, 'the copy cannot succeed: its source is missing');
  return r.stderr.includes('Error loading trust policy');
}

function ferryRefuses(policy: string): boolean {
  try {
    parsePolicy(policy, 'policy.json');
    return false;
  } catch (e) {
    if (isFerryError(e, 'INVALID_POLICY')) return true;
    throw e;
  }
}

const sb = (extra: object) =>
  JSON.stringify({ default: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath: '/k', ...extra }] });

/** Policies in the format Debian's skopeo (containers/image 5.2x) knows, valid and invalid. */
const policies: [string, string][] = [
  ['minimal', '{"default":[{"type":"insecureAcceptAnything"}]}'],
  ['a typo in a top-level field', '{"default":[{"type":"reject"}],"transport":{}}'],
  ['no default', '{"transports":{}}'],
  ['an empty default', '{"default":[]}'],
  [
    'a duplicate scope',
    '{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":[{"type":"reject"}],"a.io":[]}}}',
  ],
  ['a duplicate field', '{"default":[{"type":"reject","type":"reject"}]}'],
  ['a typo in keyType', sb({ keyTyp: 'GPGKeys' })],
  ['an unknown keyType', sb({ keyType: 'PGP' })],
  ['X509Certificates', sb({ keyType: 'X509Certificates' })],
  ['keyPath and keyData', sb({ keyData: 'bm9uc2Vuc2U=' })],
  ['an empty keyPath', sb({ keyPath: '' })],
  ['keyData not base64', sb({ keyPath: undefined, keyData: 'not base64!' })],
  ['an unknown type', '{"default":[{"type":"signedByMe"}]}'],
  ['a field on reject', '{"default":[{"type":"reject","keyPath":"/k"}]}'],
  ['an unknown signedIdentity', sb({ signedIdentity: { type: 'matchAll' } })],
  ['exactReference without tag', sb({ signedIdentity: { type: 'exactReference', dockerReference: 'busybox' } })],
  ['exactRepository', sb({ signedIdentity: { type: 'exactRepository', dockerRepository: 'quay.io/a/b' } })],
  ['remap with a tag', sb({ signedIdentity: { type: 'remapIdentity', prefix: 'a.io/r:t', signedPrefix: 'b.io' } })],
  ['remap', sb({ signedIdentity: { type: 'remapIdentity', prefix: 'a.io/ns', signedPrefix: 'b.io:5000' } })],
  ['signedBaseLayer', '{"default":[{"type":"signedBaseLayer","baseLayerIdentity":{"type":"matchRepository"}}]}'],
  ['signedBaseLayer without identity', '{"default":[{"type":"signedBaseLayer"}]}'],
  ['sigstoreSigned keyPath', '{"default":[{"type":"sigstoreSigned","keyPath":"/k"}]}'],
  ['sigstoreSigned keyData and keyPath', '{"default":[{"type":"sigstoreSigned","keyPath":"/k","keyData":"cg=="}]}'],
  ['a relative dir scope', '{"default":[{"type":"reject"}],"transports":{"dir":{"a/b":[{"type":"reject"}]}}}'],
  [
    'a non-canonical oci scope',
    '{"default":[{"type":"reject"}],"transports":{"oci":{"/a/../b/":[{"type":"reject"}]}}}',
  ],
  [
    'a docker-archive scope',
    '{"default":[{"type":"reject"}],"transports":{"docker-archive":{"/a":[{"type":"reject"}]}}}',
  ],
  ['an unknown transport', '{"default":[{"type":"reject"}],"transports":{"atomic":{"x y":[{"type":"reject"}]}}}'],
];

describe('Ferry refuses the policies skopeo refuses, and accepts the ones it accepts', () => {
  test('the upstream fixture policy', async () => {
    await withTempDir(async (dir) => {
      const text = await readFile(fixturePath('signature', 'policy', 'policy.json'), 'utf8');
      assert.equal(ferryRefuses(text), false);
      assert.equal(await skopeoRefuses(dir, text), false);
    });
  });
  for (const [name, policy] of policies) {
    test(name, async () => {
      await withTempDir(async (dir) => {
        assert.equal(ferryRefuses(policy), await skopeoRefuses(dir, policy));
      });
    });
  }
});
