/**
 * Bad-input corpus, on disk: an `oci:` layout and a `dir:` image holding a bad manifest, config or
 * index.json, read through the library (inspect, raw manifest and config, copy to a dir:) and the
 * CLI (`ferry inspect`, `ferry copy`, with --debug). Every case is a typed error or a correct result:
 * no crash, bounded time, no complete-looking destination after a failure, and never the text of a
 * file Ferry was pointed at (a symlinked index.json or manifest.json → a file of secrets).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FerryError } from '../../src/errors.js';
import { copyImage, MediaType, openImage, parseImageReference } from '../../src/index.js';
import { runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { mutateJSON } from './json-mutations.js';
import { corpusSeed, seededRandom } from './prng.js';

/** Short, so that it fits in the few characters V8's JSON.parse message quotes. */
const MARKER = 'Qz7Mk9';
/** A file of "secrets" Ferry is pointed at by mistake: every line carries the marker. */
const SECRET_TEXT = `${MARKER}:x:0:0:root:/root:/bin/bash\nTOKEN=${MARKER}\n{"auths":{"r.example":{"auth":"${MARKER}"}}}\n`;
const SECRET_JSON = JSON.stringify({
  auths: { 'r.example': { auth: MARKER } },
  manifests: MARKER,
  schemaVersion: MARKER,
  mediaType: MARKER,
});

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hex = (d: string): string => d.slice('sha256:'.length);

const LAYER = Buffer.from('not really a tar, but a blob');
const GOOD_CONFIG = Buffer.from(
  JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [sha(LAYER)] },
    config: { Env: ['A=1'] },
  }),
);

function manifestFor(config: Buffer, extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: sha(config), size: config.length },
      layers: [{ mediaType: MediaType.OCI_LAYER, digest: sha(LAYER), size: LAYER.length }],
      ...extra,
    }),
  );
}

interface Case {
  name: string;
  manifest?: Buffer;
  config?: Buffer;
  /** index.json content (oci only); default: one entry for the manifest. */
  index?: Buffer | ((manifestDigest: string, manifestSize: number) => unknown);
  /** The index entry's mediaType (oci only); default OCI manifest. */
  entryMediaType?: string | null;
  /** A successful read is also fine (the case is odd but valid). */
  mayPass?: boolean;
}

const BAD_DIGEST_CASES = ['sha256:abc', 'md5:00', `sha256:${'A'.repeat(64)}`, '../../../etc/passwd', 'sha256:../../x'];

