/**
 * What a skopeo user reads, compared with the real skopeo (1.9.3) on the same images:
 * - Docker schema1 images (pushed by skopeo to a real registry, and old Docker's pre-1.8.3 JSON):
 *   `inspect` in every mode byte for byte (skopeo's `Tag` included), and their conversion;
 * - registry errors on a real registry (missing tag and repository, no or wrong credentials on
 *   htpasswd): Ferry keeps its own `ferry: <what>: HTTP <status>: ` prefix, then the registry's
 *   text exactly as skopeo prints it (a HEAD's error is fetched with a GET), never a password;
 * - a multi-arch image without the wanted platform: the same "no image found" words, for
 *   inspect and copy, Docker list and OCI index, with every override flag.
 * Known difference, undone before comparing: Debian's skopeo 1.9.3 prints no `LayersData`.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

const withoutLayersData = (text: string): string => text.replace(/\n {4}"LayersData": \[\n[\s\S]*?\n {4}\],/, '');

/**
 * Distribution signs a schema1 manifest anew on every GET (the JWS `protected` header holds the
 * time), so two reads of it differ in `signatures` only: compared without them.
 */
const withoutSignatures = (raw: string): string => raw.replace(/,"signatures":\[[^\]]*\]\}$/, '}');

/** inspect, --config, --raw, --config --raw (and a template of Tag): Ferry's stdout is skopeo's. */
async function assertInspectSame(ref: string, extra: string[] = []): Promise<void> {
  for (const mode of [[], ['--config'], ['--raw'], ['--config', '--raw'], ['--format', '{{.Tag}}|{{.Name}}']]) {
    const args = ['inspect', ...extra, ...mode, ref];
    let skopeo = ok(await runSkopeo(args), `skopeo ${args.join(' ')}`).stdout;
    let ferry = ok(await runFerry(args), `ferry ${args.join(' ')}`).stdout;
    if (mode.length === 0) ferry = withoutLayersData(ferry);
    if (mode.length === 1 && mode[0] === '--raw' && ref.startsWith('docker://')) {
      [skopeo, ferry] = [withoutSignatures(skopeo), withoutSignatures(ferry)];
      assert.match(ferry, /"schemaVersion":1\}$/);
    }
    assert.equal(ferry, skopeo, args.join(' '));
  }
}

const HEX = (c: string): string => c.repeat(64);

/** A dir: schema1 image written as old Docker wrote them: the given newest v1Compatibility over a base entry. */
async function writeSchema1Dir(dir: string, newest: Record<string, unknown>): Promise<void> {
  const manifest = {
    schemaVersion: 1,
    name: 'old/app',
    tag: 'v1',
    architecture: 'amd64',
    fsLayers: [
      { blobSum: 'sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4' },
      { blobSum: `sha256:${HEX('1')}` },
    ],
    history: [
      { v1Compatibility: JSON.stringify({ id: HEX('a'), parent: HEX('b'), ...newest }) },
      {
        v1Compatibility: JSON.stringify({
          id: HEX('b'),
          created: '2015-01-01T00:00:00Z',
          container_config: { Cmd: ['/bin/sh', '-c', '#(nop) ADD file:x in /'] },
        }),
      },
    ],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 3));
  await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
}

