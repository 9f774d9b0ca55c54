import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { digestOf } from '../../src/digest/digest.js';
import { isFerryError } from '../../src/errors.js';
import { openImage } from '../../src/image/index.js';
import type { ImageReference, ImageSource, RawManifest } from '../../src/transports/types.js';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { withTempDir } from '../helpers/tmp.js';

/** A minimal read-only source over an OCI layout, so these tests need no real transport. */
function layoutReference(layout: string, tag: string): ImageReference {
  const ref: ImageReference = {
    transport: { name: 'fake', parseReference: () => ref },
    stringWithinTransport: () => `${layout}:${tag}`,
    toString: () => `fake:${layout}:${tag}`,
    dockerReference: () => undefined,
    policyConfigurationIdentity: () => '',
    policyConfigurationNamespaces: () => [],
    newImage: () => openImage(ref),
    newImageSource: async (): Promise<ImageSource> => ({
      reference: ref,
      hasThreadSafeGetBlob: true,
      async getManifest(instanceDigest?: Digest): Promise<RawManifest> {
        if (instanceDigest !== undefined) {
          const bytes = await readFile(blobPath(layout, instanceDigest));
          return { bytes, mimeType: '' };
        }
        const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
          manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
        };
        const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
        if (entry === undefined) throw new Error(`no tag ${tag}`);
        return { bytes: await readFile(blobPath(layout, entry.digest)), mimeType: entry.mediaType };
      },
      async getBlob(info) {
        const p = blobPath(layout, info.digest);
        return { stream: createReadStream(p), size: (await stat(p)).size };
      },
      getSignatures: async () => [],
      close: async () => {},
    }),
    newImageDestination: () => Promise.reject(new Error('read-only')),
    deleteImage: () => Promise.reject(new Error('read-only')),
  };
  return ref;
}

describe('Image', () => {
  it('inspects a single image with skopeo keys, in skopeo order', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 't', labels: { a: 'b' } });
      const image = await openImage(layoutReference(dir, 't'));
      try {
        const info = await image.inspect();
        assert.deepEqual(Object.keys(info), [
          'Digest',
          'RepoTags',
          'Created',
          'DockerVersion',
          'Labels',
          'Architecture',
          'Os',
          'Layers',
          'LayersData',
          'Env',
        ]);
        assert.equal(info.Digest, made.digest);
        assert.deepEqual(
          info.Layers,
          made.instances[0]?.layers.map((l) => l.digest),
        );
        assert.equal(info.Architecture, 'amd64');
        assert.equal(info.Os, 'linux');
        assert.equal(info.Created, '2024-01-01T00:00:00Z');
        assert.deepEqual(info.Labels, { a: 'b', 'ferry.synthetic.seed': '1000' });
        assert.equal(info.LayersData[0]?.MIMEType, 'application/vnd.oci.image.layer.v1.tar+gzip');
        assert.equal(info.LayersData[0]?.Annotations, null);
      } finally {
        await image.close();
      }
    });
  });

  it('reports the index digest and the chosen instance of a multi-platform image', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 'm', platforms: ['linux/amd64', 'linux/arm64/v8'] });
      const image = await openImage(layoutReference(dir, 'm'), { os: 'linux', architecture: 'arm64' });
      try {
        const info = await image.inspect();
        assert.equal(info.Digest, made.digest);
        assert.equal(info.Architecture, 'arm64');
        assert.equal(info.Variant, 'v8');
        assert.deepEqual(
          info.Layers,
          made.instances[1]?.layers.map((l) => l.digest),
        );
        const resolved = await image.resolve();
        assert.equal(resolved.instanceDigest, made.instances[1]?.digest);
        assert.deepEqual((await image.manifest()).bytes, made.bytes);
        assert.deepEqual(await image.config(), made.instances[1]?.config.bytes);
      } finally {
        await image.close();
      }
    });
  });

  it('rejects a config blob whose bytes do not match its digest', async () => {
    await withTempDir(async (dir) => {
      const made = await makeImage(dir, { tag: 't' });
      const configDigest = made.instances[0]?.config.digest ?? '';
      const original = await readFile(blobPath(dir, configDigest));
      await writeFile(blobPath(dir, configDigest), Buffer.from(original.toString().replace('amd64', 'arm64')));
      const image = await openImage(layoutReference(dir, 't'));
      try {
        await assert.rejects(image.config(), (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'));
      } finally {
        await image.close();
      }
    });
  });

  it('refuses to inspect an OCI artifact, naming its config type', async () => {
    await withTempDir(async (dir) => {
      await makeImage(dir, { tag: 't' });
      const config = Buffer.from('{}');
      await writeFile(blobPath(dir, digestOf(config)), config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.example.thing+json', digest: digestOf(config), size: 2 },
          layers: [],
        }),
      );
      await writeFile(blobPath(dir, digestOf(manifest)), manifest);
      const indexPath = path.join(dir, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: unknown[] };
      index.manifests.push({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: digestOf(manifest),
        size: manifest.length,
        annotations: { 'org.opencontainers.image.ref.name': 'art' },
      });
      await writeFile(indexPath, JSON.stringify(index));
      const image = await openImage(layoutReference(dir, 'art'));
      try {
        await assert.rejects(image.inspect(), /artifact with type "application\/vnd\.example\.thing\+json"/);
        assert.deepEqual(await image.config(), config);
      } finally {
        await image.close();
      }
    });
  });
});