const CASES: Case[] = [
  { name: 'a good image', mayPass: true },
  { name: 'manifest is a text file', manifest: Buffer.from(SECRET_TEXT) },
  { name: 'manifest is a JSON file of secrets', manifest: Buffer.from(SECRET_JSON) },
  { name: 'manifest is truncated', manifest: manifestFor(GOOD_CONFIG).subarray(0, 50) },
  { name: 'manifest is 100k [', manifest: Buffer.from('['.repeat(100_000)) },
  {
    name: 'manifest is deep but valid JSON',
    manifest: Buffer.from(`{"schemaVersion":2,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
    mayPass: true,
  },
  { name: 'manifest over 4 MiB', manifest: manifestFor(GOOD_CONFIG, { pad: 'x'.repeat(4 * 1024 * 1024) }) },
  { name: 'manifest layers is a string', manifest: manifestFor(GOOD_CONFIG, { layers: 'x' }) },
  {
    name: 'manifest with 20k layers',
    manifest: manifestFor(GOOD_CONFIG, {
      layers: Array.from({ length: 20_000 }, () => ({
        mediaType: MediaType.OCI_LAYER,
        digest: sha(LAYER),
        size: LAYER.length,
      })),
    }),
    mayPass: true,
  },
  ...BAD_DIGEST_CASES.map((d) => ({
    name: `config digest ${d}`,
    manifest: manifestFor(GOOD_CONFIG, { config: { mediaType: MediaType.OCI_CONFIG, digest: d, size: 1 } }),
  })),
  ...[-1, 1.5, 2 ** 60, '1', null].map((size) => ({
    name: `layer size ${size}`,
    manifest: manifestFor(GOOD_CONFIG, { layers: [{ mediaType: MediaType.OCI_LAYER, digest: sha(LAYER), size }] }),
    mayPass: size === null, // Go reads a null size as 0 and the copy then fails on the size check or succeeds on an unknown size
  })),
  {
    name: 'manifest mediaType disagrees',
    manifest: manifestFor(GOOD_CONFIG, { mediaType: MediaType.DOCKER_V2_SCHEMA2 }),
  },
  { name: 'manifest mediaType is a number', manifest: manifestFor(GOOD_CONFIG, { mediaType: 5 }) },
  {
    name: 'manifest has no mediaType and a manifests field',
    manifest: manifestFor(GOOD_CONFIG, { mediaType: undefined, manifests: [] }),
  },
  {
    name: 'manifest duplicate config key',
    manifest: Buffer.from(manifestFor(GOOD_CONFIG).toString().replace('{', '{"config":7,')),
    mayPass: true,
  },
  {
    name: 'schema1 with bad signatures',
    manifest: Buffer.from(
      JSON.stringify({
        schemaVersion: 1,
        name: 'a',
        tag: 'b',
        architecture: 'amd64',
        fsLayers: [],
        history: [],
        signatures: [{ protected: '!!!', header: {}, signature: 'x' }],
      }),
    ),
    entryMediaType: null,
  },
  {
    name: 'index with platform of the wrong type',
    manifest: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_INDEX,
        manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: sha('x'), size: 1, platform: 'linux/amd64' }],
      }),
    ),
    entryMediaType: MediaType.OCI_INDEX,
  },
  {
    name: 'index with platform fields of the wrong type',
    manifest: Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OCI_INDEX,
        manifests: [
          {
            mediaType: MediaType.OCI_MANIFEST,
            digest: sha('x'),
            size: 1,
            platform: { os: 1, architecture: ['amd64'] },
          },
        ],
      }),
    ),
    entryMediaType: MediaType.OCI_INDEX,
  },
  { name: 'config is a text file', config: Buffer.from(SECRET_TEXT) },
  { name: 'config is 100k [', config: Buffer.from('['.repeat(100_000)) },
  {
    name: 'config over 4 MiB',
    config: Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', pad: 'x'.repeat(4 * 1024 * 1024) })),
  },
  {
    name: 'config with wrong types',
    config: Buffer.from(
      JSON.stringify({ architecture: 1, os: [], created: { a: 1 }, config: 'x', rootfs: 5, history: 'x' }),
    ),
    mayPass: true,
  },
  {
    name: 'config with a bad created time',
    config: Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', created: 'yesterday' })),
    mayPass: true,
  },
  { name: 'index.json is a text file', index: Buffer.from(SECRET_TEXT) },
  { name: 'index.json is a JSON file of secrets', index: Buffer.from(SECRET_JSON) },
  { name: 'index.json is 100k [', index: Buffer.from('['.repeat(100_000)) },
  {
    name: 'index.json over 4 MiB',
    index: Buffer.from(JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(4 * 1024 * 1024) })),
  },
  { name: 'index.json manifests is an object', index: () => ({ schemaVersion: 2, manifests: {} }) },
  ...[-1, 1.5, '3', 2 ** 70].map((size) => ({
    name: `index.json entry size ${size}`,
    index: (d: string) => ({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: d, size }] }),
  })),
  ...BAD_DIGEST_CASES.map((digest) => ({
    name: `index.json entry digest ${digest}`,
    index: () => ({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest, size: 1 }] }),
  })),
  {
    name: 'index.json entry size disagrees',
    index: (d: string, size: number) => ({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: d, size: size + 1 }],
    }),
  },
  {
    name: 'index.json entry mediaType is an object',
    index: (d: string, size: number) => ({ schemaVersion: 2, manifests: [{ mediaType: {}, digest: d, size }] }),
  },
  {
    name: 'index.json annotations of the wrong type',
    index: (d: string, size: number) => ({
      schemaVersion: 2,
      manifests: [{ mediaType: MediaType.OCI_MANIFEST, digest: d, size, annotations: [MARKER] }],
    }),
  },
  { name: 'index.json entry mediaType disagrees with the manifest', entryMediaType: MediaType.DOCKER_V2_LIST },
  // containers/image guesses the type of a manifest whose index entry names an unknown one.
  { name: 'index.json entry with an unknown mediaType', entryMediaType: MARKER, mayPass: true },
];

const TYPED = new Set([
  'INVALID_MANIFEST',
  'UNSUPPORTED_MANIFEST_TYPE',
  'AMBIGUOUS_MANIFEST',
  'INVALID_LAYOUT',
  'TOO_LARGE',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'BLOB_NOT_FOUND',
  'IMAGE_NOT_FOUND',
  'NO_MATCHING_PLATFORM',
  'AMBIGUOUS_IMAGE',
  'CONVERSION_UNSUPPORTED',
  'INVALID_DIGEST',
  'UNSUPPORTED_DIGEST_ALGORITHM',
  'UNSUPPORTED_OPERATION',
]);

let root: string;
let secretFile: string;
let secretJSONFile: string;
before(async () => {
  root = await makeTempDir('ferry-corpus-layouts-');
  secretFile = join(root, 'secrets.txt');
  secretJSONFile = join(root, 'secrets.json');
  await writeFile(secretFile, SECRET_TEXT);
  await writeFile(secretJSONFile, SECRET_JSON);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeBlob(dir: string, content: Buffer): Promise<string> {
  const d = sha(content);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'blobs', 'sha256', hex(d)), content);
  return d;
}

async function makeOci(dir: string, c: Case): Promise<void> {
  const config = c.config ?? GOOD_CONFIG;
  const manifest = c.manifest ?? manifestFor(config);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeBlob(dir, LAYER);
  await writeBlob(dir, config);
  const md = await writeBlob(dir, manifest);
  let index: Buffer;
  if (Buffer.isBuffer(c.index)) index = c.index;
  else if (typeof c.index === 'function') index = Buffer.from(JSON.stringify(c.index(md, manifest.length)));
  else {
    const entry: Record<string, unknown> = { digest: md, size: manifest.length };
    if (c.entryMediaType !== null) entry.mediaType = c.entryMediaType ?? MediaType.OCI_MANIFEST;
    index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [entry] }));
  }
  await writeFile(join(dir, 'index.json'), index);
}

async function makeDir(dir: string, c: Case): Promise<void> {
  const config = c.config ?? GOOD_CONFIG;
  const manifest = c.manifest ?? manifestFor(config);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  await writeFile(join(dir, hex(sha(LAYER))), LAYER);
  await writeFile(join(dir, hex(sha(config))), config);
  await writeFile(join(dir, 'manifest.json'), manifest);
}

function checkError(e: unknown, what: string): FerryError {
  if (!(e instanceof FerryError))
    assert.fail(`${what}: ${e instanceof Error ? e.stack : String(e)} is not a FerryError`);
  assert.ok(TYPED.has(e.code), `${what}: unexpected code ${e.code}: ${e.message}`);
  assertNoMarker(e, what);
  return e;
}

/** Neither the message nor anything in the cause chain or details carries the marker. */
function assertNoMarker(e: unknown, what: string): void {
  for (let cause: unknown = e, depth = 0; cause !== undefined && depth < 10; depth++) {
    const text =
      cause instanceof Error
        ? `${cause.message}\n${cause.stack}\n${JSON.stringify((cause as FerryError).details ?? {})}`
        : String(cause);
    assert.ok(!text.includes(MARKER), `${what}: the error repeats the content of a file: ${text.slice(0, 500)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
}

/** Inspects, reads raw manifest and config, and copies to a dir:; returns 'ok' or the error codes. */
async function readThroughLibrary(refText: string, c: Case, out: string): Promise<string> {
  const outcomes: string[] = [];
  const start = performance.now();
  try {
    const image = await openImage(parseImageReference(refText));
    const info = await image.inspect();
    assert.ok(!JSON.stringify(info).includes(MARKER), 'inspect output carries no secret');
    outcomes.push('ok');
  } catch (e) {
    outcomes.push(checkError(e, `${c.name}: inspect ${refText}`).code);
  }
  try {
    await copyImage(parseImageReference(refText), parseImageReference(`dir:${out}`));
    outcomes.push('ok');
  } catch (e) {
    outcomes.push(checkError(e, `${c.name}: copy ${refText}`).code);
    assert.ok(
      !existsSync(join(out, 'manifest.json')),
      `${c.name}: a failed copy left a manifest.json in the destination`,
    );
  }
  const ms = performance.now() - start;
  assert.ok(ms < 20_000, `${c.name}: ${ms.toFixed(0)} ms`);
  return outcomes.join(',');
}

/** `ferry --debug inspect` and `ferry --debug copy`: the same outcome as the library, printed as one typed line. */
async function readThroughCLI(refText: string, libraryOutcome: string, out: string): Promise<void> {
  const [inspected, copied] = libraryOutcome.split(',');
  for (const [args, expected] of [
    [['--debug', 'inspect', refText], inspected],
    [['--debug', 'copy', '-q', refText, `dir:${out}`], copied],
  ] as const) {
    const r = await runFerry(args, { timeoutMs: 60_000 });
    const what = `ferry ${args.join(' ')}`;
    assert.equal(r.code, expected === 'ok' ? 0 : 1, `${what}: exit ${r.code} (library: ${expected})\n${r.stderr}`);
    if (r.code === 1) assert.match(r.stderr, /^ferry: /, what);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(MARKER), `${what} printed a file's content`);
    assert.doesNotMatch(r.stderr, /TypeError|RangeError|SyntaxError|Unexpected token/, `${what}\n${r.stderr}`);
  }
}

test('bad manifests, configs and index.json in an oci: layout and a dir: image give typed errors', async (t) => {
  let n = 0;
  for (const c of CASES) {
    for (const transport of ['oci', 'dir'] as const) {
      if (transport === 'dir' && (c.index !== undefined || c.entryMediaType !== undefined)) continue;
      const dir = join(root, `img-${n++}`);
      await (transport === 'oci' ? makeOci(dir, c) : makeDir(dir, c));
      const outcome = await readThroughLibrary(`${transport}:${dir}`, c, join(root, `out-${n}`));
      t.diagnostic(`${transport}: ${c.name}: ${outcome}`);
      if (!c.mayPass) assert.notEqual(outcome, 'ok,ok', `${transport}: ${c.name} was accepted`);
      // A sample through the CLI too (a process each: a few seconds in all).
      if (n % 5 === 0) await readThroughCLI(`${transport}:${dir}`, outcome, join(root, `cli-sample-${n}`));
      await rm(dir, { recursive: true, force: true });
    }
  }
  assert.equal(
    (await readThroughLibrary(
      `oci:${join(root, 'missing')}`,
      { name: 'missing layout' },
      join(root, 'out-missing'),
    )) === 'ok,ok',
    false,
  );
});

test('a symlinked index.json or manifest.json never prints the file it points to (library)', async () => {
  for (const target of [secretFile, secretJSONFile]) {
    const oci = join(root, 'sym-oci');
    await makeOci(oci, { name: 'symlink' });
    await rm(join(oci, 'index.json'));
    await symlink(target, join(oci, 'index.json'));
    await readThroughLibrary(`oci:${oci}`, { name: `index.json → ${target}` }, join(root, 'sym-out-1'));
    const dir = join(root, 'sym-dir');
    await makeDir(dir, { name: 'symlink' });
    await rm(join(dir, 'manifest.json'));
    await symlink(target, join(dir, 'manifest.json'));
    await readThroughLibrary(`dir:${dir}`, { name: `manifest.json → ${target}` }, join(root, 'sym-out-2'));
    await rm(oci, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
});

test('ferry inspect and copy (with --debug) fail typed and never print a symlinked secret file', async () => {
  const oci = join(root, 'cli-oci');
  await makeOci(oci, { name: 'symlink' });
  await rm(join(oci, 'index.json'));
  await symlink(secretFile, join(oci, 'index.json'));
  const dir = join(root, 'cli-dir');
  await makeDir(dir, { name: 'symlink' });
  await rm(join(dir, 'manifest.json'));
  await symlink(secretFile, join(dir, 'manifest.json'));
  const dirJSON = join(root, 'cli-dir-json');
  await makeDir(dirJSON, { name: 'symlink' });
  await rm(join(dirJSON, 'manifest.json'));
  await symlink(secretJSONFile, join(dirJSON, 'manifest.json'));
  const ociBadConfig = join(root, 'cli-oci-config');
  await makeOci(ociBadConfig, { name: 'config', config: Buffer.from(SECRET_TEXT) });
  const runs = [
    ['--debug', 'inspect', `oci:${oci}`],
    ['--debug', 'inspect', '--raw', `oci:${oci}`],
    ['--debug', 'copy', `oci:${oci}`, `dir:${join(root, 'cli-out-1')}`],
    ['--debug', 'inspect', `dir:${dir}`],
    ['--debug', 'copy', `dir:${dir}`, `oci:${join(root, 'cli-out-2')}`],
    // JSON that is not a manifest is not printed even when asked for raw.
    ['--debug', 'inspect', '--raw', `dir:${dirJSON}`],
    ['--debug', 'inspect', `dir:${dirJSON}`],
    ['--debug', 'inspect', `oci:${ociBadConfig}`],
    ['--debug', 'inspect', '--config', `oci:${ociBadConfig}`],
  ];
  for (const args of runs) {
    const r = await runFerry(args, { timeoutMs: 60_000 });
    const what = `ferry ${args.join(' ')}`;
    assert.equal(r.signal, null, `${what}: killed`);
    assert.equal(r.code, 1, `${what}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, /^ferry: /, what);
    assert.ok(!`${r.stdout}${r.stderr}`.includes(MARKER), `${what} printed the secret file:\n${r.stderr}`);
    assert.doesNotMatch(
      r.stderr,
      /TypeError|RangeError|SyntaxError|Unexpected token/,
      `${what}: an untyped error\n${r.stderr}`,
    );
  }
  assert.match((await runFerry(['inspect', `oci:${oci}`])).stderr, /index\.json is not valid JSON at line 1, column 1/);
  assert.match(
    (await runFerry(['inspect', `dir:${dir}`])).stderr,
    /manifest\.json is not valid JSON at line 1, column 1/,
  );
  // A copy passes the config through unparsed (as containers/image does), so this one succeeds, silently.
  const copied = await runFerry(['--debug', 'copy', `oci:${ociBadConfig}`, `dir:${join(root, 'cli-out-3')}`]);
  assert.equal(copied.code, 0, copied.stderr);
  assert.ok(!`${copied.stdout}${copied.stderr}`.includes(MARKER));
  const dirOut = existsSync(join(root, 'cli-out-1')) ? await readdir(join(root, 'cli-out-1')) : [];
  assert.ok(!dirOut.includes('manifest.json'), `a failed copy left a manifest.json: ${dirOut}`);
  const ociIndex = join(root, 'cli-out-2', 'index.json');
  if (existsSync(ociIndex)) {
    const index = JSON.parse(await readFile(ociIndex, 'utf8')) as { manifests?: unknown[] };
    assert.equal(index.manifests?.length ?? 0, 0, 'a failed copy added an image to the oci: destination');
  }
});

test('a copy into a layout whose index.json nests 5000 levels deep is a typed error, and the index is left alone', async () => {
  const src = join(root, 'deep-src');
  await makeOci(src, { name: 'source' });
  const dest = join(root, 'deep-dest');
  await makeOci(dest, { name: 'destination' });
  const deepIndex = (await readFile(join(dest, 'index.json'), 'utf8')).replace(
    /}$/,
    `,"x":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  );
  await writeFile(join(dest, 'index.json'), deepIndex);
  await assert.rejects(
    copyImage(parseImageReference(`oci:${src}`), parseImageReference(`oci:${dest}:new`)),
    (e: unknown) => {
      assert.equal(checkError(e, 'copy into a deep layout').code, 'INVALID_LAYOUT');
      assert.match(
        (e as Error).message,
        /index\.json is not valid JSON at line 1, column \d+: nested deeper than 1000 levels/,
      );
      return true;
    },
  );
  assert.equal(await readFile(join(dest, 'index.json'), 'utf8'), deepIndex);
});

test('mutated index.json and manifests in an oci: layout read or fail typed (seeded)', async (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const counts = { ok: 0, error: 0 };
  for (let i = 0; i < 60; i++) {
    const dir = join(root, `mut-${i}`);
    const manifest = manifestFor(GOOD_CONFIG);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.OCI_MANIFEST,
            digest: sha(manifest),
            size: manifest.length,
            annotations: { 'org.opencontainers.image.ref.name': 'latest' },
          },
        ],
      }),
    );
    const mutateOne = (b: Buffer): Buffer => {
      try {
        return mutateJSON(r, b);
      } catch {
        return b;
      }
    };
    // Mutate the index, or the manifest (then the index names the mutated bytes, so they are parsed).
    const c: Case =
      i % 2 === 0
        ? { name: `mutated index ${i}`, index: mutateOne(index) }
        : { name: `mutated manifest ${i}`, manifest: mutateOne(manifest) };
    await makeOci(dir, c);
    const outcome = await readThroughLibrary(`oci:${dir}`, c, join(root, `mut-out-${i}`));
    counts[outcome === 'ok,ok' ? 'ok' : 'error']++;
    await rm(dir, { recursive: true, force: true });
  }
  t.diagnostic(`layouts: ${counts.ok} read, ${counts.error} refused`);
  assert.ok(counts.error > 10, 'the mutations reach the error paths');
});
