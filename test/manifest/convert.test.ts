import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type Digest, digestOf } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import {
  convertImageManifest,
  convertList,
  GZIPPED_EMPTY_LAYER,
  GZIPPED_EMPTY_LAYER_DIGEST,
  type ImageManifest,
  type ListManifest,
  MediaType,
  parseManifest,
} from '../../src/manifest/index.js';
import { fixturePath } from '../helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(fixturePath('manifest', name));
const image = (name: string): ImageManifest => parseManifest(fixture(name)) as ImageManifest;
const json = (b: Buffer): Record<string, unknown> => JSON.parse(b.toString()) as Record<string, unknown>;

/** Schema1 manifests compared as structures: signatures ignored, v1Compatibility strings parsed. */
function schema1Structure(b: Buffer): Record<string, unknown> {
  const o = json(b);
  delete o.signatures;
  o.history = (o.history as { v1Compatibility: string }[]).map((h) => JSON.parse(h.v1Compatibility));
  return o;
}

test('schema2 → OCI matches the upstream golden manifest and config, byte-identical config digest', () => {
  const r = convertImageManifest(image('schema2.json'), MediaType.OCI_MANIFEST, {
    config: fixture('schema2-config.json'),
  });
  assert.equal(r.manifest.mimeType, MediaType.OCI_MANIFEST);
  assert.deepEqual(json(r.manifest.bytes), json(fixture('schema2-to-oci1.json')));
  assert.deepEqual(json(r.config), json(fixture('schema2-to-oci1-config.json')));
  assert.equal(r.manifest.configInfo()?.digest, digestOf(r.config));
});

test('schema2 → OCI maps every Docker layer type, foreign to non-distributable (upstream golden)', () => {
  const r = convertImageManifest(image('schema2-all-media-types.json'), MediaType.OCI_MANIFEST, {
    config: fixture('schema2-config.json'),
  });
  assert.deepEqual(json(r.manifest.bytes), json(fixture('schema2-all-media-types-to-oci1.json')));
  assert.deepEqual(json(r.config), json(fixture('schema2-to-oci1-config.json')));
  const s2 = image('v2s2.nondistributable.gzip.manifest.json');
  const o = convertImageManifest(s2, MediaType.OCI_MANIFEST, { config: fixture('schema2-config.json') });
  assert.equal(o.manifest.layerInfos()[0]?.mediaType, MediaType.OCI_LAYER_NONDISTRIBUTABLE_GZIP);
  assert.deepEqual(o.manifest.layerInfos()[0]?.urls, s2.layerInfos()[0]?.urls);
  const u = convertImageManifest(image('v2s2.uncompressed.manifest.json'), MediaType.OCI_MANIFEST, {
    config: fixture('schema2-config.json'),
  });
  assert.ok(u.manifest.layerInfos().every((l) => l.mediaType === MediaType.OCI_LAYER));
});

test('OCI → schema2 keeps the config bytes and matches the upstream golden', () => {
  const config = fixture('oci1-config.json');
  const r = convertImageManifest(image('oci1.json'), MediaType.DOCKER_V2_SCHEMA2, { config });
  assert.deepEqual(json(r.manifest.bytes), json(fixture('oci1-to-schema2.json')));
  assert.ok(r.config.equals(config));
  assert.ok(fixture('oci1-to-schema2-config.json').equals(config));
});

