/**
 * docker-daemon: against real daemons speaking the Docker Engine API (test/helpers/daemons.ts):
 * podman's Docker-compatible service, and Docker's own dockerd (Debian's docker.io 20.10) where it can
 * run (these tests are skipped with the reason when it cannot), with the daemon's own CLI and skopeo
 * 1.9.3 as the oracles. Ferry loads images into each and saves them out of it, both ways with skopeo on
 * the same socket; config digests (= image IDs) and layer diffIDs agree.
 * Ferry's synthesised manifest for a daemon image labels its uncompressed layers gzip, as containers/image
 * does, so its digest equals skopeo's (see test/integration/inspect-skopeo.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { isFerryError } from '../../src/errors.js';
import { parseImageReference } from '../../src/index.js';
import { makeImage, type MadeImage } from '../helpers/make-image.js';
import { startDockerd, startPodmanService, type TestDaemon } from '../helpers/daemons.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { rm } from 'node:fs/promises';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r;
}

type Tool = (args: readonly string[]) => Promise<RunResult>;

/** `copy -q FROM TO` by `tool` (runFerry or runSkopeo) into the daemon at `host`; asserts it worked. */
async function copyIn(tool: Tool, host: string, from: string, to: string, more: string[] = []): Promise<RunResult> {
  return ok(await tool(['copy', '-q', '--dest-daemon-host', host, ...more, from, to]), `copy ${from} → ${to}`);
}

/** `copy -q FROM TO` by `tool` (runFerry or runSkopeo) out of the daemon at `host`; asserts it worked. */
async function copyOut(tool: Tool, host: string, from: string, to: string): Promise<RunResult> {
  return ok(await tool(['copy', '-q', '--src-daemon-host', host, from, to]), `copy ${from} → ${to}`);
}

/** The digest of the config skopeo reads for `image` from the daemon at `host`. */
async function skopeoConfigDigest(host: string, image: string, more: string[] = []): Promise<string> {
  const config = ok(
    await runSkopeo(['inspect', '--config', '--raw', '--daemon-host', host, ...more, image]),
    'skopeo inspect --config',
  );
  return sha256(Buffer.from(config.stdout));
}

type Instance = MadeImage['instances'][number];

/** The image `made` holds (one instance). */
const instanceOf = (made: MadeImage): Instance => made.instances[0] as Instance;

interface ImageFacts {
  configDigest: string;
  diffIDs: string[];
  /** sha256 of each layer's uncompressed bytes, in order. */
  layerContents: string[];
}

/** Config digest, diffIDs and the uncompressed digest of each layer of the image in an OCI layout or dir:. */
async function factsOf(root: string, tagged: { index?: string; manifestFile?: string }): Promise<ImageFacts> {
  const blob = (d: string) =>
    tagged.manifestFile !== undefined
      ? readFile(path.join(root, d.slice('sha256:'.length)))
      : readFile(path.join(root, 'blobs', 'sha256', d.slice('sha256:'.length)));
  let manifest: { config: { digest: string }; layers: { digest: string }[] };
  if (tagged.manifestFile !== undefined) {
    manifest = JSON.parse(await readFile(path.join(root, tagged.manifestFile), 'utf8'));
  } else {
    const index = JSON.parse(await readFile(path.join(root, 'index.json'), 'utf8'));
    const entry = index.manifests.find(
      (m: { annotations?: Record<string, string> }) =>
        m.annotations?.['org.opencontainers.image.ref.name'] === tagged.index,
    );
    assert.ok(entry, `tag ${tagged.index} in ${root}`);
    manifest = JSON.parse((await blob(entry.digest)).toString('utf8'));
  }
  const config = await blob(manifest.config.digest);
  assert.equal(sha256(config), manifest.config.digest);
  const layerContents: string[] = [];
  for (const l of manifest.layers) {
    const bytes = await blob(l.digest);
    layerContents.push(sha256(bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes));
  }
  return {
    configDigest: manifest.config.digest,
    diffIDs: JSON.parse(config.toString('utf8')).rootfs.diff_ids,
    layerContents,
  };
}

