/**
 * `ferry inspect`, `inspect --config`, `inspect --raw` and `inspect --config --raw` print what the
 * real skopeo prints, byte for byte, over oci:, oci-archive:, dir:, docker-archive: and docker:// (a real
 * registry), for single- and multi-arch images with and without a variant, instances chosen with
 * `--override-arch`/`--override-variant`. Known difference, undone before comparing: the default
 * output's `LayersData`, which upstream skopeo prints since 1.5 and Debian's 1.9.3 build does not.
 * skopeo's default output has no `Variant` (neither this build nor upstream's Output struct): the
 * variant shows in `--config`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A one-file layer tar (uncompressed). */
async function layerTar(): Promise<Buffer> {
  const p = tarPack();
  p.entry({ name: 'f', mtime: new Date(0), uid: 0, gid: 0 }, 'hi\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A dir: image of one one-file layer and the given config, with Docker schema2 or OCI media types. */
async function writeDirImage(
  dir: string,
  config: Record<string, unknown>,
  format: 'docker' | 'oci' = 'docker',
): Promise<void> {
  const tar = await layerTar();
  const layer = gzipSync(tar);
  const configBytes = Buffer.from(
    JSON.stringify({ rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] }, ...config }),
  );
  const oci = format === 'oci';
  const manifest = {
    schemaVersion: 2,
    mediaType: oci
      ? 'application/vnd.oci.image.manifest.v1+json'
      : 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
      size: configBytes.length,
      digest: `sha256:${sha256(configBytes)}`,
    },
    layers: [
      {
        mediaType: oci
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        size: layer.length,
        digest: `sha256:${sha256(layer)}`,
      },
    ],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, sha256(configBytes)), configBytes);
  await writeFile(path.join(dir, sha256(layer)), layer);
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 3));
  await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
}

/**
 * A Docker config with every field kind: os.version/os.features, a variant, Docker-only fields
 * (Memory, Healthcheck, OnBuild, Shell, container_config), HTML characters, an unknown member, a
 * time with an offset and trailing zeros, an empty history layer.
 */
const RICH_CONFIG = {
  zzz_unknown: { a: 1 },
  architecture: 'arm64',
  variant: 'v8',
  os: 'linux',
  'os.version': '10.0.1',
  'os.features': ['win32k'],
  author: 'Me <me@example.com>',
  created: '2024-05-06T07:08:09.120000000+02:00',
  docker_version: '20.10.7',
  container: 'abc',
  container_config: { Hostname: 'h', Cmd: ['/bin/sh'] },
  config: {
    Hostname: 'h',
    User: 'u',
    Memory: 10,
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
    Env: ['A=1', 'B=<&>'],
    Entrypoint: ['/e'],
    Cmd: ['c'],
    Healthcheck: { Test: ['CMD', 'true'] },
    ArgsEscaped: true,
    Volumes: { '/v': {} },
    WorkingDir: '/w',
    OnBuild: ['RUN x'],
    Labels: { z: '1', a: '2' },
    StopSignal: 'SIGTERM',
    Shell: ['/bin/bash'],
  },
  history: [
    { created: '2024-05-06T07:08:09Z', created_by: 'ADD f', comment: 'c', author: 'a' },
    { created: '2024-05-06T07:08:10.5Z', created_by: 'CMD', empty_layer: true },
  ],
};

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

/** Ferry's default inspect text with the LayersData member cut out (see the file comment). */
function withoutLayersData(text: string): string {
  return text.replace(/\n {4}"LayersData": \[\n[\s\S]*?\n {4}\],/, '');
}

const MODES: string[][] = [[], ['--config'], ['--raw'], ['--config', '--raw']];

