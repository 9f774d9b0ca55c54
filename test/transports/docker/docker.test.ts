/** The docker:// transport's source and destination against the real registry, with skopeo as the peer. */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { digestStream } from '../../../src/digest/verify.js';
import { isFerryError } from '../../../src/errors.js';
import { MediaType } from '../../../src/manifest/mediatypes.js';
import { DockerImageDestination } from '../../../src/transports/docker/destination.js';
import { parseDockerImageReference } from '../../../src/transports/docker/reference.js';
import { DockerImageSource } from '../../../src/transports/docker/source.js';
import type { ImageDestination, ImageOptions, ImageSource } from '../../../src/transports/types.js';
import { blobPath, type MadeImage, type MadeInstance, makeImage } from '../../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';

const INSECURE: ImageOptions = { tlsVerify: false };

/** Pushes every blob and the manifest of one instance through the destination. */
async function pushInstance(
  dest: ImageDestination,
  layout: string,
  inst: MadeInstance,
  asInstance: boolean,
): Promise<void> {
  for (const layer of inst.layers) {
    const info = { digest: layer.digest as `sha256:${string}`, size: layer.size, mediaType: layer.mediaType };
    assert.equal(await dest.tryReusingBlob(info, { isConfig: false }), undefined);
    const stored = await dest.putBlob(createReadStream(blobPath(layout, layer.digest)), info, { isConfig: false });
    assert.deepEqual(stored, info);
  }
  // The config goes up with its digest unknown: the destination computes it.
  const config = await dest.putBlob(
    createReadStream(blobPath(layout, inst.config.digest)),
    { size: inst.config.size },
    { isConfig: true },
  );
  assert.equal(config.digest, inst.config.digest);
  await dest.putManifest(inst.bytes, asInstance ? (inst.digest as `sha256:${string}`) : undefined);
}

