import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKeyInput, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import {
  type ImageManifest,
  type ListManifest,
  manifestDigest,
  MediaType,
  parseManifest,
  Schema1Manifest,
  schema1SignedPayload,
} from '../../src/manifest/index.js';
import { fixturePath } from '../helpers/paths.js';
import { run } from '../helpers/run.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('manifest', name));
const image = (name: string, mimeType?: string): ImageManifest =>
  parseManifest(fixture(name), mimeType) as ImageManifest;
const list = (name: string): ListManifest => parseManifest(fixture(name)) as ListManifest;
const D = (c: string): Digest => `sha256:${c.repeat(64)}`;

const VALID = [
  'oci1.json',
  'oci1-artifact.json',
  'oci1.encrypted.json',
  'oci1-all-media-types.json',
  'oci1-invalid-media-type.json',
  'ociv1.manifest.json',
  'ociv1nomime.manifest.json',
  'ociv1.everything.json',
  'ociv1.zstd.manifest.json',
  'ociv1.uncompressed.manifest.json',
  'ociv1.nondistributable.manifest.json',
  'ociv1.encrypted.manifest.json',
  'schema2.json',
  'schema2-all-media-types.json',
  'v2s2.manifest.json',
  'v2s2nomime.manifest.json',
  'v2s2.everything.json',
  'v2s2.uncompressed.manifest.json',
  'v2s2.nondistributable.gzip.manifest.json',
  'schema1.json',
  'v2s1.manifest.json',
  'v2s1-unsigned.manifest.json',
  'v2s1.everything.json',
  'schema2-to-schema1-by-docker.json',
  'oci1-to-schema1.json',
  'v2list.manifest.json',
  'v2list.everything.json',
  'schema2list.json',
  'schema2list-variants.json',
  'ociv1.image.index.json',
  'ociv1nomime.image.index.json',
  'oci1index.json',
  'oci1.index.everything.json',
  'oci1.index.zstd-selection.json',
  'ocilist-variants.json',
];

test('parses every valid fixture and keeps its exact bytes and digest', () => {
  for (const name of VALID) {
    const bytes = fixture(name);
    const m = parseManifest(bytes);
    assert.ok(m.bytes.equals(bytes), name);
    assert.equal(m.digest, manifestDigest(bytes), name);
    assert.ok((m as unknown as { serialize(): Buffer }).serialize().equals(bytes), `${name} serialize()`);
  }
});

test('an OCI manifest exposes config and layers with their descriptors', () => {
  const m = image('oci1.json');
  assert.equal(m.mimeType, MediaType.OCI_MANIFEST);
  assert.deepEqual(m.configInfo(), {
    digest: 'sha256:9ca4bda0a6b3727a6ffcc43e981cad0f24e2ec79d338f6ba325b4dfd0756fb8f',
    size: 5940,
    mediaType: MediaType.OCI_CONFIG,
    annotations: { 'test-annotation-1': 'one' },
  });
  const layers = m.layerInfos();
  assert.equal(layers.length, 5);
  assert.deepEqual(layers[2]?.urls, ['https://layer.url']);
  assert.deepEqual(layers[3]?.annotations, { 'test-annotation-2': 'two' });
  assert.equal(m.isArtifact(), false);
  assert.equal(image('oci1-artifact.json').isArtifact(), true);
});

test('schema1 layers are base first, throwaway entries marked empty, sizes unknown', () => {
  const m = image('schema2-to-schema1-by-docker.json');
  const layers = m.layerInfos();
  assert.equal(layers.length, 15);
  assert.equal(layers[0]?.digest, 'sha256:6a5a5368e0c2d3e5909184fa28ddfd56072e7ff3ee9a945876f7eee5896ef5bb');
  assert.equal(layers[0]?.emptyLayer, false);
  assert.equal(layers[1]?.emptyLayer, true);
  assert.equal(layers[0]?.size, -1);
  assert.equal(m.configInfo(), undefined);
  assert.equal(layers.filter((l) => !l.emptyLayer).length, 5);
});

test('lists expose their instances with platforms and annotations', () => {
  const l = list('ociv1nomime.image.index.json');
  assert.equal(l.mimeType, MediaType.OCI_INDEX);
  assert.deepEqual(l.instances()[1]?.platform, { architecture: 'amd64', os: 'linux', osFeatures: ['sse4'] });
  const z = list('oci1.index.zstd-selection.json');
  assert.deepEqual(z.instances()[1]?.annotations, { 'io.github.containers.compression.zstd': 'true' });
  const d = list('v2list.manifest.json');
  assert.equal(d.mimeType, MediaType.DOCKER_V2_LIST);
  assert.equal(d.instances().length, 5);
});