for (const [daemonName, start] of [
  ['podman system service', startPodmanService],
  ['dockerd', startDockerd],
] as const) {
  describe(`docker-daemon: with ${daemonName} as the daemon`, { concurrency: false }, () => {
    let service: TestDaemon | undefined;
    let unavailable = '';
    let dir: string;
    let layout: string;
    let made: MadeImage;

    before(async () => {
      try {
        service = await start();
      } catch (e) {
        // podman must run; dockerd only where the environment lets it.
        if (daemonName !== 'dockerd') throw e;
        unavailable = `dockerd cannot run here: ${(e as Error).message}`;
      }
      dir = await makeTempDir('ferry-daemon-');
      layout = path.join(dir, 'layout');
      made = await makeImage(layout, { tag: 'v1', layers: 3, compression: 'gzip', seed: 7 });
    });

    after(async () => {
      await service?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    /** The running daemon, or undefined after marking the test skipped (with the reason). */
    const daemon = (t: TestContext): TestDaemon | undefined => {
      if (service === undefined) t.skip(unavailable);
      return service;
    };

    const configOf = () => instanceOf(made).config.digest;
    const diffIDsOf = () => instanceOf(made).layers.map((l) => l.diffID);

    /** `facts` are those of the test image: its config, its diffIDs, layers that decompress to them. */
    const assertIsTestImage = (facts: ImageFacts): void => {
      assert.equal(facts.configDigest, configOf());
      assert.deepEqual(facts.diffIDs, diffIDsOf());
      assert.deepEqual(facts.layerContents, diffIDsOf());
    };

    /** The first layer of the test image, as stored in the layout. */
    async function firstLayer(): Promise<{ digest: `sha256:${string}`; bytes: Buffer }> {
      const layer = instanceOf(made).layers[0] as Instance['layers'][number];
      const bytes = await readFile(path.join(layout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)));
      return { digest: layer.digest as `sha256:${string}`, bytes };
    }

    it('ferry copy oci: → docker-daemon:NAME:TAG loads the image: the daemon lists it, skopeo reads the same config', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      await copyIn(runFerry, service.host, `oci:${layout}:v1`, 'docker-daemon:example.com/ferry/app:v1');
      assert.ok((await service.images()).includes(`example.com/ferry/app:v1 ${configOf()}`));
      assert.equal(await skopeoConfigDigest(service.host, 'docker-daemon:example.com/ferry/app:v1'), configOf());
      assert.deepEqual(await service.inspect('example.com/ferry/app:v1'), { id: configOf(), diffIDs: diffIDsOf() });
    });

    it('ferry inspect prints what skopeo inspect prints, the synthesised manifest digest included, but for LayersData (a known difference)', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const args = ['inspect', '--daemon-host', service.host, 'docker-daemon:example.com/ferry/app:v1'];
      const byFerry = JSON.parse(ok(await runFerry(args), 'ferry inspect').stdout);
      const bySkopeo = JSON.parse(ok(await runSkopeo(args), 'skopeo inspect').stdout);
      // Debian's skopeo 1.9.3 prints no LayersData.
      assert.match(byFerry.Digest, /^sha256:[0-9a-f]{64}$/);
      for (const o of [byFerry, bySkopeo]) delete o.LayersData;
      assert.deepEqual(byFerry, bySkopeo);
      assert.deepEqual(byFerry.Layers, diffIDsOf());
    });

    it('ferry copy docker-daemon:NAME:TAG → oci: reads it back: same config, diffIDs and layer contents', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const out = path.join(dir, 'back');
      await copyOut(runFerry, service.host, 'docker-daemon:example.com/ferry/app:v1', `oci:${out}:back`);
      assertIsTestImage(await factsOf(out, { index: 'back' }));
    });

    it('skopeo writes to the daemon, ferry reads it; ferry and skopeo read the same config and layers', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      await copyIn(runSkopeo, service.host, `oci:${layout}:v1`, 'docker-daemon:skopeo/app:v2');
      const byFerry = path.join(dir, 'from-skopeo-ferry');
      const bySkopeo = path.join(dir, 'from-skopeo-skopeo');
      await copyOut(runFerry, service.host, 'docker-daemon:skopeo/app:v2', `dir:${byFerry}`);
      await copyOut(runSkopeo, service.host, 'docker-daemon:skopeo/app:v2', `dir:${bySkopeo}`);
      const ferryFacts = await factsOf(byFerry, { manifestFile: 'manifest.json' });
      const skopeoFacts = await factsOf(bySkopeo, { manifestFile: 'manifest.json' });
      assert.deepEqual(ferryFacts, skopeoFacts);
      assert.equal(ferryFacts.configDigest, configOf());
      assert.deepEqual(ferryFacts.layerContents, diffIDsOf());
    });

    it('what ferry loaded, skopeo copies out with the same config and layers as ferry does', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const bySkopeo = path.join(dir, 'from-ferry-skopeo');
      await copyOut(runSkopeo, service.host, 'docker-daemon:example.com/ferry/app:v1', `dir:${bySkopeo}`);
      assertIsTestImage(await factsOf(bySkopeo, { manifestFile: 'manifest.json' }));
    });

    it('docker-daemon:sha256:ID reads an image by its ID, and DOCKER_HOST names the daemon when no flag does', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const out = path.join(dir, 'by-id');
      ok(
        await runFerry(['copy', '-q', `docker-daemon:${configOf()}`, `oci:${out}:id`], {
          env: { ...process.env, DOCKER_HOST: service.host },
        }),
        'ferry copy by ID',
      );
      assert.equal((await factsOf(out, { index: 'id' })).configDigest, configOf());
    });

    it('layers of unknown size (decompressed on the way) are spooled and still load: the daemon has the same diffIDs', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      await copyIn(runFerry, service.host, `oci:${layout}:v1`, 'docker-daemon:example.com/ferry/plain:v1', [
        '--dest-decompress',
      ]);
      assert.deepEqual(await service.inspect('example.com/ferry/plain:v1'), { id: configOf(), diffIDs: diffIDsOf() });
    });

    it('a destination closed without commit leaves nothing in the daemon', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const ref = parseImageReference('docker-daemon:example.com/ferry/aborted:v1');
      const dest = await ref.newImageDestination({ daemonHost: service.host });
      const layer = await firstLayer();
      await dest.putBlob(
        Readable.from([layer.bytes]),
        { digest: layer.digest, size: layer.bytes.length },
        // Verified by the caller: the bytes go straight into the upload, which close() then cuts off.
        { isConfig: false, callerVerifiesDigest: true },
      );
      await dest.close();
      // The service has finished with the cut-off upload once a later request is answered.
      assert.ok(!(await service.images()).some((l) => l.includes('aborted')));
    });

    it('a load the daemon rejects (layers that do not match the config) fails the commit with DAEMON_ERROR', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const ref = parseImageReference('docker-daemon:example.com/ferry/broken:v1');
      const dest = await ref.newImageDestination({ daemonHost: service.host });
      try {
        const { digest: layerDigest, bytes: layerBytes } = await firstLayer();
        const config = Buffer.from(
          JSON.stringify({
            architecture: 'amd64',
            os: 'linux',
            rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] },
          }),
        );
        await dest.putBlob(
          Readable.from([layerBytes]),
          { digest: layerDigest, size: layerBytes.length },
          { isConfig: false },
        );
        await dest.putBlob(
          Readable.from([config]),
          { digest: sha256(config) as `sha256:${string}`, size: config.length },
          { isConfig: true },
        );
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
            config: {
              mediaType: 'application/vnd.docker.container.image.v1+json',
              size: config.length,
              digest: sha256(config),
            },
            layers: [
              {
                mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
                size: layerBytes.length,
                digest: layerDigest,
              },
            ],
          }),
        );
        await dest.putManifest(manifest);
        await assert.rejects(dest.commit(), (e: unknown) => isFerryError(e, 'DAEMON_ERROR'));
      } finally {
        await dest.close();
      }
      assert.ok(!(await service.images()).some((l) => l.includes('broken')));
    });

    it('an image the daemon does not have is IMAGE_NOT_FOUND; a daemon that is not there is DAEMON_UNREACHABLE', async (t) => {
      const service = daemon(t);
      if (service === undefined) return;
      const missing = parseImageReference('docker-daemon:example.com/ferry/missing:v1');
      await assert.rejects(missing.newImageSource({ daemonHost: service.host }), (e: unknown) =>
        isFerryError(e, 'IMAGE_NOT_FOUND'),
      );
      const nowhere = `unix://${path.join(dir, 'no-such.sock')}`;
      await assert.rejects(missing.newImageSource({ daemonHost: nowhere }), (e: unknown) =>
        isFerryError(e, 'DAEMON_UNREACHABLE'),
      );
      const cli = await runFerry(['inspect', '--daemon-host', nowhere, 'docker-daemon:example.com/ferry/missing:v1']);
      assert.notEqual(cli.code, 0);
      assert.match(cli.stderr, /cannot talk to the docker daemon at unix:\/\/.*no-such\.sock/);
    });
  });
}