async function skopeoInspect(reg: TestRegistry, image: string, raw = false): Promise<string> {
  const r = await runSkopeo([
    'inspect',
    ...(raw ? ['--raw'] : []),
    '--tls-verify=false',
    `docker://${reg.host}/${image}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('docker:// source and destination (plain http registry)', () => {
  let reg: TestRegistry;
  let dir: string;
  let single: MadeImage;
  let multi: MadeImage;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-docker-');
    single = await makeImage(`${dir}/single`, { tag: 't', layers: 2, layerSize: 100_000, seed: 3 });
    multi = await makeImage(`${dir}/multi`, {
      tag: 'm',
      layers: 1,
      layerSize: 20_000,
      seed: 4,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('states the registry capabilities', async () => {
    const dest = await parseDockerImageReference(`//${reg.host}/caps/img:t`).newImageDestination(INSECURE);
    try {
      assert.ok(dest instanceof DockerImageDestination);
      assert.deepEqual(dest.capabilities.supportedManifestMIMETypes, [
        MediaType.OCI_MANIFEST,
        MediaType.DOCKER_V2_SCHEMA2,
        MediaType.DOCKER_V2_SCHEMA1_SIGNED,
        MediaType.DOCKER_V2_SCHEMA1,
        MediaType.DOCKER_V2_LIST,
        MediaType.OCI_INDEX,
      ]);
      assert.equal(dest.capabilities.desiredLayerCompression, 'compress');
      assert.equal(dest.capabilities.supportsMultipleImages, true);
      assert.equal(dest.capabilities.acceptsForeignLayerURLs, true);
      assert.equal(dest.capabilities.hasThreadSafePutBlob, true);
      // Signatures go to the lookaside (signatures.test.ts), by the digest of a manifest put first.
      assert.equal(dest.capabilities.supportsSignatures, true);
      await assert.rejects(dest.putSignatures([Buffer.from('sig')]), (e: unknown) =>
        isFerryError(e, 'INVALID_ARGUMENT'),
      );
      await dest.putSignatures([]);
    } finally {
      await dest.close();
      await dest.close();
    }
  });

  test('an image pushed through the destination is what skopeo inspects, with the same digest and bytes', async () => {
    const ref = parseDockerImageReference(`//${reg.host}/pushed/img:t`);
    const dest = await ref.newImageDestination(INSECURE);
    try {
      await pushInstance(dest, `${dir}/single`, single.instances[0]!, false);
      await dest.commit();
    } finally {
      await dest.close();
    }
    const inspected = JSON.parse(await skopeoInspect(reg, 'pushed/img:t')) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, single.digest);
    assert.deepEqual(
      inspected.Layers,
      single.instances[0]!.layers.map((l) => l.digest),
    );
    assert.equal(await skopeoInspect(reg, 'pushed/img:t', true), single.bytes.toString());
  });

  test('a multi-arch index pushed instance by instance is what skopeo reads back', async () => {
    const dest = await parseDockerImageReference(`//${reg.host}/pushed/multi:m`).newImageDestination(INSECURE);
    try {
      for (const inst of multi.instances) await pushInstance(dest, `${dir}/multi`, inst, true);
      await dest.putManifest(multi.bytes);
      await dest.commit();
    } finally {
      await dest.close();
    }
    assert.equal(await skopeoInspect(reg, 'pushed/multi:m', true), multi.bytes.toString());
    const arm = await runSkopeo([
      'inspect',
      '--override-arch',
      'arm64',
      '--tls-verify=false',
      `docker://${reg.host}/pushed/multi:m`,
    ]);
    assert.equal(arm.code, 0, arm.stderr);
    assert.deepEqual(
      (JSON.parse(arm.stdout) as { Layers: string[] }).Layers,
      multi.instances[1]!.layers.map((l) => l.digest),
    );
  });

  test('reads back what skopeo pushed: manifest, instances and blobs with matching digests', async () => {
    const push = await runSkopeo([
      'copy',
      '--all',
      '--dest-tls-verify=false',
      `oci:${dir}/multi:m`,
      `docker://${reg.host}/skopeo/multi:m`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    const src = await parseDockerImageReference(`//${reg.host}/skopeo/multi:m`).newImageSource(INSECURE);
    try {
      assert.ok(src instanceof DockerImageSource);
      assert.equal(src.hasThreadSafeGetBlob, true);
      const top = await src.getManifest();
      assert.ok(top.bytes.equals(multi.bytes));
      assert.equal(top.mimeType, MediaType.OCI_INDEX);
      assert.equal(src.manifestDigest, multi.digest);
      for (const inst of multi.instances) {
        const m = await src.getManifest(inst.digest as `sha256:${string}`);
        assert.ok(m.bytes.equals(inst.bytes));
        assert.equal(m.mimeType, MediaType.OCI_MANIFEST);
        for (const blob of [inst.config, ...inst.layers]) {
          const { stream, size } = await src.getBlob({ digest: blob.digest as `sha256:${string}`, size: -1 });
          assert.equal(size, blob.size);
          assert.deepEqual(await digestStream(stream), { digest: blob.digest, size: blob.size });
        }
      }
      assert.deepEqual(await src.getSignatures(), []);
    } finally {
      await src.close();
    }
  });

  test('a reference by digest reads the same manifest; a missing tag fails at open with MANIFEST_UNKNOWN', async () => {
    let src: ImageSource = await parseDockerImageReference(`//${reg.host}/pushed/img@${single.digest}`).newImageSource(
      INSECURE,
    );
    try {
      assert.ok((await src.getManifest()).bytes.equals(single.bytes));
    } finally {
      await src.close();
    }
    await assert.rejects(
      parseDockerImageReference(`//${reg.host}/pushed/img:absent`).newImageSource(INSECURE),
      (e: unknown) => isFerryError(e, 'MANIFEST_UNKNOWN'),
    );
    src = await parseDockerImageReference(`//${reg.host}/pushed/img:t`).newImageSource(INSECURE);
    await src.close();
  });

  test('a destination named by digest accepts only the manifest with that digest', async () => {
    const inst = single.instances[0]!;
    const good = await parseDockerImageReference(`//${reg.host}/pushed/img@${inst.digest}`).newImageDestination(
      INSECURE,
    );
    const bad = await parseDockerImageReference(`//${reg.host}/pushed/img@${multi.digest}`).newImageDestination(
      INSECURE,
    );
    try {
      await good.putManifest(inst.bytes);
      await assert.rejects(bad.putManifest(inst.bytes), (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'));
    } finally {
      await good.close();
      await bad.close();
    }
  });

  test('deleteImage deletes the manifest a tag names', async () => {
    const ref = parseDockerImageReference(`//${reg.host}/pushed/img:t`);
    await ref.deleteImage(INSECURE);
    await assert.rejects(ref.newImageSource(INSECURE), (e: unknown) => isFerryError(e, 'MANIFEST_UNKNOWN'));
    const r = await runSkopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/pushed/img@${single.digest}`,
    ]);
    assert.notEqual(r.code, 0);
  });
});

describe('docker:// with htpasswd auth over TLS', () => {
  let reg: TestRegistry;
  let dir: string;
  let image: MadeImage;

  before(async () => {
    reg = await startRegistry({ tls: true, auth: 'htpasswd' });
    dir = await makeTempDir('ferry-docker-tls-');
    image = await makeImage(`${dir}/img`, { tag: 't', layers: 1, layerSize: 10_000, seed: 5 });
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('pushes and pulls with credentials and the CA from certDir; skopeo agrees on the digest', async () => {
    const options: ImageOptions = {
      certDir: reg.certDir!,
      credentials: { username: reg.username!, password: reg.password! },
    };
    const ref = parseDockerImageReference(`//${reg.host}/secure/img:t`);
    const dest = await ref.newImageDestination(options);
    try {
      await pushInstance(dest, `${dir}/img`, image.instances[0]!, false);
    } finally {
      await dest.close();
    }
    const src = await ref.newImageSource(options);
    try {
      assert.ok((await src.getManifest()).bytes.equals(image.bytes));
    } finally {
      await src.close();
    }
    const r = await runSkopeo([
      'inspect',
      '--cert-dir',
      reg.certDir!,
      '--creds',
      `${reg.username}:${reg.password}`,
      `docker://${reg.host}/secure/img:t`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { Digest: string }).Digest, image.digest);
  });

  test('wrong credentials fail with UNAUTHORIZED and the error never shows the password', async () => {
    const password = 'not-the-password-42';
    const err = await parseDockerImageReference(`//${reg.host}/secure/img:t`)
      .newImageSource({ certDir: reg.certDir!, credentials: { username: reg.username!, password } })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(isFerryError(err, 'UNAUTHORIZED'), String(err));
    assert.ok(!`${String(err)} ${JSON.stringify(err.details)}`.includes(password));
  });

  test('without the CA the registry is not trusted', async () => {
    await assert.rejects(
      parseDockerImageReference(`//${reg.host}/secure/img:t`).newImageSource({
        credentials: { username: reg.username!, password: reg.password! },
      }),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE'),
    );
  });
});

describe('docker:// with signed schema1 manifests', () => {
  let reg: TestRegistry;
  let dir: string;

  before(async () => {
    reg = await startRegistry({ schema1: true });
    dir = await makeTempDir('ferry-docker-s1-');
    await makeImage(`${dir}/img`, { tag: 't', layers: 1, layerSize: 5_000, seed: 6 });
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('reads a schema1 manifest skopeo pushed, its digest checked over the JWS payload', async () => {
    const push = await runSkopeo([
      'copy',
      '--format',
      'v2s1',
      '--dest-tls-verify=false',
      `oci:${dir}/img:t`,
      `docker://${reg.host}/s1/img:t`,
    ]);
    assert.equal(push.code, 0, push.stderr);
    const digest = await runSkopeo([
      'inspect',
      '--tls-verify=false',
      '--format',
      '{{.Digest}}',
      `docker://${reg.host}/s1/img:t`,
    ]);
    assert.equal(digest.code, 0, digest.stderr);
    const src = await parseDockerImageReference(`//${reg.host}/s1/img:t`).newImageSource(INSECURE);
    try {
      assert.ok(src instanceof DockerImageSource);
      const m = await src.getManifest();
      assert.equal(m.mimeType, MediaType.DOCKER_V2_SCHEMA1_SIGNED);
      assert.equal(src.manifestDigest, digest.stdout.trim());
    } finally {
      await src.close();
    }
  });
});
