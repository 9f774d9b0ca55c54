/**
 * Reading from containers-storage an image whose layers were stored from compressed blobs (what any
 * pull from a registry leaves): the store serves them uncompressed, by diffID, and the copy rewrites
 * the manifest to that (containers/image LayerInfosForCopy). skopeo 1.9 stores the image and is the
 * oracle for what the copy out writes; the real registry takes the push.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GpgHome, installed } from '../../helpers/gpg.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { runFerry, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { type BuiltImage, buildOciImage, richLayerDirs } from './fixtures.js';

const isRoot = process.getuid?.() === 0;
const skip = isRoot ? false : 'needs root (private stores written as root; rootless.test.ts covers another user)';

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `${what} failed: ${r.stderr}`);
  return r.stdout;
}

interface OciManifest {
  mediaType?: string;
  config: { digest: string };
  layers: { mediaType: string; digest: string; size: number }[];
}

/** The image manifest an OCI layout's only tag names, and its bytes. */
async function layoutManifest(layout: string): Promise<{ bytes: Buffer; manifest: OciManifest; digest: string }> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8'));
  assert.equal(index.manifests.length, 1);
  const digest = index.manifests[0].digest as string;
  const bytes = await readFile(path.join(layout, 'blobs/sha256', digest.slice(7)));
  return { bytes, manifest: JSON.parse(bytes.toString()), digest };
}

/** The diffIDs an OCI layout's image config lists. */
async function diffIDs(layout: string, manifest: OciManifest): Promise<string[]> {
  const config = JSON.parse(await readFile(path.join(layout, 'blobs/sha256', manifest.config.digest.slice(7)), 'utf8'));
  return config.rootfs.diff_ids;
}

