/**
 * `ferry sync --with-referrers` between two real Distribution registries (2.8: no referrers API, so the
 * referrers tag schema): an image's OCI referrer and its cosign-style `.sig` tag travel with it, the
 * `sha256-<hex>` tags are not synced as images of their own, and a re-sync carries a referrer added
 * since (the per-tag digest skip is not taken with referrers).
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type Digest, digestOf, RegistryClient, referrersTag } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';

let work = '';
let src: TestRegistry;
let dst: TestRegistry;
let srcClient: RegistryClient;
let dstClient: RegistryClient;
let subject: { digest: Digest; size: number; mediaType: string };

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

async function pushBlob(bytes: Buffer): Promise<{ digest: Digest; size: number }> {
  const digest = digestOf(bytes);
  await srcClient.uploadBlob('app', Readable.from([bytes]), { digest, size: bytes.length });
  return { digest, size: bytes.length };
}

/** An artifact manifest (empty config, artifactType) for `subject`, or a plain one to put under a tag. */
async function artifact(artifactType: string, content: string, withSubject: boolean): Promise<Buffer> {
  const config = await pushBlob(Buffer.from('{}'));
  const layer = await pushBlob(Buffer.from(content));
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: EMPTY, digest: config.digest, size: config.size },
      layers: [{ mediaType: artifactType, digest: layer.digest, size: layer.size }],
      ...(withSubject ? { subject } : {}),
    }),
  );
}

async function has(client: RegistryClient, ref: string): Promise<Digest | undefined> {
  return (await client.headManifest('app', ref))?.digest;
}

function syncArgs(): string[] {
  return [
    'sync',
    '--src',
    'docker',
    '--dest',
    'docker',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--with-referrers',
    '--summary-format',
    'json',
    `${src.host}/app`,
    dst.host,
  ];
}

before(async () => {
  work = await makeTempDir('ferry-sync-referrers-');
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  await makeImage(join(work, 'oci'), { tag: 'v1', layers: 1, layerSize: 10_000, seed: 11 });
  ok(
    await runFerry(['copy', '-q', '--dest-tls-verify=false', `oci:${work}/oci:v1`, `docker://${src.host}/app:v1`]),
    'seed',
  );
  srcClient = await RegistryClient.create(src.host, { tlsVerify: false });
  dstClient = await RegistryClient.create(dst.host, { tlsVerify: false });
  const top = await srcClient.getManifest('app', 'v1');
  subject = { digest: top.digest, size: top.bytes.length, mediaType: top.mimeType };
});

after(async () => {
  await srcClient?.close();
  await dstClient?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('ferry sync --with-referrers', () => {
  it('carries a referrer and the cosign .sig tag with the image; the attachment tags are not images of their own', async () => {
    const sbom = await artifact('application/spdx+json', '{"spdx":"one"}', true);
    await srcClient.putManifest('app', digestOf(sbom), sbom, OCI_MANIFEST);
    const sigTag = `${referrersTag(subject.digest)}.sig`;
    const sig = await artifact('application/vnd.dev.cosign.artifact.sig.v1+json', 'signature', false);
    await srcClient.putManifest('app', sigTag, sig, OCI_MANIFEST);

    const r = ok(await runFerry(syncArgs()), 'sync --with-referrers');
    const summary = JSON.parse(r.stdout) as { copied: number; images: { source: string }[] };
    // v1 only: sha256-<hex> (the tag index) and sha256-<hex>.sig travel with v1, not as images.
    assert.equal(summary.copied, 1, r.stdout);
    assert.deepEqual(
      summary.images.map((i) => i.source),
      [`docker://${src.host}/app:v1`],
    );
    assert.equal(await has(dstClient, 'v1'), subject.digest);
    assert.equal(await has(dstClient, digestOf(sbom)), digestOf(sbom));
    assert.equal(await has(dstClient, sigTag), digestOf(sig));
    const index = JSON.parse((await dstClient.getManifest('app', referrersTag(subject.digest))).bytes.toString()) as {
      manifests: { digest: string }[];
    };
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [digestOf(sbom)],
    );
  });

  it('a re-sync carries a referrer added since, although the image itself is unchanged', async () => {
    const later = await artifact('application/vnd.example.attestation', '{"later":true}', true);
    await srcClient.putManifest('app', digestOf(later), later, OCI_MANIFEST);
    assert.equal(await has(dstClient, digestOf(later)), undefined);
    ok(await runFerry(syncArgs()), 'second sync --with-referrers');
    assert.equal(await has(dstClient, digestOf(later)), digestOf(later));
    assert.equal(await has(dstClient, 'v1'), subject.digest);
  });

  it('without --with-referrers, the attachment tags are synced as tags (as skopeo sync does)', async () => {
    const args = syncArgs().filter((a) => a !== '--with-referrers');
    const r = ok(await runFerry(args), 'sync');
    const summary = JSON.parse(r.stdout) as { images: { source: string }[] };
    const sources = summary.images.map((i) => i.source).sort();
    assert.ok(sources.includes(`docker://${src.host}/app:${referrersTag(subject.digest)}.sig`), sources.join('\n'));
  });
});
