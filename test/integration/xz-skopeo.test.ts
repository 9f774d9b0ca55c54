/**
 * xz as skopeo reads it, compared with the real skopeo on the same images, built here
 * deterministically (tar-stream with fixed times, the xz CLI):
 *   - docker-archive: files whose layer members are xz-compressed, and whole archives compressed
 *     with xz (`.tar.xz`): containers/image decompresses both;
 *   - xz layers in dir:, oci: and a real registry: containers/image keeps their bytes (it never writes
 *     xz, and never changes a layer it is not asked to), recompresses them when a compression format
 *     is asked for, and decompresses them for docker-archive:;
 *   - the manifest synthesised for a docker-archive labels its (uncompressed) layers gzip, as
 *     containers/image does, so `inspect` prints the same Digest; a copy still compresses them where
 *     the destination wants compressed layers, because the copy engine looks at the bytes.
 * Equal means byte-equal manifests; where each tool gzips a layer itself (Go's gzip and zlib write
 * different bytes) the results are compared as equivalent: the same media types, config, and
 * layers that decompress to the same diffIDs.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const xz = (b: Buffer): Buffer => execFileSync('xz', ['-c', '-6', '--check=crc64'], { input: b });
const xzDecompress = (b: Buffer): Buffer => execFileSync('xz', ['-dc'], { input: b, maxBuffer: 1 << 30 });

const V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const XZ_MAGIC = 'fd377a585a00';
const GZIP_MAGIC = '1f8b08';

/** A tar of `files` (name → content), mtime 0, as a layer. */
async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const p = tarPack();
  for (const [name, data] of Object.entries(files)) p.entry({ name, mtime: new Date(0), uid: 0, gid: 0 }, data);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

/** The same `copy ARGS` by ferry into `ours` and by skopeo into `theirs`; asserts both worked. */
async function copyBoth(args: readonly string[], ours: string, theirs: string): Promise<void> {
  ok(await runFerry(['copy', ...args, ours]), `ferry copy ${args.join(' ')} ${ours}`);
  ok(await runSkopeo(['copy', ...args, theirs]), `skopeo copy ${args.join(' ')} ${theirs}`);
}

async function both(args: string[]): Promise<{ ferry: string; skopeo: string }> {
  const skopeo = ok(await runSkopeo(args), `skopeo ${args.join(' ')}`).stdout;
  const ferry = ok(await runFerry(args), `ferry ${args.join(' ')}`).stdout;
  return { ferry, skopeo };
}

/** Ferry's default inspect text without LayersData (which Debian's skopeo 1.9.3 does not print). */
function withoutLayersData(text: string): string {
  return text.replace(/\n {4}"LayersData": \[\n[\s\S]*?\n {4}\],/, '');
}

/** `inspect` and `inspect --raw` print the same as skopeo's; returns the parsed default output. */
async function assertInspectSame(ref: string, extra: string[] = []): Promise<{ Digest: string; Layers: string[] }> {
  const raw = await both(['inspect', ...extra, '--raw', ref]);
  assert.equal(raw.ferry, raw.skopeo, `inspect --raw ${ref}`);
  const plain = await both(['inspect', ...extra, ref]);
  assert.equal(withoutLayersData(plain.ferry), plain.skopeo, `inspect ${ref}`);
  const ours = JSON.parse(plain.ferry) as { Digest: string; Layers: string[] };
  const theirs = JSON.parse(plain.skopeo) as { Digest: string; Layers: string[] };
  assert.equal(ours.Digest, theirs.Digest);
  assert.equal(ours.Digest, sha256(Buffer.from(raw.skopeo)));
  assert.deepEqual(ours.Layers, theirs.Layers);
  return ours;
}

interface StoredImage {
  manifest: Buffer;
  parsed: { mediaType?: string; config: { digest: string }; layers: { mediaType: string; digest: string }[] };
  blob(digest: string): Promise<Buffer>;
}