describe('containers-storage: images stored from compressed layers', { skip }, () => {
  let dir: string;
  let image: BuiltImage;
  let spec: string;
  let registry: TestRegistry;

  before(async () => {
    dir = await makeTempDir('ferry-cs-gz-');
    const layout = path.join(dir, 'gz-oci');
    image = await buildOciImage(layout, 'rich', await richLayerDirs(path.join(dir, 'src')), { compression: 'gzip' });
    spec = `[vfs@${path.join(dir, 'store/root')}+${path.join(dir, 'store/run')}]`;
    await ok(runSkopeo(['copy', '-q', `oci:${layout}:rich`, `containers-storage:${spec}gz:1`]), 'skopeo copy in');
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('ferry inspect agrees with skopeo inspect: the stored (compressed) manifest digest and layers', async () => {
    const ferry = JSON.parse(await ok(runFerry(['inspect', `containers-storage:${spec}gz:1`]), 'ferry inspect'));
    const skopeo = JSON.parse(await ok(runSkopeo(['inspect', `containers-storage:${spec}gz:1`]), 'skopeo inspect'));
    assert.equal(ferry.Digest, image.manifestDigest);
    assert.equal(ferry.Digest, skopeo.Digest);
    assert.deepEqual(ferry.Layers, skopeo.Layers);
    assert.deepEqual(
      ferry.Layers,
      image.layers.map((l) => l.digest),
    );
  });

  test('ferry copy to oci: writes what skopeo writes: the same manifest uncompressed, the same diffIDs and config compressed', async () => {
    const ref = `containers-storage:${spec}gz:1`;
    const out = (name: string) => path.join(dir, name);
    // Uncompressed layers asked for: the manifest is the source's with its layers by diffID, byte for byte skopeo's.
    await ok(
      runFerry(['copy', '-q', '--dest-oci-accept-uncompressed-layers', ref, `oci:${out('ferry-plain')}:x`]),
      'ferry copy plain',
    );
    await ok(
      runSkopeo(['copy', '-q', '--dest-oci-accept-uncompressed-layers', ref, `oci:${out('skopeo-plain')}:x`]),
      'skopeo copy plain',
    );
    const ferryPlain = await layoutManifest(out('ferry-plain'));
    const skopeoPlain = await layoutManifest(out('skopeo-plain'));
    // skopeo 1.9 keeps the source's `+gzip` media type on the uncompressed blobs (containers/image#1270);
    // Ferry writes the type of what it stores. Otherwise the bytes are skopeo's.
    assert.equal(
      ferryPlain.bytes.toString(),
      skopeoPlain.bytes
        .toString()
        .replaceAll('application/vnd.oci.image.layer.v1.tar+gzip', 'application/vnd.oci.image.layer.v1.tar'),
    );
    assert.deepEqual(
      ferryPlain.manifest.layers.map((l) => [l.digest, l.mediaType]),
      image.layers.map((l) => [l.diffID, 'application/vnd.oci.image.layer.v1.tar']),
    );
    for (const l of ferryPlain.manifest.layers) {
      const [a, b] = await Promise.all(
        [out('ferry-plain'), out('skopeo-plain')].map((d) => readFile(path.join(d, 'blobs/sha256', l.digest.slice(7)))),
      );
      assert.ok(a?.equals(b as Buffer), `layer ${l.digest} differs from skopeo's`);
      assert.notEqual(a?.readUInt16BE(0), 0x1f8b, `layer ${l.digest} is gzip-compressed`);
    }

    // The default: oci: compresses again (gzip bytes are the compressor's own; what they hold is the same).
    await ok(runFerry(['copy', '-q', ref, `oci:${out('ferry-gz')}:x`]), 'ferry copy');
    await ok(runSkopeo(['copy', '-q', ref, `oci:${out('skopeo-gz')}:x`]), 'skopeo copy');
    const ferryGz = await layoutManifest(out('ferry-gz'));
    const skopeoGz = await layoutManifest(out('skopeo-gz'));
    assert.equal(ferryGz.manifest.config.digest, skopeoGz.manifest.config.digest);
    assert.equal(ferryGz.manifest.config.digest, image.configDigest);
    assert.deepEqual(
      ferryGz.manifest.layers.map((l) => l.mediaType),
      skopeoGz.manifest.layers.map((l) => l.mediaType),
    );
    assert.deepEqual(
      await diffIDs(out('ferry-gz'), ferryGz.manifest),
      await diffIDs(out('skopeo-gz'), skopeoGz.manifest),
    );
    // Ferry's export reads back: skopeo inspects it, and its layers decompress to the diffIDs (skopeo copy verifies them).
    await ok(runSkopeo(['copy', '-q', `oci:${out('ferry-gz')}:x`, `dir:${out('ferry-gz-check')}`]), 'skopeo reads it');
  });

  test('ferry copy to a registry: the layers pushed compressed, their content the stored diffIDs', async () => {
    const dest = `docker://${registry.host}/cs/gz:1`;
    await ok(
      runFerry(['copy', '-q', '--dest-tls-verify=false', `containers-storage:${spec}gz:1`, dest]),
      'ferry copy to registry',
    );
    const raw = JSON.parse(
      await ok(runSkopeo(['inspect', '--raw', '--tls-verify=false', dest]), 'skopeo inspect --raw'),
    ) as OciManifest;
    assert.equal(raw.config.digest, image.configDigest);
    assert.deepEqual(
      raw.layers.map((l) => l.mediaType),
      image.layers.map(() => 'application/vnd.oci.image.layer.v1.tar+gzip'),
    );
    // skopeo pulls it back into a store: its layers' diffIDs are the original's.
    const back = `[vfs@${path.join(dir, 'back/root')}+${path.join(dir, 'back/run')}]`;
    await ok(
      runSkopeo(['copy', '-q', '--src-tls-verify=false', dest, `containers-storage:${back}gz:1`]),
      'skopeo pull',
    );
    const layers = JSON.parse(await readFile(path.join(dir, 'back/root/vfs-layers/layers.json'), 'utf8')) as {
      'diff-digest': string;
    }[];
    assert.deepEqual(layers.map((l) => l['diff-digest']).sort(), image.layers.map((l) => l.diffID).sort());
  });

  test('the manifest must change: refused with upstream words when digests are to be preserved or signatures kept', async (t) => {
    const ref = `containers-storage:${spec}gz:1`;
    const preserved = await runFerry(['copy', '-q', '--preserve-digests', ref, `oci:${path.join(dir, 'pd')}:x`]);
    assert.notEqual(preserved.code, 0);
    assert.match(
      preserved.stderr,
      /Copying this image would require changing layer representation, which we cannot do/,
    );

    if (!installed('gpg')) return t.skip('gpg is not installed');
    const gpg = await GpgHome.create(path.join(dir, 'gnupg'));
    try {
      const fpr = gpg.generateKey('cs-test@example.com', 'ed25519');
      const signedSpec = `[vfs@${path.join(dir, 'signed/root')}+${path.join(dir, 'signed/run')}]`;
      await ok(
        runSkopeo(
          [
            'copy',
            '-q',
            '--sign-by',
            fpr,
            `oci:${path.join(dir, 'gz-oci')}:rich`,
            `containers-storage:${signedSpec}s:1`,
          ],
          {
            env: gpg.env(),
          },
        ),
        'skopeo copy --sign-by',
      );
      const signedRef = `containers-storage:${signedSpec}s:1`;
      // dir: keeps signatures, and keeps layers as they come: only the change to diffIDs stands in the way.
      const ferry = await runFerry(['copy', '-q', signedRef, `dir:${path.join(dir, 'sig')}`]);
      const skopeo = await runSkopeo(['copy', '-q', signedRef, `dir:${path.join(dir, 'sig-skopeo')}`]);
      assert.notEqual(ferry.code, 0);
      assert.notEqual(skopeo.code, 0, 'skopeo copied a signed image changing its layers');
      assert.match(skopeo.stderr, /Copying this image would require changing layer representation/);
      assert.match(ferry.stderr, /Copying this image would require changing layer representation, which we cannot do/);
      await ok(
        runFerry(['copy', '-q', '--remove-signatures', signedRef, `dir:${path.join(dir, 'sig')}`]),
        'ferry copy --remove-signatures',
      );
      const copied = JSON.parse(await readFile(path.join(dir, 'sig/manifest.json'), 'utf8')) as OciManifest;
      assert.deepEqual(
        copied.layers.map((l) => l.digest),
        image.layers.map((l) => l.diffID),
      );
    } finally {
      gpg.close();
    }
  });
});
