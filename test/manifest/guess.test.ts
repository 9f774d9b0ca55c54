import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { guessMIMEType, MediaType } from '../../src/manifest/index.js';
import { fixturePath } from '../helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('manifest', name));

/** Expected guess per fixture: a MIME type, '' (not a manifest) or the error code. */
const EXPECTED: [string, string][] = [
  ['non-json.manifest.json', 'INVALID_MANIFEST'],
  ['oci1-all-media-types-config.json', ''],
  ['oci1-all-media-types-to-schema2-config.json', ''],
  ['oci1-all-media-types-to-schema2.json', MediaType.DOCKER_V2_SCHEMA2],
  ['oci1-all-media-types.json', MediaType.OCI_MANIFEST],
  ['oci1-artifact.json', MediaType.OCI_MANIFEST],
  ['oci1-config-extra-fields.json', ''],
  ['oci1-config.json', ''],
  ['oci1-extra-config-fields.json', MediaType.OCI_MANIFEST],
  ['oci1-invalid-media-type.json', MediaType.OCI_MANIFEST],
  ['oci1-to-schema1.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['oci1-to-schema2-config.json', ''],
  ['oci1-to-schema2.json', MediaType.DOCKER_V2_SCHEMA2],
  ['oci1.encrypted.json', MediaType.OCI_MANIFEST],
  ['oci1.index.everything.json', MediaType.OCI_INDEX],
  ['oci1.index.zstd-selection.json', MediaType.OCI_INDEX],
  ['oci1.index.zstd-selection2.json', MediaType.OCI_INDEX],
  ['oci1.json', MediaType.OCI_MANIFEST],
  ['oci1index.json', MediaType.OCI_INDEX],
  ['ocilist-variants.json', MediaType.OCI_INDEX],
  ['ociv1.artifact.json', MediaType.OCI_MANIFEST],
  ['ociv1.encrypted.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.everything.json', MediaType.OCI_MANIFEST],
  ['ociv1.image.index.json', MediaType.OCI_INDEX],
  ['ociv1.invalid.mediatype.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.nondistributable.gzip.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.nondistributable.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.nondistributable.zstd.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.uncompressed.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1.zstd.manifest.json', MediaType.OCI_MANIFEST],
  ['ociv1nomime.artifact.json', MediaType.OCI_MANIFEST],
  ['ociv1nomime.image.index.json', MediaType.OCI_INDEX],
  ['ociv1nomime.manifest.json', MediaType.OCI_MANIFEST],
  ['schema1-for-oci-config.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['schema1-to-oci1-config.json', ''],
  ['schema1-to-oci1.json', MediaType.OCI_MANIFEST],
  ['schema1-to-schema2-config.json', ''],
  ['schema1-to-schema2.json', MediaType.DOCKER_V2_SCHEMA2],
  ['schema1.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['schema2-all-media-types-to-oci1.json', MediaType.OCI_MANIFEST],
  ['schema2-all-media-types.json', MediaType.DOCKER_V2_SCHEMA2],
  ['schema2-config.json', ''],
  ['schema2-invalid-media-type.json', MediaType.DOCKER_V2_SCHEMA2],
  ['schema2-to-oci1-config.json', ''],
  ['schema2-to-oci1.json', MediaType.OCI_MANIFEST],
  ['schema2-to-schema1-by-docker.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['schema2.json', MediaType.DOCKER_V2_SCHEMA2],
  ['schema2list-variants.json', MediaType.DOCKER_V2_LIST],
  ['schema2list.json', MediaType.DOCKER_V2_LIST],
  ['unknown-version.manifest.json', ''],
  ['v2list.everything.json', MediaType.DOCKER_V2_LIST],
  ['v2list.manifest.json', MediaType.DOCKER_V2_LIST],
  ['v2s1-invalid-signatures.manifest.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['v2s1-unsigned.manifest.json', MediaType.DOCKER_V2_SCHEMA1],
  ['v2s1.everything.json', MediaType.DOCKER_V2_SCHEMA1],
  ['v2s1.manifest.json', MediaType.DOCKER_V2_SCHEMA1_SIGNED],
  ['v2s2.everything.json', MediaType.DOCKER_V2_SCHEMA2],
  ['v2s2.manifest.json', MediaType.DOCKER_V2_SCHEMA2],
  ['v2s2.nondistributable.gzip.manifest.json', MediaType.DOCKER_V2_SCHEMA2],
  ['v2s2.nondistributable.manifest.json', MediaType.DOCKER_V2_SCHEMA2],
  ['v2s2.uncompressed.manifest.json', MediaType.DOCKER_V2_SCHEMA2],
  ['v2s2nomime.manifest.json', MediaType.DOCKER_V2_SCHEMA2],
];

test('guesses the type of every manifest fixture as upstream GuessMIMEType does', () => {
  const names = readdirSync(fixturePath('manifest')).sort();
  assert.deepEqual(names, EXPECTED.map(([n]) => n).sort(), 'every fixture has an expectation');
  for (const [name, expected] of EXPECTED) {
    if (expected === 'INVALID_MANIFEST') {
      assert.throws(
        () => guessMIMEType(fixture(name)),
        (e) => isFerryError(e, 'INVALID_MANIFEST'),
        name,
      );
    } else {
      assert.equal(guessMIMEType(fixture(name)), expected, name);
    }
  }
});

test('a known mediaType wins over the other hints', () => {
  const doc = { schemaVersion: 1, mediaType: MediaType.OCI_INDEX, manifests: [] };
  assert.equal(guessMIMEType(Buffer.from(JSON.stringify(doc))), MediaType.OCI_INDEX);
});

test('schemaVersion 1 without signatures is unsigned schema1, with signatures signed', () => {
  assert.equal(guessMIMEType(Buffer.from('{"schemaVersion":1,"fsLayers":[]}')), MediaType.DOCKER_V2_SCHEMA1);
  assert.equal(
    guessMIMEType(Buffer.from('{"schemaVersion":1,"fsLayers":[],"signatures":[]}')),
    MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  );
});

test('version 2 without mediaType: a non-empty manifests array means an OCI index, otherwise an OCI manifest', () => {
  assert.equal(guessMIMEType(Buffer.from('{"schemaVersion":2,"manifests":[{}]}')), MediaType.OCI_INDEX);
  // An empty `manifests` does not make an index, and an OCI manifest may not carry one.
  assert.throws(
    () => guessMIMEType(Buffer.from('{"schemaVersion":2,"manifests":[]}')),
    (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
  );
  assert.equal(guessMIMEType(Buffer.from('{"schemaVersion":2}')), MediaType.OCI_MANIFEST);
});

test('rejects an OCI manifest that also has manifests as ambiguous', () => {
  const doc = { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST, config: {}, layers: [], manifests: [] };
  assert.throws(
    () => guessMIMEType(Buffer.from(JSON.stringify(doc))),
    (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
  );
});

test('rejects an index that also has layers or config as ambiguous', () => {
  for (const extra of [{ layers: [] }, { config: {} }, { fsLayers: [] }]) {
    const doc = { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [], ...extra };
    assert.throws(
      () => guessMIMEType(Buffer.from(JSON.stringify(doc))),
      (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
    );
  }
});

test('rejects a schema1 manifest with layers, matching field names case-insensitively as Go does', () => {
  const doc = '{"schemaVersion":1,"fsLayers":[],"history":[],"Layers":[]}';
  assert.throws(
    () => guessMIMEType(Buffer.from(doc)),
    (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
  );
});

test('rejects a version 2 document with both config and manifests as ambiguous', () => {
  const doc = '{"schemaVersion":2,"config":{"mediaType":"x"},"manifests":[{}]}';
  assert.throws(
    () => guessMIMEType(Buffer.from(doc)),
    (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
  );
});

test('a schema2 document with a null manifests field is not ambiguous', () => {
  const doc = { schemaVersion: 2, mediaType: MediaType.DOCKER_V2_SCHEMA2, config: {}, layers: [], manifests: null };
  assert.equal(guessMIMEType(Buffer.from(JSON.stringify(doc))), MediaType.DOCKER_V2_SCHEMA2);
});

test('non-JSON is INVALID_MANIFEST and an unknown version is unrecognised', () => {
  assert.throws(
    () => guessMIMEType(Buffer.from('not json')),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
  assert.throws(
    () => guessMIMEType(Buffer.from('[1,2]')),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
  assert.equal(guessMIMEType(Buffer.from('{"schemaVersion":3}')), '');
  assert.equal(guessMIMEType(Buffer.from('{"schemaVersion":"2"}')), '');
});
