/**
 * Bad-input corpus, manifests and configs through the library's entry points (guess, parse, digest,
 * the parsed views, platform choice, config views): structured mutations of valid fixtures (wrong
 * types in every field, huge arrays, deep nesting, bad digests, negative/huge/float sizes, platforms
 * of the wrong type, duplicate keys, wrong or missing mediaType) and byte-level damage. Every case
 * ends in a value or a typed FerryError, never a TypeError/RangeError, in bounded time.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FerryError } from '../../src/errors.js';
import { ociConfigFromDockerConfig, ociImageConfig, parseImageConfig } from '../../src/manifest/config.js';
import { summariseV2Config } from '../../src/manifest/config-schema1.js';
import {
  chooseInstance,
  guessMIMEType,
  type Manifest,
  MediaType,
  manifestDigest,
  parseManifest,
} from '../../src/manifest/index.js';
import { fixturePath } from '../helpers/paths.js';
import { mutateJSON } from './json-mutations.js';
import { corpusSeed, type Random, seededRandom } from './prng.js';

const MANIFEST_FIXTURES = [
  'oci1.json',
  'oci1-artifact.json',
  'ociv1.everything.json',
  'schema2.json',
  'v2s2.everything.json',
  'schema1.json',
  'v2s1.manifest.json',
  'v2s1-unsigned.manifest.json',
  'v2list.everything.json',
  'schema2list-variants.json',
  'oci1.index.everything.json',
  'ocilist-variants.json',
  'ociv1nomime.manifest.json',
];
const CONFIG_FIXTURES = ['oci1-config.json', 'schema2-config.json', 'oci1-config-extra-fields.json'];
const fixture = (name: string): Buffer => readFileSync(fixturePath('manifest', name));

const MEDIA_TYPES: (string | undefined)[] = [
  undefined,
  '',
  'application/json',
  'text/plain',
  'application/vnd.oci.image.manifest.v1+json ',
  '__proto__',
  'constructor',
  ...Object.values(MediaType),
];

/** The codes a bad manifest or config may produce. */
const MANIFEST_CODES = new Set([
  'INVALID_MANIFEST',
  'UNSUPPORTED_MANIFEST_TYPE',
  'AMBIGUOUS_MANIFEST',
  'NO_MATCHING_PLATFORM',
]);

function checkError(e: unknown, what: string): void {
  if (!(e instanceof FerryError)) {
    throw new assert.AssertionError({
      message: `${what}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} is not a FerryError`,
    });
  }
  assert.ok(MANIFEST_CODES.has(e.code), `${what}: unexpected code ${e.code}: ${e.message}`);
  assert.ok(e.message.length < 2048, `${what}: message of ${e.message.length} characters`);
  assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/, `${what}: raw control character in the message`);
}

/** Runs `fn`; a FerryError of a manifest code is fine, anything else fails the test. */
function attempt<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    checkError(e, what);
    return undefined;
  }
}

/** Uses a parsed manifest the way copy and inspect do. */
function exercise(m: Manifest, what: string): void {
  if (m.kind === 'image') {
    attempt(`${what} configInfo`, () => m.configInfo());
    attempt(`${what} layerInfos`, () => m.layerInfos());
    attempt(`${what} isArtifact`, () => m.isArtifact());
    attempt(`${what} withUpdates`, () => m.withUpdates({}).bytes);
  } else {
    const instances = attempt(`${what} instances`, () => m.instances()) ?? [];
    attempt(`${what} withInstances`, () => m.withInstances(instances).bytes);
    for (const w of [
      {},
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { architecture: 'constructor', variant: 'v7' },
      { os: '__proto__' },
    ]) {
      attempt(`${what} chooseInstance`, () => chooseInstance(m, w));
    }
  }
}

function checkManifestBytes(bytes: Buffer, r: Random): 'ok' | 'error' {
  const what = `manifest of ${bytes.length} bytes`;
  const start = performance.now();
  attempt(`${what} guess`, () => guessMIMEType(bytes));
  attempt(`${what} digest`, () => manifestDigest(bytes));
  let parsed = 0;
  for (const mt of [undefined, r.pick(MEDIA_TYPES)]) {
    const m = attempt(`${what} parse as ${mt}`, () => parseManifest(bytes, mt));
    if (m !== undefined) {
      parsed++;
      assert.equal(m.bytes.equals(bytes), true, 'the parsed manifest keeps the exact bytes');
      exercise(m, what);
    }
  }
  const ms = performance.now() - start;
  assert.ok(ms < 1000 + bytes.length / 2000, `${what} took ${ms.toFixed(0)} ms`);
  return parsed > 0 ? 'ok' : 'error';
}

function checkConfigBytes(bytes: Buffer): void {
  const what = `config of ${bytes.length} bytes`;
  const config = attempt(`${what} parse`, () => parseImageConfig(bytes, 'image config'));
  if (config !== undefined) attempt(`${what} OCI view`, () => JSON.stringify(ociImageConfig(config)));
  attempt(`${what} to OCI`, () => ociConfigFromDockerConfig(bytes));
  attempt(`${what} summary`, () => summariseV2Config(bytes));
}

test('mutated manifests give a manifest or a typed error through guess, parse, digest and the parsed views', (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const counts = { ok: 0, error: 0 };
  for (const name of MANIFEST_FIXTURES) {
    const base = fixture(name);
    assert.equal(checkManifestBytes(base, r), 'ok', `${name} is valid`);
    for (let i = 0; i < 120; i++) {
      let bytes = base;
      for (let n = 1 + r.int(3); n > 0; n--) {
        try {
          bytes = mutateJSON(r, bytes);
        } catch {
          break; // a structured mutation of bytes that are no longer JSON
        }
      }
      counts[checkManifestBytes(bytes, r)]++;
    }
  }
  t.diagnostic(`manifests: ${counts.ok} parsed, ${counts.error} refused`);
  assert.ok(counts.ok > 100 && counts.error > 300, 'the mutations reach both outcomes');
});

