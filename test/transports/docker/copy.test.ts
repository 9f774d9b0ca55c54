/** copyImage through the docker:// transport: oci → registry → oci keeps the digests, one image or a whole index. */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { copyImage } from '../../../src/copy/index.js';
import { MediaType } from '../../../src/manifest/mediatypes.js';
import { parseDockerImageReference } from '../../../src/transports/docker/reference.js';
import { parseOciReference } from '../../../src/transports/oci-layout/reference.js';
import { type MadeImage, makeImage } from '../../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';

async function indexDigests(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(`${layout}/index.json`, 'utf8')) as { manifests: { digest: string }[] };
  return index.manifests.map((m) => m.digest);
}

describe('copyImage with docker://', () => {
  let reg: TestRegistry;
  let dir: string;
  let single: MadeImage;
  let multi: MadeImage;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-docker-copy-');
    single = await makeImage(`${dir}/src`, { tag: 't', layers: 3, layerSize: 200_000, seed: 11 });
    multi = await makeImage(`${dir}/src`, {
      tag: 'm',
      layers: 1,
      layerSize: 30_000,
      seed: 12,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('copies oci → docker:// → oci keeping the manifest digest, and skopeo sees the same digest', async () => {
    const registryRef = parseDockerImageReference(`//${reg.host}/copy/img:t`);
    const up = await copyImage(parseOciReference(`${dir}/src:t`), registryRef, {
      destinationOptions: { tlsVerify: false },
    });
    assert.equal(up.manifestDigest, single.digest);
    const r = await runSkopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/copy/img:t`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { Digest: string }).Digest, single.digest);

    const down = await copyImage(registryRef, parseOciReference(`${dir}/back:t`), {
      sourceOptions: { tlsVerify: false },
    });
    assert.equal(down.manifestDigest, single.digest);
    assert.deepEqual(await indexDigests(`${dir}/back`), [single.digest]);
  });

  test('copies a whole index both ways with all its instances', async () => {
    const registryRef = parseDockerImageReference(`//${reg.host}/copy/multi:m`);
    const up = await copyImage(parseOciReference(`${dir}/src:m`), registryRef, {
      destinationOptions: { tlsVerify: false },
      imageListSelection: 'all',
    });
    assert.equal(up.manifestDigest, multi.digest);
    const down = await copyImage(registryRef, parseOciReference(`${dir}/back-multi:m`), {
      sourceOptions: { tlsVerify: false },
      imageListSelection: 'all',
    });
    assert.equal(down.manifestDigest, multi.digest);
    const check = await runSkopeo(['inspect', '--raw', `oci:${dir}/back-multi:m`]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, multi.bytes.toString());
    // The instances came too: skopeo can read the arm64 one from the copied layout.
    const arm = await runSkopeo(['inspect', '--override-arch', 'arm64', `oci:${dir}/back-multi:m`]);
    assert.equal(arm.code, 0, arm.stderr);
  });

  test('a copy converted to Docker schema 2 is stored with that type and the digest copyImage reports', async () => {
    const result = await copyImage(
      parseOciReference(`${dir}/src:t`),
      parseDockerImageReference(`//${reg.host}/copy/v2s2:t`),
      {
        destinationOptions: { tlsVerify: false },
        forceManifestMIMEType: MediaType.DOCKER_V2_SCHEMA2,
      },
    );
    assert.equal(result.manifestMIMEType, MediaType.DOCKER_V2_SCHEMA2);
    const r = await runSkopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/copy/v2s2:t`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { Digest: string }).Digest, result.manifestDigest);
    const raw = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/copy/v2s2:t`]);
    assert.equal((JSON.parse(raw.stdout) as { mediaType: string }).mediaType, MediaType.DOCKER_V2_SCHEMA2);
  });

  test('a second copy to the same repository reuses every blob', async () => {
    const kinds: string[] = [];
    await copyImage(parseOciReference(`${dir}/src:t`), parseDockerImageReference(`//${reg.host}/copy/img:t2`), {
      destinationOptions: { tlsVerify: false },
      onProgress: (e) => kinds.push(e.kind),
    });
    // Three layers and the config were already in copy/img: none is uploaded again.
    assert.equal(kinds.filter((k) => k === 'blob-skipped').length, 4);
    assert.equal(kinds.filter((k) => k === 'blob-done').length, 0);
    const r = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/copy/img:t2`]);
    assert.equal(r.stdout, single.bytes.toString());
  });
});