async function assertSameAsSkopeo(globals: string[], ref: string, extra: string[] = []): Promise<void> {
  for (const mode of MODES) {
    const args = [...globals, 'inspect', ...extra, ...mode, ref];
    const skopeo = ok(await runSkopeo(args), `skopeo ${args.join(' ')}`).stdout;
    let ferry = ok(await runFerry(args), `ferry ${args.join(' ')}`).stdout;
    if (mode.length === 0) {
      assert.match(ferry, /"LayersData": \[/, 'ferry prints LayersData as upstream skopeo does');
      ferry = withoutLayersData(ferry);
    }
    assert.equal(ferry, skopeo, `${args.join(' ')}`);
  }
}

const INSTANCES: string[][] = [
  [],
  ['--override-arch', 'arm64', '--override-variant', 'v8'],
  ['--override-arch', 'arm', '--override-variant', 'v7'],
  ['--override-arch', 'arm64'],
];

describe('inspect prints what skopeo prints', () => {
  let work = '';
  let layout = '';
  let registry: TestRegistry;

  before(async () => {
    work = await makeTempDir('ferry-inspect-skopeo-');
    layout = path.join(work, 'layout');
    await makeImage(layout, {
      tag: 'single',
      layers: 2,
      layerSize: 4096,
      labels: { 'a<b': 'x&y' },
      env: ['A=1', 'B=2'],
    });
    await makeImage(layout, { tag: 'armv7', layers: 1, layerSize: 4096, platforms: ['linux/arm/v7'] });
    await makeImage(layout, {
      tag: 'multi',
      layers: 2,
      layerSize: 4096,
      platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'],
    });
    await writeDirImage(path.join(work, 'rich'), RICH_CONFIG);
    registry = await startRegistry();
  });

  after(async () => {
    await registry?.stop();
  });

  it('on oci: for a single image, one with a variant, and each instance of an index', async () => {
    await assertSameAsSkopeo([], `oci:${layout}:single`);
    await assertSameAsSkopeo([], `oci:${layout}:armv7`);
    for (const globals of INSTANCES) await assertSameAsSkopeo(globals, `oci:${layout}:multi`);
  });

  it('on oci-archive: written by skopeo, multi-arch', async () => {
    const archive = path.join(work, 'multi-oci.tar');
    ok(
      await runSkopeo(['copy', '-q', '--all', `oci:${layout}:multi`, `oci-archive:${archive}:multi`]),
      'skopeo copy oci-archive',
    );
    for (const globals of INSTANCES) await assertSameAsSkopeo(globals, `oci-archive:${archive}`);
  });

  it('on dir: for a Docker config with every field kind (Docker-only fields dropped by --config)', async () => {
    await assertSameAsSkopeo([], `dir:${path.join(work, 'rich')}`);
    const config = JSON.parse(
      ok(await runFerry(['inspect', '--config', `dir:${path.join(work, 'rich')}`]), 'ferry').stdout,
    );
    assert.equal(config.variant, 'v8');
    assert.equal(config.config.Healthcheck, undefined);
  });

  it('on dir: for sparse configs (no created: zero time for Docker, null for OCI; empty Labels/Env; names in any case)', async () => {
    const cases: [Record<string, unknown>, 'docker' | 'oci'][] = [
      [{ architecture: 'amd64', os: 'linux' }, 'docker'],
      [{ architecture: 'amd64', os: 'linux' }, 'oci'],
      [{ architecture: 'amd64', os: 'linux', config: { Labels: {}, Env: [], Entrypoint: [] } }, 'docker'],
      [
        {
          architecture: 'amd64',
          os: 'linux',
          created: '2024-01-01T00:00:00.000-00:00',
          config: { Labels: {}, Env: [] },
        },
        'oci',
      ],
      [
        {
          Architecture: 'amd64',
          OS: 'linux',
          Created: '2024-01-01T00:00:00Z',
          Config: { labels: { b: '1' }, env: ['X=1'] },
        },
        'docker',
      ],
      [{ architecture: 'amd64', os: 'linux', history: [{ created: '2024-01-01T00:00:00Z' }, {}] }, 'oci'],
    ];
    for (const [i, [config, format]] of cases.entries()) {
      const dir = path.join(work, `sparse-${i}`);
      await writeDirImage(dir, config, format);
      await assertSameAsSkopeo([], `dir:${dir}`);
    }
  });

  it('on dir: for a schema1 image (config derived from its history; --config --raw prints nothing)', async () => {
    const schema1 = path.join(work, 'schema1');
    ok(
      await runSkopeo(['copy', '-q', '--format', 'v2s1', `dir:${path.join(work, 'rich')}`, `dir:${schema1}`]),
      'skopeo copy to schema1',
    );
    await assertSameAsSkopeo([], `dir:${schema1}`);
  });

  it('conversion to OCI writes the config skopeo writes (the same OCI view: variant before os)', async () => {
    const ours = path.join(work, 'converted-ferry');
    const theirs = path.join(work, 'converted-skopeo');
    const rich = `dir:${path.join(work, 'rich')}`;
    ok(await runFerry(['copy', '-q', '--format', 'oci', rich, `oci:${ours}:t`]), 'ferry copy --format oci');
    ok(await runSkopeo(['copy', '-q', '--format', 'oci', rich, `oci:${theirs}:t`]), 'skopeo copy --format oci');
    const configOf = async (layout: string): Promise<string> =>
      ok(await runSkopeo(['inspect', '--config', '--raw', `oci:${layout}:t`]), 'skopeo inspect').stdout;
    const config = await configOf(ours);
    assert.match(config, /"architecture":"arm64","variant":"v8","os":"linux"/);
    assert.equal(config, await configOf(theirs));
    const manifestDigest = async (layout: string): Promise<string> =>
      (JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] })
        .manifests[0]?.digest ?? '';
    assert.equal(
      await manifestDigest(ours),
      await manifestDigest(theirs),
      'the converted manifests are the same bytes',
    );
  });

  it('on docker-archive: written by skopeo, with and without a variant', async () => {
    for (const [tag, source] of [
      ['single', `oci:${layout}:single`],
      ['armv7', `oci:${layout}:armv7`],
      ['rich', `dir:${path.join(work, 'rich')}`],
    ] as const) {
      const archive = path.join(work, `${tag}.tar`);
      ok(
        await runSkopeo(['copy', '-q', source, `docker-archive:${archive}:example.com/app:${tag}`]),
        `skopeo copy ${tag}`,
      );
      await assertSameAsSkopeo([], `docker-archive:${archive}`);
    }
  });

  it('on docker:// from a real registry, tags listed, each instance of a multi-arch image', async () => {
    const tls = ['--tls-verify=false'];
    for (const tag of ['single', 'armv7']) {
      ok(
        await runSkopeo([
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${layout}:${tag}`,
          `docker://${registry.host}/app:${tag}`,
        ]),
        `push ${tag}`,
      );
    }
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--all',
        '--dest-tls-verify=false',
        `oci:${layout}:multi`,
        `docker://${registry.host}/app:multi`,
      ]),
      'push multi',
    );
    ok(
      await runSkopeo([
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `dir:${path.join(work, 'rich')}`,
        `docker://${registry.host}/rich:1`,
      ]),
      'push rich',
    );
    await assertSameAsSkopeo([], `docker://${registry.host}/app:single`, tls);
    await assertSameAsSkopeo([], `docker://${registry.host}/app:armv7`, tls);
    await assertSameAsSkopeo([], `docker://${registry.host}/rich:1`, tls);
    for (const globals of INSTANCES) await assertSameAsSkopeo(globals, `docker://${registry.host}/app:multi`, tls);
    await assertSameAsSkopeo([], `docker://${registry.host}/app:single`, [...tls, '--no-tags']);
  });
});