/** The manifest and blobs of a dir: copy or of the one image in an OCI layout. */
async function readStored(dir: string, layout: 'dir' | 'oci'): Promise<StoredImage> {
  let manifest: Buffer;
  let blob: (digest: string) => Promise<Buffer>;
  if (layout === 'dir') {
    manifest = await readFile(path.join(dir, 'manifest.json'));
    blob = (d) => readFile(path.join(dir, d.slice('sha256:'.length)));
  } else {
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    blob = (d) => readFile(path.join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)));
    manifest = await blob((index.manifests[0] as { digest: string }).digest);
  }
  return { manifest, parsed: JSON.parse(manifest.toString('utf8')), blob };
}

/** Each layer's media type, the compression its bytes start with, and the digest of its decompressed bytes. */
async function layerFacts(image: StoredImage): Promise<{ mediaType: string; compression: string; diffID: string }[]> {
  const facts = [];
  for (const l of image.parsed.layers) {
    const bytes = await image.blob(l.digest);
    assert.equal(sha256(bytes), l.digest, 'the stored blob matches its digest');
    const compression =
      bytes.subarray(0, 3).toString('hex') === GZIP_MAGIC
        ? 'gzip'
        : bytes.subarray(0, 6).toString('hex') === XZ_MAGIC
          ? 'xz'
          : 'none';
    const plain = compression === 'gzip' ? gunzipSync(bytes) : compression === 'xz' ? xzDecompress(bytes) : bytes;
    facts.push({ mediaType: l.mediaType, compression, diffID: sha256(plain) });
  }
  return facts;
}

