/** Generators for the archive corpus: docker-archive members around a layer, and compression bombs. */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import type * as ZstdNapi from 'zstd-napi';
import { END_OF_ARCHIVE, fileHeader, type TarMember, tarOf } from './tar-build.js';

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export interface DockerArchiveParts {
  config: TarMember;
  layer: TarMember;
  manifest: TarMember;
}

/**
 * The members of a one-image docker archive: `stored` is the layer member's bytes, `diffID` what the
 * config says it decompresses to; `names` overrides what manifest.json points at.
 */
export function dockerArchiveParts(
  stored: Buffer,
  diffID: string,
  names: { config?: string; layer?: string } = {},
): DockerArchiveParts {
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [diffID] } }),
  );
  const configName = `${sha256(config).slice(7)}.json`;
  const layerName = `${diffID.slice(7)}/layer.tar`;
  const manifest = [{ Config: names.config ?? configName, RepoTags: ['corpus:1'], Layers: [names.layer ?? layerName] }];
  return {
    config: { name: configName, data: config },
    layer: { name: layerName, data: stored },
    manifest: { name: 'manifest.json', data: JSON.stringify(manifest) },
  };
}

/** A small, valid layer tar. */
export function smallLayer(): Buffer {
  return tarOf([{ name: 'etc/hello', data: 'hello from the corpus\n' }]);
}

const UNIT = 64 * 1024 * 1024;

/** gzip members of 64 MiB of zeros each, concatenated: about 64 KiB per 64 MiB it expands to. */
export function gzipBomb(expandsTo: number): Buffer {
  const one = gzipSync(Buffer.alloc(UNIT), { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(expandsTo / UNIT) }, () => one));
}

/** zstd frames of 64 MiB of zeros each, concatenated: a few KiB per 64 MiB. */
export function zstdBomb(expandsTo: number): Buffer {
  const { compress } = createRequire(import.meta.url)('zstd-napi') as typeof ZstdNapi;
  const one = compress(Buffer.alloc(UNIT), { compressionLevel: 19 });
  return Buffer.concat(Array.from({ length: Math.ceil(expandsTo / UNIT) }, () => one));
}

/**
 * A compressed tar of `members` followed by a member `junk` of `junkSize` zeros, the compression
 * built from repeated parts so the bomb costs nothing to make.
 */
export function outerBomb(algorithm: 'gzip' | 'zstd', members: readonly TarMember[], junkSize: number): Buffer {
  const { compress } = createRequire(import.meta.url)('zstd-napi') as typeof ZstdNapi;
  const pack = (b: Buffer) => (algorithm === 'gzip' ? gzipSync(b) : compress(b));
  const head = tarOf(members).subarray(0, -END_OF_ARCHIVE.length);
  const zeros = algorithm === 'gzip' ? gzipBomb(junkSize) : zstdBomb(junkSize);
  return Buffer.concat([
    pack(head),
    pack(fileHeader('junk', Math.ceil(junkSize / UNIT) * UNIT)),
    zeros,
    pack(END_OF_ARCHIVE),
  ]);
}