test('mutated image configs give a view or a typed error', (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  for (const name of CONFIG_FIXTURES) {
    const base = fixture(name);
    checkConfigBytes(base);
    for (let i = 0; i < 150; i++) {
      let bytes = base;
      try {
        bytes = mutateJSON(r, mutateJSON(r, base));
      } catch {
        // keep the single mutation
      }
      checkConfigBytes(bytes);
    }
  }
});

test('pathological documents are refused or parsed in bounded time', () => {
  const r = seededRandom(1);
  const docs: Buffer[] = [
    Buffer.from('['.repeat(100_000)),
    Buffer.from('{"a":'.repeat(100_000)),
    Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)),
    Buffer.from(`{"schemaVersion":2,"layers":${'['.repeat(50_000)}${']'.repeat(50_000)}}`),
    Buffer.from(`{"schemaVersion":2,"manifests":[${'{"digest":"sha256:x","size":1},'.repeat(150_000)}{}]}`),
    Buffer.from(
      `{"schemaVersion":2,"mediaType":"${MediaType.OCI_MANIFEST}","config":{"mediaType":"${MediaType.OCI_CONFIG}","digest":"sha256:${'0'.repeat(64)}","size":1},"layers":[${`{"mediaType":"${MediaType.OCI_LAYER_GZIP}","digest":"sha256:${'0'.repeat(64)}","size":1},`.repeat(30_000)}{}]}`,
    ),
    Buffer.from(
      `{"schemaVersion":1,"signatures":[${'{"protected":"e30","header":{},"signature":""},'.repeat(10_000)}{}]}`,
    ),
    Buffer.from(
      `{"schemaVersion":1,"signatures":[{"protected":"${Buffer.from(JSON.stringify({ formatLength: -5, formatTail: 'fQ' })).toString('base64url')}"}]}`,
    ),
    Buffer.from(
      `{"schemaVersion":1,"signatures":[{"protected":"${Buffer.from(JSON.stringify({ formatLength: 1e300, formatTail: 'fQ' })).toString('base64url')}"}]}`,
    ),
    Buffer.from(
      `{"schemaVersion":1,"signatures":[{"protected":"${Buffer.from(JSON.stringify({ formatLength: 1.5, formatTail: '!!' })).toString('base64url')}"}]}`,
    ),
    Buffer.from(`{"schemaVersion":1,"signatures":[{"protected":"%%%"}],"fsLayers":[],"history":[]}`),
    Buffer.from(`{"schemaVersion":1,"signatures":{},"fsLayers":[],"history":[]}`),
    Buffer.from(`{"x":"${'\\u0000'.repeat(200_000)}"}`),
    Buffer.alloc(4 * 1024 * 1024 + 1, 0x20),
    Buffer.from(`{"pad":"${'x'.repeat(4 * 1024 * 1024)}","schemaVersion":2}`),
    // Valid JSON nested 5000 deep in an unknown member: refused (serialising it again would overflow the stack).
    Buffer.from(
      fixture('oci1.json')
        .toString('utf8')
        .replace(/}\s*$/, `,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`),
    ),
    Buffer.from([0xff, 0xfe, 0xfd]),
    Buffer.alloc(0),
  ];
  for (const doc of docs) {
    checkManifestBytes(doc, r);
    checkConfigBytes(doc);
  }
  // Bounded memory: documents of a few MiB never cost more than a few hundred MiB to refuse.
  assert.ok(process.memoryUsage().rss < 1024 * 1024 * 1024, `rss ${process.memoryUsage().rss}`);
});

test('duplicate members: the last one wins everywhere, as in Go encoding/json', () => {
  const base = JSON.parse(fixture('oci1.json').toString('utf8')) as { config: unknown };
  const text = JSON.stringify(base);
  const other = { mediaType: MediaType.OCI_CONFIG, digest: `sha256:${'1'.repeat(64)}`, size: 7 };
  const dup = Buffer.from(text.replace('{', `{"config":${JSON.stringify(other)},`));
  const m = parseManifest(dup);
  assert.equal(m.kind, 'image');
  assert.deepEqual(
    m.kind === 'image' && m.configInfo()?.digest,
    (base.config as { digest: string }).digest,
    'the later config wins',
  );
  const dup2 = Buffer.from(text.replace(/\}$/, `,"config":${JSON.stringify(other)}}`));
  const m2 = parseManifest(dup2);
  assert.equal(m2.kind === 'image' && m2.configInfo()?.digest, other.digest, 'the later config wins');
  assert.equal(guessMIMEType(dup2), MediaType.OCI_MANIFEST);
});

test('a mediaType that disagrees with the content or the type asked for is a typed error', () => {
  const oci = fixture('oci1.json');
  for (const mt of [
    MediaType.DOCKER_V2_SCHEMA2,
    MediaType.OCI_INDEX,
    MediaType.DOCKER_V2_LIST,
    MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  ]) {
    assert.throws(
      () => parseManifest(oci, mt),
      (e: unknown) => e instanceof FerryError && MANIFEST_CODES.has(e.code),
    );
  }
  const lying = Buffer.from(oci.toString('utf8').replace(MediaType.OCI_MANIFEST, MediaType.OCI_INDEX));
  assert.throws(
    () => parseManifest(lying),
    (e: unknown) => e instanceof FerryError && MANIFEST_CODES.has(e.code),
  );
});
