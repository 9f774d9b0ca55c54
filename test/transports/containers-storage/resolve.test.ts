import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parseStorageReference } from '../../../src/transports/containers-storage/reference.js';
import { resolveStorageImage } from '../../../src/transports/containers-storage/resolve.js';
import type { ImageRecord } from '../../../src/transports/containers-storage/store.js';

const D1 = `sha256:${'1'.repeat(64)}` as const;
const D2 = `sha256:${'2'.repeat(64)}` as const;
const images: ImageRecord[] = [
  { id: `abc1${'0'.repeat(60)}`, digest: D1, names: ['docker.io/library/app:1'] },
  {
    id: `abc2${'0'.repeat(60)}`,
    digest: D2,
    names: ['quay.io/org/tool:2'],
    'big-data-digests': { [`manifest-${D1}`]: D1 },
  },
  { id: `def0${'0'.repeat(60)}`, names: [] },
];
const find = (s: string) => resolveStorageImage(images, parseStorageReference(s), s).id;

describe('containers-storage: which image a reference means (containers/image resolveImage)', () => {
  test('by full name (normalised, :latest added), by ID, by unique ID prefix', () => {
    assert.equal(find('app:1'), images[0]?.id);
    assert.equal(find('docker.io/library/app:1'), images[0]?.id);
    assert.equal(find(`@${images[2]?.id}`), images[2]?.id);
    assert.equal(find('def0'), images[2]?.id, 'a bare ID prefix');
    assert.equal(find('@def'), images[2]?.id);
  });

  test('name@digest: an image of that repository whose manifest digests include the digest', () => {
    assert.equal(find(`app@${D1}`), images[0]?.id);
    assert.equal(find(`quay.io/org/tool@${D1}`), images[1]?.id, 'a digest of another manifest it holds');
    assert.throws(
      () => find(`app@${D2}`),
      (e: unknown) => isFerryError(e, 'IMAGE_NOT_FOUND'),
    );
  });

  test('a name with an ID must match that image; an ambiguous prefix and an unknown name are typed errors', () => {
    assert.equal(find(`app:1@${images[0]?.id}`), images[0]?.id);
    assert.throws(
      () => find(`other:1@${images[0]?.id}`),
      (e: unknown) => isFerryError(e, 'IMAGE_NOT_FOUND'),
    );
    assert.throws(
      () => find('@abc'),
      (e: unknown) => isFerryError(e, 'AMBIGUOUS_IMAGE') && /2 images/.test(e.message),
    );
    assert.throws(
      () => find('missing:1'),
      (e: unknown) => isFerryError(e, 'IMAGE_NOT_FOUND'),
    );
  });
});
