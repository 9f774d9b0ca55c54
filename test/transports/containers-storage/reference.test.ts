import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFerryError } from '../../../src/errors.js';
import { parseStorageReference } from '../../../src/transports/containers-storage/reference.js';

const ID = 'a'.repeat(64);
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('containers-storage: references (containers/image storage_transport.go grammar)', () => {
  test('the store specifier: each piece optional, paths absolute', () => {
    const cases: [string, object][] = [
      ['[vfs@/g+/r:o1,o2]app', { driver: 'vfs', graphRoot: '/g', runRoot: '/r', options: ['o1', 'o2'] }],
      ['[vfs@/g+/r]app', { driver: 'vfs', graphRoot: '/g', runRoot: '/r' }],
      ['[vfs@/g]app', { driver: 'vfs', graphRoot: '/g' }],
      ['[/g]app', { graphRoot: '/g' }],
      ['[/g+/r]app', { graphRoot: '/g', runRoot: '/r' }],
      ['app', {}],
    ];
    for (const [input, store] of cases) assert.deepEqual(parseStorageReference(input).store, store, input);
  });

  test('names are normalised and tagged :latest; tags, digests and IDs are kept', () => {
    const r = (s: string) => parseStorageReference(s);
    assert.equal(r('app').named?.toString(), 'docker.io/library/app:latest');
    assert.equal(r('quay.io/org/app:1').named?.toString(), 'quay.io/org/app:1');
    assert.equal(r(`app@${DIGEST}`).named?.toString(), `docker.io/library/app@${DIGEST}`);
    assert.equal(r(`app:1@${DIGEST}`).named?.digest, DIGEST);
    const withID = r(`app:1@${ID}`);
    assert.equal(withID.id, ID);
    assert.equal(withID.named?.toString(), 'docker.io/library/app:1');
    const onlyID = r(`@${ID}`);
    assert.equal(onlyID.named, undefined);
    assert.equal(onlyID.id, ID);
    assert.equal(onlyID.idIsPrefix, false);
    const prefix = r('@abc123');
    assert.equal(prefix.id, 'abc123');
    assert.equal(prefix.idIsPrefix, true);
  });

  test('a bare hex name of 3+ characters may be an ID prefix, and is also a name', () => {
    const r = parseStorageReference('abc123');
    assert.equal(r.maybeIdPrefix, 'abc123');
    assert.equal(r.named?.toString(), 'docker.io/library/abc123:latest');
    assert.equal(r.dockerReference(), undefined);
    assert.equal(parseStorageReference('ab').maybeIdPrefix, undefined);
    assert.equal(parseStorageReference('app').maybeIdPrefix, undefined);
  });

  test('the string within the transport parses back to an equal reference', () => {
    for (const s of [`[vfs@/g+/r:o]docker.io/library/app:1@${ID}`, '[/g]quay.io/a/b:2', `@${ID}`, 'abc123']) {
      const ref = parseStorageReference(s);
      assert.equal(
        parseStorageReference(ref.stringWithinTransport()).stringWithinTransport(),
        ref.stringWithinTransport(),
      );
      assert.equal(ref.toString(), `containers-storage:${ref.stringWithinTransport()}`);
    }
  });

  test('bad references are INVALID_REFERENCE naming the input and the rule', () => {
    const cases: [string, RegExp][] = [
      ['', /empty/],
      ['[vfs@/g', /does not end/],
      ['[]app', /empty/],
      ['[@/g]app', /DRIVER@ROOT needs both parts/],
      ['[vfs@]app', /DRIVER@ROOT needs both parts/],
      ['[relative]app', /not absolute/],
      ['[/g+run]app', /not absolute/],
      ['app@', /nothing follows/],
      ['app@xy', /neither a digest nor an image ID/],
      ['[/g]', /neither an image name nor an image ID/],
      ['UPPER', /not an image name/],
    ];
    for (const [input, why] of cases) {
      assert.throws(
        () => parseStorageReference(input),
        (e: unknown) => isFerryError(e, 'INVALID_REFERENCE') && why.test(e.message),
        input,
      );
    }
  });
});