test('OCI → schema2 refuses zstd, encrypted and unknown layers and artifacts', () => {
  const config = fixture('oci1-config.json');
  for (const name of [
    'ociv1.zstd.manifest.json',
    'ociv1.nondistributable.zstd.manifest.json',
    'oci1.encrypted.json',
    'ociv1.encrypted.manifest.json',
    'oci1-invalid-media-type.json',
    'oci1-artifact.json',
    'oci1-all-media-types.json',
  ]) {
    assert.throws(
      () => convertImageManifest(image(name), MediaType.DOCKER_V2_SCHEMA2, { config }),
      (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
      name,
    );
  }
  assert.throws(
    () => convertImageManifest(image('oci1-artifact.json'), MediaType.DOCKER_V2_SCHEMA1_SIGNED, { config }),
    (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
  );
});

function schema1Inputs(): { diffIDs: Digest[]; layerInfos: { digest: Digest; size: number }[] } {
  const golden = json(fixture('schema1-to-schema2.json')) as { layers: { digest: Digest; size: number }[] };
  const goldenConfig = json(fixture('schema1-to-schema2-config.json')) as { rootfs: { diff_ids: Digest[] } };
  return {
    diffIDs: goldenConfig.rootfs.diff_ids,
    layerInfos: golden.layers.map((l) => ({ digest: l.digest, size: l.size })),
  };
}

test('schema1 → schema2 builds the config from history and matches the upstream goldens', () => {
  const { diffIDs, layerInfos } = schema1Inputs();
  const m = image('schema1.json');
  assert.equal(m.layerInfos().length, diffIDs.length); // this image has no throwaway layers
  const r = convertImageManifest(m, MediaType.DOCKER_V2_SCHEMA2, { config: Buffer.alloc(0), diffIDs, layerInfos });
  const got = json(r.manifest.bytes) as { config: { digest: string; size: number } };
  assert.equal(got.config.digest, digestOf(r.config));
  assert.equal(got.config.size, r.config.length);
  const want = json(fixture('schema1-to-schema2.json'));
  (want as { config: unknown }).config = got.config; // the golden has a placeholder config descriptor
  assert.deepEqual(got, want);
  assert.deepEqual(json(r.config), json(fixture('schema1-to-schema2-config.json')));
});

test('schema1 → OCI goes through schema2 and matches the upstream goldens', () => {
  const { diffIDs, layerInfos } = schema1Inputs();
  const r = convertImageManifest(image('schema1.json'), MediaType.OCI_MANIFEST, {
    config: Buffer.alloc(0),
    diffIDs,
    layerInfos,
  });
  const got = json(r.manifest.bytes) as { config: { digest: string } };
  assert.equal(got.config.digest, digestOf(r.config));
  const want = json(fixture('schema1-to-oci1.json'));
  (want as { config: unknown }).config = got.config;
  assert.deepEqual(got, want);
  assert.deepEqual(json(r.config), json(fixture('schema1-to-oci1-config.json')));
});

test('schema1 → schema2 needs diffIDs', () => {
  assert.throws(
    () => convertImageManifest(image('schema1.json'), MediaType.DOCKER_V2_SCHEMA2, { config: Buffer.alloc(0) }),
    (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
  );
});

test('schema1 → schema2 leaves throwaway layers out of layers and diff_ids but keeps them in history', () => {
  const m = image('schema2-to-schema1-by-docker.json');
  const infos = m.layerInfos();
  const diffIDs = infos.map((_, i) => `sha256:${i.toString(16).padStart(64, '0')}` as Digest);
  const r = convertImageManifest(m, MediaType.DOCKER_V2_SCHEMA2, { config: Buffer.alloc(0), diffIDs });
  const nonEmpty = infos.filter((l) => !l.emptyLayer);
  assert.deepEqual(
    r.manifest.layerInfos().map((l) => l.digest),
    nonEmpty.map((l) => l.digest),
  );
  const config = json(r.config) as { rootfs: { diff_ids: string[] }; history: { empty_layer?: boolean }[] };
  assert.deepEqual(
    config.rootfs.diff_ids,
    infos.map((l, i) => (l.emptyLayer ? undefined : diffIDs[i])).filter((d) => d !== undefined),
  );
  assert.equal(config.history.length, infos.length);
  assert.equal(config.history.filter((h) => h.empty_layer).length, infos.length - nonEmpty.length);
});

test('schema2 → schema1 matches what Docker produced, v1Compatibility byte for byte', () => {
  const r = convertImageManifest(image('schema2.json'), MediaType.DOCKER_V2_SCHEMA1_SIGNED, {
    config: fixture('schema2-config.json'),
    schema1Name: 'library/httpd-copy',
    schema1Tag: 'latest',
  });
  assert.equal(r.manifest.mimeType, MediaType.DOCKER_V2_SCHEMA1_SIGNED);
  const golden = fixture('schema2-to-schema1-by-docker.json');
  assert.deepEqual(schema1Structure(r.manifest.bytes), schema1Structure(golden));
  const raw = (b: Buffer): string[] => (json(b).history as { v1Compatibility: string }[]).map((h) => h.v1Compatibility);
  assert.deepEqual(raw(r.manifest.bytes), raw(golden));
  assert.deepEqual(
    r.extraBlobs?.map((b) => b.info.digest),
    [GZIPPED_EMPTY_LAYER_DIGEST],
  );
});

test('OCI → schema1 matches the upstream golden and asks for the empty gzipped layer', () => {
  const r = convertImageManifest(image('oci1.json'), MediaType.DOCKER_V2_SCHEMA1, {
    config: fixture('oci1-config.json'),
    schema1Name: 'library/httpd-copy',
    schema1Tag: 'latest',
  });
  assert.deepEqual(schema1Structure(r.manifest.bytes), schema1Structure(fixture('oci1-to-schema1.json')));
  const extra = r.extraBlobs?.[0];
  assert.ok(extra);
  assert.equal(extra.info.size, 32);
  assert.equal(digestOf(extra.bytes), GZIPPED_EMPTY_LAYER_DIGEST);
  assert.ok(extra.bytes.equals(GZIPPED_EMPTY_LAYER));
});

test('schema2 → schema1 fails without history', () => {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
  );
  assert.throws(
    () => convertImageManifest(image('schema2.json'), MediaType.DOCKER_V2_SCHEMA1_SIGNED, { config }),
    (e) => isFerryError(e, 'CONVERSION_UNSUPPORTED'),
  );
});

test('converting to the same type returns the manifest unchanged', () => {
  const m = image('oci1.json');
  const config = fixture('oci1-config.json');
  const r = convertImageManifest(m, MediaType.OCI_MANIFEST, { config });
  assert.equal(r.manifest, m);
  assert.equal(r.config, config);
});

test('a Docker list converts to an OCI index and back without loss', () => {
  const l = parseManifest(fixture('v2list.manifest.json')) as ListManifest;
  const index = convertList(l, MediaType.OCI_INDEX);
  assert.equal(index.mimeType, MediaType.OCI_INDEX);
  assert.deepEqual(index.instances(), l.instances());
  const back = convertList(index, MediaType.DOCKER_V2_LIST);
  assert.deepEqual(back.instances(), l.instances());
});

test('an OCI index converted to a Docker list drops annotations and artifactType and gets a platform for each entry', () => {
  const l = parseManifest(fixture('oci1.index.everything.json')) as ListManifest;
  const d = convertList(l, MediaType.DOCKER_V2_LIST);
  const o = json(d.bytes) as { manifests: Record<string, unknown>[] };
  for (const entry of o.manifests) {
    assert.equal(entry.annotations, undefined);
    assert.equal(entry.artifactType, undefined);
    assert.ok(entry.platform);
  }
  const noPlatform = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_INDEX,
      manifests: [
        { mediaType: MediaType.OCI_MANIFEST, digest: `sha256:${'1'.repeat(64)}`, size: 1, annotations: { a: 'b' } },
      ],
    }),
  );
  const converted = convertList(parseManifest(noPlatform) as ListManifest, MediaType.DOCKER_V2_LIST);
  const platform = converted.instances()[0]?.platform;
  assert.ok(platform && platform.os !== '' && platform.architecture !== '');
});