function mutate(name: string, edit: (o: Record<string, unknown>) => void): Buffer {
  const o = JSON.parse(fixture(name).toString()) as Record<string, unknown>;
  edit(o);
  return Buffer.from(JSON.stringify(o));
}

test('rejects manifests with missing or malformed fields, naming the field', () => {
  const cases: [Buffer, string][] = [
    [mutate('oci1.json', (o) => delete o.config), 'config'],
    [mutate('oci1.json', (o) => ((o.config as Record<string, unknown>).digest = 'sha256:abc')), 'config.digest'],
    [
      mutate('oci1.json', (o) => ((o.config as Record<string, unknown>).digest = 'sha256:' + 'A'.repeat(64))),
      'config.digest',
    ],
    [
      mutate(
        'oci1.json',
        (o) => (((o.layers as Record<string, unknown>[])[1] as Record<string, unknown>).size = 'big'),
      ),
      'layers[1].size',
    ],
    [mutate('oci1.json', (o) => (o.schemaVersion = 1)), 'schemaVersion'],
    [mutate('schema2.json', (o) => delete o.layers), 'layers'],
    [
      mutate(
        'v2list.manifest.json',
        (o) => (((o.manifests as Record<string, unknown>[])[0] as Record<string, unknown>).digest = 'nope'),
      ),
      'manifests[0].digest',
    ],
    [mutate('schema1.json', (o) => (o.fsLayers = [])), 'history'],
  ];
  for (const [bytes, fieldName] of cases) {
    assert.throws(
      () => parseManifest(bytes),
      (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes(fieldName),
      fieldName,
    );
  }
  assert.throws(
    () => image('schema2-invalid-media-type.json'),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('layers[0].mediaType'),
  );
  const badLayer = mutate(
    'schema2.json',
    (o) =>
      (((o.layers as Record<string, unknown>[])[0] as Record<string, unknown>).mediaType = MediaType.OCI_LAYER_GZIP),
  );
  assert.throws(
    () => parseManifest(badLayer),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('layers[0].mediaType'),
  );
  assert.throws(
    () => image('ociv1.artifact.json'),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('config.digest'),
  );
});

test('rejects a manifest whose own mediaType contradicts the type it is parsed as', () => {
  assert.throws(
    () => parseManifest(fixture('schema2.json'), MediaType.OCI_MANIFEST),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('mediaType'),
  );
  assert.throws(
    () => parseManifest(fixture('oci1.json'), MediaType.DOCKER_V2_SCHEMA2),
    (e) => isFerryError(e, 'INVALID_MANIFEST'),
  );
});

test('rejects a document parsed as one format that carries another format fields', () => {
  assert.throws(
    () => parseManifest(fixture('v2list.manifest.json'), MediaType.OCI_MANIFEST),
    (e) => isFerryError(e),
  );
  const bytes = mutate('oci1index.json', (o) => (o.layers = []));
  assert.throws(
    () => parseManifest(bytes, MediaType.OCI_INDEX),
    (e) => isFerryError(e, 'AMBIGUOUS_MANIFEST'),
  );
});

test('application/json is read as signed schema1, as legacy registries label it', () => {
  const m = parseManifest(fixture('v2s1.manifest.json'), 'application/json');
  assert.equal(m.mimeType, MediaType.DOCKER_V2_SCHEMA1_SIGNED);
});

test('unknown types are UNSUPPORTED_MANIFEST_TYPE', () => {
  assert.throws(
    () => parseManifest(fixture('unknown-version.manifest.json')),
    (e) => isFerryError(e, 'UNSUPPORTED_MANIFEST_TYPE'),
  );
  assert.throws(
    () => parseManifest(fixture('oci1.json'), 'text/plain'),
    (e) => isFerryError(e, 'UNSUPPORTED_MANIFEST_TYPE'),
  );
});

test('validates the schema1 v1 ID chain', () => {
  const broken = mutate('v2s1-unsigned.manifest.json', (o) => {
    const h = o.history as { v1Compatibility: string }[];
    const v = JSON.parse(h[0]?.v1Compatibility as string) as Record<string, unknown>;
    v.parent = 'f'.repeat(64);
    (h[0] as { v1Compatibility: string }).v1Compatibility = JSON.stringify(v);
  });
  assert.throws(
    () => parseManifest(broken),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('parent'),
  );
  const badID = mutate('v2s1-unsigned.manifest.json', (o) => {
    const h = o.history as { v1Compatibility: string }[];
    const v = JSON.parse(h[1]?.v1Compatibility as string) as Record<string, unknown>;
    v.id = 'not-hex';
    (h[1] as { v1Compatibility: string }).v1Compatibility = JSON.stringify(v);
  });
  assert.throws(
    () => parseManifest(badID),
    (e) => isFerryError(e, 'INVALID_MANIFEST') && e.message.includes('v1 image ID'),
  );
});

test('withUpdates returns a new manifest with Go-style compact bytes and leaves the original alone', () => {
  const m = image('oci1.json');
  const original = Buffer.from(m.bytes);
  const layers = m
    .layerInfos()
    .map((l, i) => ({ ...l, digest: D(String(i)), size: 10 + i, mediaType: MediaType.OCI_LAYER_ZSTD }));
  const u = m.withUpdates({ layers, config: { digest: D('c'), size: 7 } });
  assert.ok(m.bytes.equals(original));
  assert.equal(u.mimeType, MediaType.OCI_MANIFEST);
  assert.deepEqual(
    u.layerInfos().map((l) => [l.digest, l.size, l.mediaType]),
    layers.map((l) => [l.digest, l.size, l.mediaType]),
  );
  assert.equal(u.configInfo()?.digest, D('c'));
  assert.equal(u.configInfo()?.mediaType, MediaType.OCI_CONFIG);
  const text = u.bytes.toString();
  assert.ok(
    text.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{'),
    text,
  );
  assert.ok(!text.includes('\n'));
  assert.equal(u.digest, manifestDigest(u.bytes));
});

test('withUpdates on a Docker schema2 manifest refuses zstd layer media types', () => {
  const m = image('schema2.json');
  const layers = m.layerInfos().map((l) => ({ ...l, mediaType: MediaType.OCI_LAYER_ZSTD }));
  assert.throws(
    () => m.withUpdates({ layers }),
    (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
  );
  const same = m.withUpdates({ layers: m.layerInfos() });
  assert.deepEqual(JSON.parse(same.bytes.toString()), JSON.parse(m.bytes.toString()));
});

test('Go-style serialisation escapes <, > and & like encoding/json', () => {
  const m = image('oci1.json');
  const layers = m.layerInfos();
  const first = layers[0];
  assert.ok(first);
  layers[0] = { ...first, annotations: { note: '<a&b>' } };
  const u = m.withUpdates({ layers });
  assert.ok(u.bytes.toString().includes('"note":"\\u003ca\\u0026b\\u003e"'));
});

test('a re-serialised schema1 manifest is signed, and skopeo computes the same digest', async () => {
  const m = image('v2s1-unsigned.manifest.json');
  const layers = m.layerInfos().map((l, i) => ({ ...l, digest: D(String(i + 1)) }));
  const u = m.withUpdates({ layers });
  assert.equal(u.mimeType, MediaType.DOCKER_V2_SCHEMA1_SIGNED);
  assert.deepEqual(
    u.layerInfos().map((l) => l.digest),
    layers.map((l) => l.digest),
  );
  assert.ok(u instanceof Schema1Manifest);
  const parsed = JSON.parse(u.bytes.toString()) as {
    signatures: { header: { alg: string; jwk: JsonWebKeyInput['key'] }; protected: string; signature: string }[];
  };
  const sig = parsed.signatures[0];
  assert.ok(sig);
  assert.equal(sig.header.alg, 'ES256');
  // The JWS verifies with the embedded key over `protected.payload`, payload = the bytes without signatures.
  const payload = schema1SignedPayload(u.bytes).toString('base64url');
  const key = createPublicKey({ key: sig.header.jwk, format: 'jwk' });
  const ok = verify(
    'sha256',
    Buffer.from(`${sig.protected}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(sig.signature, 'base64url'),
  );
  assert.ok(ok, 'signature verifies');
  const dir = await mkdtemp(join(tmpdir(), 'ferry-manifest-'));
  try {
    const file = join(dir, 'manifest.json');
    await writeFile(file, u.bytes);
    const r = await run('skopeo', ['manifest-digest', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), u.digest);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('withInstances keeps only the given instances, in order', () => {
  for (const name of ['v2list.manifest.json', 'ociv1.image.index.json']) {
    const l = list(name);
    const all = l.instances();
    const picked = [all[1], all[0]].filter((x) => x !== undefined);
    const u = l.withInstances(picked);
    assert.equal(u.mimeType, l.mimeType);
    assert.deepEqual(u.instances(), picked, name);
    assert.deepEqual(l.instances(), all);
  }
});

test('withInstances on an OCI index keeps its annotations', () => {
  const l = list('ociv1nomime.image.index.json');
  const u = l.withInstances(l.instances());
  const o = JSON.parse(u.bytes.toString()) as { annotations: Record<string, string>; mediaType: string };
  assert.deepEqual(o.annotations, { 'com.example.key1': 'value1', 'com.example.key2': 'value2' });
  assert.equal(o.mediaType, MediaType.OCI_INDEX);
});
