/**
 * listReferrers asks the transport whether it holds referrers (ImageTransport.listsReferrers) and
 * refuses one that does not before opening a source: no directory is looked at, no daemon asked.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError, listReferrers, parseImageReference } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { makeTempDir } from '../helpers/tmp.js';

describe('listReferrers: refused by the transport capability', () => {
  let dir = '';
  before(async () => {
    dir = await makeTempDir('ferry-list-referrers-');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a dir: or docker-daemon: image is UNSUPPORTED_OPERATION naming the reference and the rule, with nothing opened', async () => {
    const absent = path.join(dir, 'nowhere');
    // The directory does not exist, nor does the daemon's socket: opening a source would fail otherwise.
    for (const name of [`dir:${absent}`, 'docker-daemon:app:1']) {
      await assert.rejects(
        listReferrers(parseImageReference(name), { daemonHost: `unix://${path.join(dir, 'no.sock')}` }),
        (e) =>
          isFerryError(e, 'UNSUPPORTED_OPERATION') &&
          e.message.startsWith(`cannot list the referrers of "${name}": the `) &&
          e.message.endsWith('transport holds no referrers (only docker and oci images do)'),
        name,
      );
    }
  });

  test('an oci: image, whose transport holds referrers, is listed', async () => {
    const layout = path.join(dir, 'layout');
    await makeImage(layout, { tag: 't', layers: 1, layerSize: 1024 });
    const listing = await listReferrers(parseImageReference(`oci:${layout}:t`));
    assert.equal(listing.source, 'layout');
    assert.deepEqual(listing.manifests, []);
  });
});