describe('xz and docker-archive media types: Ferry and skopeo agree', () => {
  let work = '';
  let registry: TestRegistry;
  /** For pushes of the docker-archive: skopeo's blob-info cache would offer the xz blobs pushed to `registry`. */
  let pushRegistry: TestRegistry;
  const layers: Buffer[] = [];
  let config = Buffer.alloc(0);
  let diffIDs: string[] = [];
  const paths = { plain: '', xzLayers: '', tarXz: '', xzDir: '', xzOci: '' };

  /** A docker-archive of the test image, its layer members stored as `store` makes them. */
  async function dockerArchive(store: (layer: Buffer) => Buffer): Promise<Buffer> {
    const names = layers.map((_, i) => `layer${i}/layer.tar`);
    const manifest = JSON.stringify([{ Config: 'config.json', RepoTags: ['example.com/xz:1'], Layers: names }]);
    return tarOf({
      'config.json': config,
      ...Object.fromEntries(names.map((n, i) => [n, store(layers[i] as Buffer)])),
      'manifest.json': manifest,
    });
  }

  before(async () => {
    work = await makeTempDir('ferry-xz-skopeo-');
    layers.push(
      await tarOf({ 'etc/hello': 'hello xz\n'.repeat(4000) }),
      await tarOf({ 'usr/share/data': Buffer.from(Array.from({ length: 60000 }, (_, i) => (i * 7919) % 251)) }),
    );
    diffIDs = layers.map(sha256);
    config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Env: ['PATH=/usr/bin'] },
        rootfs: { type: 'layers', diff_ids: diffIDs },
        history: [{ created_by: 'ADD hello' }, { created_by: 'ADD data' }],
      }),
    );
    paths.plain = path.join(work, 'plain.tar');
    paths.xzLayers = path.join(work, 'xz-layers.tar');
    paths.tarXz = path.join(work, 'plain.tar.xz');
    const plain = await dockerArchive((l) => l);
    await writeFile(paths.plain, plain);
    await writeFile(paths.xzLayers, await dockerArchive(xz));
    await writeFile(paths.tarXz, xz(plain));
    // A dir: image whose layers are xz, labelled gzip as schema2 has no xz type.
    paths.xzDir = path.join(work, 'xz-dir');
    await mkdir(paths.xzDir);
    const xzLayers = layers.map(xz);
    const manifest = {
      schemaVersion: 2,
      mediaType: V2S2,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: sha256(config),
      },
      layers: xzLayers.map((b) => ({ mediaType: DOCKER_GZIP, size: b.length, digest: sha256(b) })),
    };
    for (const b of [config, ...xzLayers]) await writeFile(path.join(paths.xzDir, sha256(b).slice(7)), b);
    await writeFile(path.join(paths.xzDir, 'manifest.json'), JSON.stringify(manifest, null, 3));
    await writeFile(path.join(paths.xzDir, 'version'), 'Directory Transport Version: 1.1\n');
    // The same image in an OCI layout, as skopeo writes it (xz bytes kept, labelled +gzip).
    paths.xzOci = path.join(work, 'xz-oci');
    ok(await runSkopeo(['copy', '-q', `dir:${paths.xzDir}`, `oci:${paths.xzOci}:t`]), 'skopeo copy to oci:');
    registry = await startRegistry();
    pushRegistry = await startRegistry();
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `dir:${paths.xzDir}`,
        `docker://${registry.host}/xz:1`,
      ]),
      'push the xz image',
    );
  });

  after(async () => {
    await registry?.stop();
    await pushRegistry?.stop();
  });

  it('inspect of a docker-archive with xz layers, an xz-compressed archive and a plain one: same Digest, Layers and raw manifest', async () => {
    const digests = new Set<string>();
    for (const archive of [paths.plain, paths.xzLayers, paths.tarXz]) {
      const inspected = await assertInspectSame(`docker-archive:${archive}`);
      assert.deepEqual(inspected.Layers, diffIDs);
      digests.add(inspected.Digest);
    }
    // The three archives hold one image: one synthesised manifest, layers labelled gzip as upstream does.
    assert.equal(digests.size, 1);
    const raw = JSON.parse(ok(await runFerry(['inspect', '--raw', `docker-archive:${paths.xzLayers}`]), 'raw').stdout);
    assert.deepEqual(
      raw.layers.map((l: { mediaType: string }) => l.mediaType),
      [DOCKER_GZIP, DOCKER_GZIP],
    );
  });

  it('inspect of xz layers in dir:, oci: and a registry', async () => {
    const fromDir = await assertInspectSame(`dir:${paths.xzDir}`);
    assert.deepEqual((await assertInspectSame(`oci:${paths.xzOci}:t`)).Layers, fromDir.Layers);
    const fromRegistry = await assertInspectSame(`docker://${registry.host}/xz:1`, ['--tls-verify=false']);
    assert.equal(fromRegistry.Digest, fromDir.Digest);
  });

  it('docker-archive → dir: the same manifest and blobs as skopeo (layers kept uncompressed, labelled gzip)', async () => {
    for (const [name, archive] of Object.entries({ plain: paths.plain, xz: paths.xzLayers, tarXz: paths.tarXz })) {
      const ours = path.join(work, `da-dir-ferry-${name}`);
      const theirs = path.join(work, `da-dir-skopeo-${name}`);
      await copyBoth(['-q', `docker-archive:${archive}`], `dir:${ours}`, `dir:${theirs}`);
      const a = await readStored(ours, 'dir');
      const b = await readStored(theirs, 'dir');
      assert.deepEqual(a.manifest, b.manifest, name);
      assert.deepEqual(await layerFacts(a), await layerFacts(b));
      assert.deepEqual(
        await layerFacts(a),
        diffIDs.map((diffID) => ({ mediaType: DOCKER_GZIP, compression: 'none', diffID })),
      );
    }
  });

  it('docker-archive → oci: layers labelled gzip but uncompressed are gzipped, as skopeo does', async () => {
    for (const [name, archive] of Object.entries({ plain: paths.plain, xz: paths.xzLayers, tarXz: paths.tarXz })) {
      const ours = path.join(work, `da-oci-ferry-${name}`);
      const theirs = path.join(work, `da-oci-skopeo-${name}`);
      await copyBoth(['-q', `docker-archive:${archive}`], `oci:${ours}:t`, `oci:${theirs}:t`);
      const a = await readStored(ours, 'oci');
      const b = await readStored(theirs, 'oci');
      assert.equal(a.parsed.mediaType, b.parsed.mediaType);
      assert.equal(a.parsed.config.digest, b.parsed.config.digest);
      const facts = await layerFacts(a);
      assert.deepEqual(facts, await layerFacts(b), name);
      assert.deepEqual(
        facts,
        diffIDs.map((diffID) => ({ mediaType: OCI_GZIP, compression: 'gzip', diffID })),
      );
    }
  });

  it('docker-archive → oci: with --dest-oci-accept-uncompressed-layers: the same manifest as skopeo (layers kept, labelled +gzip)', async () => {
    const args = ['-q', '--dest-oci-accept-uncompressed-layers', `docker-archive:${paths.xzLayers}`];
    const ours = path.join(work, 'da-oci-accept-ferry');
    const theirs = path.join(work, 'da-oci-accept-skopeo');
    await copyBoth(args, `oci:${ours}:t`, `oci:${theirs}:t`);
    const a = await readStored(ours, 'oci');
    assert.deepEqual(a.manifest, (await readStored(theirs, 'oci')).manifest);
    // containers/image keeps the source's label on bytes it did not change; so does Ferry.
    assert.deepEqual(
      await layerFacts(a),
      diffIDs.map((diffID) => ({ mediaType: OCI_GZIP, compression: 'none', diffID })),
    );
  });

  it('docker-archive with xz layers → registry: gzip layers, the same config and diffIDs as skopeo pushes', async () => {
    await copyBoth(
      ['-q', '--dest-tls-verify=false', `docker-archive:${paths.xzLayers}`],
      `docker://${pushRegistry.host}/ferry:1`,
      `docker://${pushRegistry.host}/skopeo:1`,
    );
    const pulled: StoredImage[] = [];
    for (const repo of ['ferry', 'skopeo']) {
      const dir = path.join(work, `pushed-${repo}`);
      ok(
        await runSkopeo([
          'copy',
          '-q',
          '--src-tls-verify=false',
          `docker://${pushRegistry.host}/${repo}:1`,
          `dir:${dir}`,
        ]),
        'pull',
      );
      pulled.push(await readStored(dir, 'dir'));
    }
    const [a, b] = pulled as [StoredImage, StoredImage];
    assert.equal(a.parsed.config.digest, b.parsed.config.digest);
    assert.deepEqual(await layerFacts(a), await layerFacts(b));
    assert.deepEqual(
      await layerFacts(a),
      diffIDs.map((diffID) => ({ mediaType: DOCKER_GZIP, compression: 'gzip', diffID })),
    );
  });

  it('xz layers → oci: kept as xz (same manifest as skopeo); with --dest-compress-format gzip recompressed', async () => {
    for (const [i, source] of [
      `dir:${paths.xzDir}`,
      `oci:${paths.xzOci}:t`,
      `docker://${registry.host}/xz:1`,
    ].entries()) {
      const tls = source.startsWith('docker://') ? ['--src-tls-verify=false'] : [];
      const ours = path.join(work, `xz-oci-ferry-${i}`);
      const theirs = path.join(work, `xz-oci-skopeo-${i}`);
      await copyBoth(['-q', ...tls, source], `oci:${ours}:t`, `oci:${theirs}:t`);
      const a = await readStored(ours, 'oci');
      assert.deepEqual(a.manifest, (await readStored(theirs, 'oci')).manifest, source);
      assert.deepEqual(
        await layerFacts(a),
        diffIDs.map((diffID) => ({ mediaType: OCI_GZIP, compression: 'xz', diffID })),
      );
    }
    const ours = path.join(work, 'xz-oci-gzip-ferry');
    const theirs = path.join(work, 'xz-oci-gzip-skopeo');
    await copyBoth(['-q', '--dest-compress-format', 'gzip', `dir:${paths.xzDir}`], `oci:${ours}:t`, `oci:${theirs}:t`);
    const a = await layerFacts(await readStored(ours, 'oci'));
    assert.deepEqual(a, await layerFacts(await readStored(theirs, 'oci')));
    assert.deepEqual(
      a,
      diffIDs.map((diffID) => ({ mediaType: OCI_GZIP, compression: 'gzip', diffID })),
    );
  });

  it('xz layers → docker-archive: decompressed, the same layer files and manifest.json as skopeo writes', async () => {
    const ours = path.join(work, 'xz-da-ferry.tar');
    const theirs = path.join(work, 'xz-da-skopeo.tar');
    await copyBoth(
      ['-q', `dir:${paths.xzDir}`],
      `docker-archive:${ours}:example.com/xz:1`,
      `docker-archive:${theirs}:example.com/xz:1`,
    );
    const list = (archive: string) => execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').sort();
    const member = (archive: string, name: string) => execFileSync('tar', ['-xOf', archive, name]);
    const manifestOf = (archive: string) => JSON.parse(member(archive, 'manifest.json').toString('utf8'));
    assert.deepEqual(manifestOf(ours), manifestOf(theirs));
    const entry = manifestOf(ours)[0] as { Layers: string[] };
    assert.deepEqual(
      entry.Layers.map((name) => sha256(member(ours, name))),
      diffIDs,
    );
    for (const name of entry.Layers) assert.ok(list(theirs).includes(name), `skopeo's archive holds ${name}`);
    // The inspect view of both archives is one and the same image.
    const a = JSON.parse(ok(await runFerry(['inspect', `docker-archive:${ours}`]), 'inspect').stdout).Digest;
    const b = JSON.parse(ok(await runSkopeo(['inspect', `docker-archive:${theirs}`]), 'inspect').stdout).Digest;
    assert.equal(a, b);
  });

  it('a tampered xz layer fails the size and digest check of its source bytes, as in skopeo', async () => {
    const tampered = path.join(work, 'xz-dir-tampered');
    execFileSync('cp', ['-r', paths.xzDir, tampered]);
    const manifest = JSON.parse(await readFile(path.join(tampered, 'manifest.json'), 'utf8'));
    const first = path.join(tampered, (manifest.layers[0].digest as string).slice(7));
    // Still valid xz (the same data compressed again), so only the checks of the source bytes can tell.
    await writeFile(
      first,
      execFileSync('xz', ['-c', '-1', '--check=sha256'], { input: xzDecompress(await readFile(first)) }),
    );
    for (const [tool, run] of [
      ['ferry', runFerry],
      ['skopeo', runSkopeo],
    ] as const) {
      const dest = path.join(work, `tampered-${tool}`);
      const r = await run(['copy', '-q', '--dest-compress-format', 'gzip', `dir:${tampered}`, `oci:${dest}:t`]);
      assert.notEqual(r.code, 0, tool);
      assert.match(r.stderr, /size mismatch|digest/i, tool);
      // No image was written: the layout names no manifest.
      const index = await readFile(path.join(dest, 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
      assert.deepEqual(JSON.parse(index).manifests ?? [], [], tool);
    }
  });

  it('a docker-archive xz layer member that decompresses to another layer is refused at open', async () => {
    const wrong = path.join(work, 'xz-wrong.tar');
    let i = 0;
    await writeFile(wrong, await dockerArchive((l) => xz(i++ === 0 ? Buffer.concat([l, Buffer.alloc(512)]) : l)));
    const ferry = await runFerry(['inspect', `docker-archive:${wrong}`]);
    assert.notEqual(ferry.code, 0);
    assert.match(ferry.stderr, /decompresses to sha256:[0-9a-f]{64}, not its diffID/);
  });
});