describe('docker-daemon: over TCP: plain http:// (podman) and tcp:// with TLS client certificates (dockerd)', {
  concurrency: false,
}, () => {
  let dir: string;
  let layout: string;
  let made: MadeImage;
  let plain: TestDaemon | undefined;
  let tls: TestDaemon | undefined;
  let tlsUnavailable = '';

  before(async () => {
    dir = await makeTempDir('ferry-daemon-tcp-');
    layout = path.join(dir, 'layout');
    made = await makeImage(layout, { tag: 'v1', layers: 2, compression: 'gzip', seed: 11 });
    plain = await startPodmanService({ tcp: true });
    try {
      tls = await startDockerd({ tls: true });
    } catch (e) {
      tlsUnavailable = `dockerd cannot run here: ${(e as Error).message}`;
    }
  });

  after(async () => {
    await plain?.stop();
    await tls?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const instance = () => instanceOf(made);

  it('http://HOST:PORT talks plain HTTP: the image goes in and comes back out', async () => {
    const service = plain as TestDaemon;
    assert.match(service.host, /^http:\/\/127\.0\.0\.1:[0-9]+$/);
    await copyIn(runFerry, service.host, `oci:${layout}:v1`, 'docker-daemon:tcp/app:v1');
    assert.deepEqual(await service.inspect('tcp/app:v1'), {
      id: instance().config.digest,
      diffIDs: instance().layers.map((l) => l.diffID),
    });
    const out = path.join(dir, 'plain-back');
    await copyOut(runFerry, service.host, 'docker-daemon:tcp/app:v1', `oci:${out}:back`);
    assert.equal((await factsOf(out, { index: 'back' })).configDigest, instance().config.digest);
  });

  it('tcp://HOST:PORT is TLS: with --cert-dir (ca.pem, cert.pem, key.pem) ferry and skopeo reach dockerd; without, the handshake fails', async (t) => {
    if (tls?.tls === undefined) return t.skip(tlsUnavailable);
    const { host, certDir } = tls.tls;
    const copied = await copyIn(runFerry, host, `oci:${layout}:v1`, 'docker-daemon:tls/app:v1', [
      '--dest-cert-dir',
      certDir,
    ]);
    // Quiet means quiet: no warning either (Node warns of a TLS server name that is an IP address).
    assert.equal(copied.stderr, '');
    assert.ok((await tls.images()).includes(`tls/app:v1 ${instance().config.digest}`));
    assert.equal(
      await skopeoConfigDigest(host, 'docker-daemon:tls/app:v1', ['--cert-dir', certDir]),
      instance().config.digest,
    );
    const inspected = ok(
      await runFerry(['inspect', '--daemon-host', host, '--cert-dir', certDir, 'docker-daemon:tls/app:v1']),
      'ferry inspect over TLS',
    );
    assert.deepEqual(
      JSON.parse(inspected.stdout).Layers,
      instance().layers.map((l) => l.diffID),
    );
    const refused = await runFerry(['inspect', '--daemon-host', host, 'docker-daemon:tls/app:v1']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot talk to the docker daemon at tcp:\/\/127\.0\.0\.1/);
  });
});
