import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import {
  ACCEPTED_MANIFEST_TYPES,
  isListMIMEType,
  layerCompressionOfMediaType,
  layerMediaType,
  MediaType,
  normalizeMIMEType,
} from '../../src/manifest/index.js';

test('the Accept order is OCI manifest, v2s2, v2s1 signed, v2s1, v2 list, OCI index', () => {
  assert.deepEqual(ACCEPTED_MANIFEST_TYPES, [
    MediaType.OCI_MANIFEST,
    MediaType.DOCKER_V2_SCHEMA2,
    MediaType.DOCKER_V2_SCHEMA1_SIGNED,
    MediaType.DOCKER_V2_SCHEMA1,
    MediaType.DOCKER_V2_LIST,
    MediaType.OCI_INDEX,
  ]);
});

test('application/json and unknown types normalise to signed schema1; known types stay', () => {
  assert.equal(normalizeMIMEType('application/json'), MediaType.DOCKER_V2_SCHEMA1_SIGNED);
  assert.equal(normalizeMIMEType('text/plain'), MediaType.DOCKER_V2_SCHEMA1_SIGNED);
  for (const t of ACCEPTED_MANIFEST_TYPES) assert.equal(normalizeMIMEType(t), t);
});

test('only the Docker list and the OCI index are lists', () => {
  assert.ok(isListMIMEType(MediaType.DOCKER_V2_LIST));
  assert.ok(isListMIMEType(MediaType.OCI_INDEX));
  assert.ok(!isListMIMEType(MediaType.OCI_MANIFEST));
  assert.ok(!isListMIMEType(MediaType.DOCKER_V2_SCHEMA2));
});

test('layer media types declare their compression', () => {
  assert.equal(layerCompressionOfMediaType(MediaType.DOCKER_LAYER_GZIP), 'gzip');
  assert.equal(layerCompressionOfMediaType(MediaType.DOCKER_LAYER), 'none');
  assert.equal(layerCompressionOfMediaType(MediaType.OCI_LAYER_ZSTD), 'zstd');
  assert.equal(layerCompressionOfMediaType(MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP), 'gzip');
  assert.equal(layerCompressionOfMediaType(MediaType.OCI_CONFIG), undefined);
});

test('picks the layer media type for a manifest type, compression and foreignness', () => {
  assert.equal(layerMediaType(MediaType.OCI_MANIFEST, 'zstd', false), MediaType.OCI_LAYER_ZSTD);
  assert.equal(layerMediaType(MediaType.OCI_MANIFEST, 'none', true), MediaType.OCI_LAYER_NONDISTRIBUTABLE);
  assert.equal(layerMediaType(MediaType.DOCKER_V2_SCHEMA2, 'gzip', false), MediaType.DOCKER_LAYER_GZIP);
  assert.equal(layerMediaType(MediaType.DOCKER_V2_SCHEMA2, 'none', true), MediaType.DOCKER_FOREIGN_LAYER);
  assert.throws(
    () => layerMediaType(MediaType.DOCKER_V2_SCHEMA2, 'zstd', false),
    (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
  );
});