describe('Ferry prints what skopeo prints', () => {
  let work = '';
  let layout = '';
  let plain: TestRegistry;
  let locked: TestRegistry;

  before(async () => {
    work = await makeTempDir('ferry-skopeo-text-');
    layout = path.join(work, 'layout');
    await makeImage(layout, { tag: 'three', layers: 3, layerSize: 4096 });
    await makeImage(layout, {
      tag: 'multi',
      layers: 1,
      layerSize: 4096,
      platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7'],
    });
    [plain, locked] = await Promise.all([startRegistry({ schema1: true }), startRegistry({ auth: 'htpasswd' })]);
  });

  after(async () => {
    await Promise.all([plain?.stop(), locked?.stop()]);
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe('Docker schema1', () => {
    it('inspect of a schema1 image skopeo pushed to a registry: rootfs, history, Tag; --config --raw prints nothing', async () => {
      const ref = `docker://${plain.host}/s1/app:v1`;
      ok(
        await runSkopeo(['copy', '-q', '--dest-tls-verify=false', '--format', 'v2s1', `oci:${layout}:three`, ref]),
        'skopeo push v2s1',
      );
      await assertInspectSame(ref, ['--tls-verify=false']);
      const config = JSON.parse(ok(await runFerry(['inspect', '--tls-verify=false', '--config', ref]), 'ferry').stdout);
      assert.equal(config.rootfs.type, 'layers');
      assert.equal(config.rootfs.diff_ids.length, 3, 'one diff ID per layer (empty: schema1 has none)');
      assert.equal(config.history.length, 3);
      const tag = ok(await runFerry(['inspect', '--tls-verify=false', '--format', '{{.Tag}}', ref]), 'ferry').stdout;
      assert.equal(tag, 'v1\n');
      const raw = await runFerry(['inspect', '--tls-verify=false', '--config', '--raw', ref]);
      assert.equal(ok(raw, 'ferry --config --raw').stdout, '');
    });

    it("inspect of old Docker's schema1 (before 1.8.3): its config re-encoded with Go's zero values, as skopeo does", async () => {
      const cases: Record<string, unknown>[] = [
        {
          docker_version: '1.6.2',
          architecture: 'amd64',
          os: 'linux',
          config: { Cmd: 'sh', Hostname: 'h', ExposedPorts: {}, Labels: { b: '1', a: '<x>' }, Volumes: { '/v': {} } },
          container_config: { Cmd: ['/bin/sh', '-c', '#(nop) CMD ["sh"]'] },
          throwaway: true,
          Size: 0,
          unknown_field: 1,
        },
        {
          docker_version: '1.8.2',
          created: '2015-10-01T10:00:00.50+02:00',
          os: 'linux',
          config: { Env: ['A=1'], Healthcheck: { Test: ['CMD'], Retries: 3 }, Shell: [], StopTimeout: 0 },
        },
        { docker_version: '1.7.1-rc1', architecture: 'arm', variant: 'v7', os: 'linux', config: null },
        { docker_version: '1.8.3', os: 'linux' },
        { docker_version: '1.10.0', os: 'linux', config: { Env: ['A=1'] } },
      ];
      for (const [i, newest] of cases.entries()) {
        const dir = path.join(work, `old-${i}`);
        await writeSchema1Dir(dir, newest);
        await assertInspectSame(`dir:${dir}`);
      }
      const created = (i: number): Promise<unknown> =>
        runFerry(['inspect', '--config', `dir:${path.join(work, `old-${i}`)}`]).then(
          (r) => JSON.parse(r.stdout).created,
        );
      assert.equal(await created(0), '0001-01-01T00:00:00Z', 'before 1.8.3: Go zero time');
      assert.equal(await created(3), undefined, '1.8.3: as stored');
    });

    it('converting an old schema1 image writes the manifest and config skopeo writes', async () => {
      const s1 = path.join(work, 's1-old');
      ok(await runSkopeo(['copy', '-q', '--format', 'v2s1', `oci:${layout}:three`, `dir:${s1}`]), 'skopeo v2s1');
      const manifestPath = path.join(s1, 'manifest.json');
      const m = JSON.parse(await readFile(manifestPath, 'utf8'));
      const newest = JSON.parse(m.history[0].v1Compatibility);
      newest.docker_version = '1.6.2';
      delete newest.created;
      m.history[0].v1Compatibility = JSON.stringify(newest);
      delete m.signatures;
      await writeFile(manifestPath, JSON.stringify(m, null, 3));
      for (const format of ['v2s2', 'oci']) {
        const ours = path.join(work, `conv-ferry-${format}`);
        const theirs = path.join(work, `conv-skopeo-${format}`);
        ok(await runFerry(['copy', '-q', '--format', format, `dir:${s1}`, `dir:${ours}`]), `ferry ${format}`);
        ok(await runSkopeo(['copy', '-q', '--format', format, `dir:${s1}`, `dir:${theirs}`]), `skopeo ${format}`);
        assert.equal(
          await readFile(path.join(ours, 'manifest.json'), 'utf8'),
          await readFile(path.join(theirs, 'manifest.json'), 'utf8'),
          `${format}: the same manifest, so the same config bytes`,
        );
      }
    });
  });

  describe('registry errors', () => {
    /** skopeo's registry text: what follows `in HOST/REPO: ` in its fatal message. */
    function registryText(skopeoStderr: string): string {
      const m = / in 127\.0\.0\.1:[0-9]+\/[a-z0-9/]+: (.*)"\n$/.exec(skopeoStderr);
      assert.ok(m, `skopeo's message names a registry text: ${skopeoStderr}`);
      return m[1] as string;
    }

    async function assertSameRegistryText(args: string[], ferryPrefix: string, status: number): Promise<void> {
      const skopeo = await runSkopeo(args);
      const ferry = await runFerry(args);
      assert.notEqual(skopeo.code, 0);
      assert.equal(ferry.code, 1, ferry.stderr);
      const text = registryText(skopeo.stderr);
      assert.equal(ferry.stderr, `ferry: ${ferryPrefix}: HTTP ${status}: ${text}\n`, args.join(' '));
      assert.ok(!ferry.stderr.includes(locked.password as string), 'no password in the message');
    }

    before(async () => {
      ok(
        await runSkopeo([
          'copy',
          '-q',
          '--dest-tls-verify=false',
          '--dest-creds',
          `${locked.username}:${locked.password}`,
          `oci:${layout}:three`,
          `docker://${locked.host}/app:t`,
        ]),
        'push to htpasswd registry',
      );
    });

    it('a missing tag and a missing repository: "manifest unknown: manifest unknown"', async () => {
      for (const [repo, tag] of [
        ['s1/app', 'nope'],
        ['nope/app', 't'],
      ]) {
        const ref = `docker://${plain.host}/${repo}:${tag}`;
        const prefix = `reading manifest ${plain.host}/${repo}:${tag}`;
        await assertSameRegistryText(['inspect', '--tls-verify=false', ref], prefix, 404);
        await assertSameRegistryText(
          ['copy', '--src-tls-verify=false', ref, `dir:${path.join(work, 'x')}`],
          prefix,
          404,
        );
      }
      const creds = ['--creds', `${locked.username}:${locked.password}`];
      await assertSameRegistryText(
        ['inspect', '--tls-verify=false', ...creds, `docker://${locked.host}/app:nope`],
        `reading manifest ${locked.host}/app:nope`,
        404,
      );
    });

    it('no credentials and a wrong password on htpasswd: "unauthorized: authentication required", read side and write side', async () => {
      const ref = `docker://${locked.host}/app:t`;
      for (const creds of [[], ['--creds', `${locked.username}:not-${locked.password}`]]) {
        await assertSameRegistryText(
          ['inspect', '--tls-verify=false', ...creds, ref],
          `reading manifest ${locked.host}/app:t`,
          401,
        );
        const src = creds.length === 0 ? [] : ['--src-creds', creds[1] as string];
        await assertSameRegistryText(
          ['copy', '--src-tls-verify=false', ...src, ref, `dir:${path.join(work, 'y')}`],
          `reading manifest ${locked.host}/app:t`,
          401,
        );
      }
      // Deleting resolves the tag with a manifest HEAD: its 401 is explained by a GET too (skopeo prints the raw body).
      const del = ['delete', '--tls-verify=false', ref];
      assert.match((await runSkopeo(del)).stderr, /\\"message\\":\\"authentication required\\"/);
      assert.equal(
        (await runFerry(del)).stderr,
        `ferry: checking manifest ${locked.host}/app:t: HTTP 401: unauthorized: authentication required\n`,
      );
      // Pushing: the first request is a blob HEAD, whose 401 has no body; the GET fetches the registry's text.
      for (const creds of [[], ['--dest-creds', `${locked.username}:not-${locked.password}`]]) {
        const args = [
          'copy',
          '--dest-tls-verify=false',
          ...creds,
          `oci:${layout}:three`,
          `docker://${locked.host}/app:t2`,
        ];
        const skopeo = await runSkopeo(args);
        const ferry = await runFerry(args);
        const text = registryText(skopeo.stderr);
        assert.equal(text, 'unauthorized: authentication required');
        assert.match(
          ferry.stderr,
          new RegExp(`^ferry: checking blob sha256:[0-9a-f]{64} in ${locked.host}/app: HTTP 401: ${text}\\n$`),
        );
        assert.ok(!ferry.stderr.includes(locked.password as string));
      }
    });
  });

  describe('a multi-arch image without the wanted platform', () => {
    before(async () => {
      for (const [tag, format] of [
        ['index', []],
        ['list', ['--format', 'v2s2']],
      ] as const) {
        ok(
          await runSkopeo([
            'copy',
            '-q',
            '--all',
            '--dest-tls-verify=false',
            ...format,
            `oci:${layout}:multi`,
            `docker://${plain.host}/multi:${tag}`,
          ]),
          `push ${tag}`,
        );
      }
    });

    /** skopeo's "no image found ..." words, which Ferry's message must hold. */
    function noImageFound(skopeoStderr: string): string {
      const m = /(no image found in (?:manifest list|image index) for architecture .*, variant .*, OS [^"]*)"\n$/.exec(
        skopeoStderr.replaceAll('\\"', '"'),
      );
      assert.ok(m, `skopeo names the platform: ${skopeoStderr}`);
      return m[1] as string;
    }

    const OVERRIDES: string[][] = [
      ['--override-arch', 's390x'],
      ['--override-os', 'windows'],
      ['--override-arch', 'arm', '--override-variant', 'v6'],
      ['--override-arch', 'arm64', '--override-variant', 'v9'],
      ['--override-os', 'freebsd', '--override-arch', 'arm64', '--override-variant', 'v8'],
    ];

    it('inspect and copy name architecture, variant and OS as skopeo does, for a Docker list and an OCI index', async () => {
      const refs = [
        [`oci:${layout}:multi`, []],
        [`docker://${plain.host}/multi:index`, ['--tls-verify=false']],
        [`docker://${plain.host}/multi:list`, ['--tls-verify=false']],
      ] as const;
      for (const [ref, tls] of refs) {
        for (const globals of OVERRIDES) {
          const commands = [
            ['inspect', ...tls, ref],
            ['copy', ...(tls.length > 0 ? ['--src-tls-verify=false'] : []), ref, `dir:${path.join(work, 'z')}`],
          ];
          for (const command of commands) {
            const args = [...globals, ...command];
            const skopeo = await runSkopeo(args);
            const ferry = await runFerry(args);
            assert.notEqual(skopeo.code, 0, args.join(' '));
            assert.equal(ferry.code, 1, args.join(' '));
            const words = noImageFound(skopeo.stderr);
            assert.ok(
              ferry.stderr.startsWith(`ferry: ${words}; available: linux/amd64, linux/arm64/v8, linux/arm/v7`),
              `${args.join(' ')}\nskopeo: ${words}\nferry:  ${ferry.stderr}`,
            );
          }
        }
      }
    });

    it('an architecture without a variant, or a newer one, picks what skopeo picks (arm → arm/v7)', async () => {
      for (const ref of [`oci:${layout}:multi`, `docker://${plain.host}/multi:list`]) {
        for (const globals of [
          ['--override-arch', 'arm'],
          ['--override-arch', 'arm', '--override-variant', 'v8'],
        ]) {
          const args = [...globals, 'inspect', '--tls-verify=false', '--config', ref].filter(
            (a) => !(ref.startsWith('oci:') && a === '--tls-verify=false'),
          );
          const skopeo = ok(await runSkopeo(args), `skopeo ${args.join(' ')}`).stdout;
          const ferry = ok(await runFerry(args), `ferry ${args.join(' ')}`).stdout;
          assert.equal(ferry, skopeo, args.join(' '));
          assert.match(ferry, /"variant": "v7"/);
        }
      }
    });
  });
});
