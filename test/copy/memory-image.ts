/** Small OCI images built in memory for the in-memory transport (layers are real gzip tars). */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import type { Digest } from '../../src/digest/digest.js';
import { emptyImage, type MemoryImage } from './memory-transport.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A one-file tar archive, built in memory. */
export async function tarOf(name: string, content: Buffer): Promise<Buffer> {
  const p = tarPack();
  p.entry({ name, mtime: new Date(0), uid: 0, gid: 0 }, content);
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface BuiltImage {
  manifest: Buffer;
  digest: Digest;
  config: Buffer;
  layers: { digest: Digest; tar: Buffer; gz: Buffer }[];
}

/** Adds an OCI image with `layerCount` gzip layers to `image`'s blobs; returns its parts (manifest not stored). */
export async function addOCIImage(
  image: MemoryImage,
  seed: string,
  layerCount = 2,
  platform = { os: 'linux', architecture: 'amd64' },
): Promise<BuiltImage> {
  const layers: BuiltImage['layers'] = [];
  for (let i = 0; i < layerCount; i++) {
    const tar = await tarOf(`file-${seed}-${i}`, Buffer.from(`${seed} layer ${i} `.repeat(2000 + i)));
    const gz = gzipSync(tar);
    layers.push({ digest: sha256(gz), tar, gz });
    image.blobs.set(sha256(gz), gz);
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      config: { Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
      history: layers.map((_, i) => ({ created_by: `layer ${i}` })),
    }),
  );
  image.blobs.set(sha256(config), config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER_GZIP, digest: l.digest, size: l.gz.length })),
    }),
  );
  return { manifest, digest: sha256(manifest), config, layers };
}

/** A memory image holding one OCI image as its top-level manifest. */
export async function singleImage(seed = 'a', layerCount = 2): Promise<{ image: MemoryImage; built: BuiltImage }> {
  const image = emptyImage();
  const built = await addOCIImage(image, seed, layerCount);
  image.manifests.set('top', { bytes: built.manifest, mimeType: OCI_MANIFEST });
  return { image, built };
}

/** A memory image holding an OCI index over one image per platform. */
export async function indexImage(
  platforms: { os: string; architecture: string }[],
): Promise<{ image: MemoryImage; index: Buffer; instances: BuiltImage[] }> {
  const image = emptyImage();
  const instances: BuiltImage[] = [];
  for (const p of platforms) {
    const built = await addOCIImage(image, `${p.os}-${p.architecture}`, 2, p);
    image.manifests.set(built.digest, { bytes: built.manifest, mimeType: OCI_MANIFEST });
    instances.push(built);
  }
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: instances.map((b, i) => ({
        mediaType: OCI_MANIFEST,
        digest: b.digest,
        size: b.manifest.length,
        platform: platforms[i],
      })),
    }),
  );
  image.manifests.set('top', { bytes: index, mimeType: OCI_INDEX });
  return { image, index, instances };
}
