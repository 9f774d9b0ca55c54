/**
 * Options say what they are: a transport's open methods take only the concerns it reads, so an
 * option it would ignore is a compile error (the `@ts-expect-error` lines below fail `tsc` the day
 * such an option is accepted again), while a reference of unknown transport takes them all and each
 * transport picks its part at run time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  type DirReference,
  type DockerArchiveReference,
  type DockerImageReference,
  type ImageReference,
  type OciArchiveReference,
  type OciReference,
  type PutBlobOptions,
  parseImageReference,
  parseOciReference,
  type TarballReference,
  type TryReusingBlobOptions,
} from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { withTempDir } from '../helpers/tmp.js';

/** Never called: tsc checks these calls (npm test typechecks before it runs anything). */
export function optionTypes(
  oci: OciReference,
  ociArchive: OciArchiveReference,
  dir: DirReference,
  dockerArchive: DockerArchiveReference,
  docker: DockerImageReference,
  tarball: TarballReference,
  generic: ImageReference,
): void {
  // @ts-expect-error an OCI layout reads no TLS settings
  void oci.newImageSource({ tlsVerify: false });
  // @ts-expect-error nor credentials, when writing
  void oci.newImageDestination({ credentials: { username: 'u', password: 'p' } });
  // @ts-expect-error nor registries.conf, when opening a typed view
  void oci.newImage({ registriesConfPath: '/etc/containers/registries.conf' });
  // @ts-expect-error an oci-archive is extracted to a private layout: no shared blob dir
  void ociArchive.newImageSource({ sharedBlobDir: '/blobs' });
  // @ts-expect-error a dir: image has no temp files
  void dir.newImageDestination({ tmpDir: '/tmp' });
  // @ts-expect-error extra tags are written, never read
  void dockerArchive.newImageSource({ additionalTags: ['app:1'] });
  // @ts-expect-error a registry has no local paths
  void docker.newImageDestination({ sharedBlobDir: '/blobs' });
  // @ts-expect-error a tarball: reference is read-only, with no retries to make
  void tarball.newImageSource({ retryTimes: 2 });

  // What each one reads is accepted.
  void oci.newImageSource({ sharedBlobDir: '/blobs', signal: AbortSignal.timeout(1) });
  void oci.newImageDestination({ ociAcceptUncompressedLayers: true });
  void oci.newImage({ sharedBlobDir: '/blobs', architecture: 'arm64' });
  void ociArchive.newImageDestination({ tmpDir: '/tmp', ociAcceptUncompressedLayers: true });
  void dockerArchive.newImageDestination({ tmpDir: '/tmp', additionalTags: ['app:1'] });
  void docker.newImageSource({ tlsVerify: false, authFile: '/auth.json', retryTimes: 1, registryTimeoutMs: 5 });
  void docker.newImageDestination({ uploadChunkSize: 1 << 20, credentials: { username: 'u', password: 'p' } });
  // A reference of unknown transport (parsed from a string) takes every concern.
  void generic.newImageSource({ tlsVerify: false, sharedBlobDir: '/blobs', tmpDir: '/tmp' });

  // putBlob and tryReusingBlob are told different things.
  // @ts-expect-error substitution is a question for tryReusingBlob only
  const put: PutBlobOptions = { isConfig: false, canSubstitute: true };
  // @ts-expect-error the caller's digest check concerns bytes being put, not reused
  const reuse: TryReusingBlobOptions = { isConfig: false, callerVerifiesDigest: true };
  void put;
  void reuse;
}

test('a reference parsed from a string takes every option, and an oci: layout reads only its own', async () => {
  await withTempDir(async (dir) => {
    const layout = join(dir, 'layout');
    const image = await makeImage(layout, { tag: 'app', layers: 1, layerSize: 1000, seed: 11 });
    // Registry settings mean nothing to a layout: they are ignored, not an error.
    const generic = parseImageReference(`oci:${layout}:app`);
    const source = await generic.newImageSource({
      tlsVerify: false,
      credentials: { username: 'u', password: 'p' },
      retryTimes: 0,
    });
    try {
      const view = await parseOciReference(`${layout}:app`).newImage({});
      try {
        assert.equal(await view.digest(), image.digest);
      } finally {
        await view.close();
      }
      assert.equal(source.reference.toString(), `oci:${layout}:app`);
    } finally {
      await source.close();
    }
  });
});
