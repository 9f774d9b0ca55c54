/**
 * Names a docker archive (or a docker daemon's image save) puts in manifest.json and the config are
 * input: an error repeating one quotes it, so terminal escapes in it never reach the terminal.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parseDockerArchiveReference } from '../../../src/transports/docker-archive/index.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { type Member, writeTar } from './fixtures.js';

const ESC = '\u001b]0;owned\u0007\u001b[2J';

describe('docker-archive: hostile names in errors are quoted', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('ferry-docker-archive-text-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function errorOf(name: string, members: Member[], ref = ''): Promise<Error> {
    const path = join(dir, name);
    await writeTar(path, members);
    try {
      const src = await parseDockerArchiveReference(`${path}${ref}`).newImageSource({ tmpDir: dir });
      try {
        await src.getManifest();
      } finally {
        await src.close();
      }
    } catch (e) {
      return e as Error;
    }
    assert.fail(`${name}: opened`);
  }

  const manifest = (config: string, repoTags: string[] = [], layers: string[] = []) => ({
    name: 'manifest.json',
    data: JSON.stringify([{ Config: config, RepoTags: repoTags, Layers: layers }]),
  });

  for (const [label, members, ref] of [
    ['a missing config member', [manifest(`${ESC}.json`)], ''],
    ['an invalid tag', [manifest('c.json', [`${ESC}:1`]), { name: 'c.json', data: '{}' }], ':a:1'],
    [
      'an invalid diff_id',
      [manifest('c.json'), { name: 'c.json', data: JSON.stringify({ rootfs: { diff_ids: [ESC] } }) }],
      '',
    ],
    [
      'a config member with a hostile name that is not JSON',
      [manifest(`${ESC}.json`), { name: `${ESC}.json`, data: 'not json' }],
      '',
    ],
  ] as const) {
    test(`${label}: the message has no control characters`, async () => {
      const error = await errorOf(`${label.replaceAll(' ', '-')}.tar`, [...members], ref);
      assert.ok(isFerryError(error), String(error));
      assert.doesNotMatch(error.message, /[\u0000-\u001f]/, error.message);
      assert.ok(error.message.includes('owned'), `the message still names the input: ${error.message}`);
    });
  }
});
