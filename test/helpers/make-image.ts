/**
 * A deterministic synthetic OCI image layout generator for tests (same options → byte-identical
 * blobs and index.json on one machine). Layers are real tars (tar-stream: directories and files,
 * mtime fixed, uid/gid 0) whose file contents come from a seeded PRNG, compressed with gzip
 * (header mtime 0), zstd (zstd-napi) or not at all; they stream through temp files, never held whole.
 * The config has correct rootfs.diff_ids, history, architecture/os/variant; index.json gets one
 * entry for the tag (`org.opencontainers.image.ref.name`), an OCI index when several platforms are
 * asked for. Adding to an existing layout keeps its other tags; an entry with the same tag is replaced.
 * https://github.com/opencontainers/image-spec/blob/main/image-layout.md
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { type Header, type Pack, pack as tarPack } from 'tar-stream';
import { CompressStream } from 'zstd-napi';

export type MakeImageCompression = 'gzip' | 'zstd' | 'none';

export interface MakeImageOptions {
  /** index.json tag (`org.opencontainers.image.ref.name`); default `latest`. */
  tag?: string;
  /** Layers per image; default 2. */
  layers?: number;
  /** File-content bytes per layer; default 65536. */
  layerSize?: number;
  /** PRNG seed; default 1. Each platform's image uses `seed * 1000 + i`. */
  seed?: number;
  /** 0..1: fraction of each file that is pseudo-random (the rest repetitive text); default 0.5. */
  entropy?: number;
  /** `os/arch[/variant]` each; default `['linux/amd64']`. More than one → an OCI index. */
  platforms?: string[];
  compression?: MakeImageCompression;
  /** Written as an OCI index even with one platform. */
  forceIndex?: boolean;
  /** Extra config labels (beside `ferry.synthetic.seed`). */
  labels?: Record<string, string>;
  /** Config Env; default a PATH line. */
  env?: string[];
}

export interface MadeLayer {
  digest: string;
  size: number;
  diffID: string;
  mediaType: string;
}

export interface MadeInstance {
  platform: { os: string; architecture: string; variant?: string };
  /** Manifest digest, size and exact bytes. */
  digest: string;
  size: number;
  bytes: Buffer;
  config: { digest: string; size: number; bytes: Buffer };
  layers: MadeLayer[];
}

export interface MadeImage {
  tag: string;
  /** The tagged (top-level) manifest or index. */
  digest: string;
  size: number;
  mediaType: string;
  bytes: Buffer;
  instances: MadeInstance[];
}

export const MT = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;

const MTIME = new Date(1700000000 * 1000);
const CREATED = '2024-01-01T00:00:00Z';
const MAX_FILE = 4 * 1024 * 1024;
const REF_NAME = 'org.opencontainers.image.ref.name';

/** The path of a blob in an OCI layout. */
export function blobPath(layout: string, digest: string): string {
  const [algorithm, hex] = digest.split(':');
  return path.join(layout, 'blobs', algorithm ?? 'sha256', hex ?? '');
}

/** xorshift32: tiny, seedable, good enough to make incompressible test bytes. */
class Prng {
  private state: number;
  constructor(seed: number) {
    this.state = (seed ^ 0x9e3779b9) >>> 0 || 0x1234567;
  }
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    let x = this.state;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    this.state = x;
    return out;
  }
}

/** Passes bytes through while hashing and counting them. */
class Tap extends Transform {
  readonly hash: Hash = createHash('sha256');
  count = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.count += chunk.length;
    done(null, chunk);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function putBytes(layout: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const final = blobPath(layout, digest);
  if (!(await exists(final))) {
    const tmp = `${final}.tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, final);
  }
  return { digest, size: bytes.length };
}

function parsePlatform(s: string): MadeInstance['platform'] {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new Error(`make-image: bad platform "${s}" (want os/arch or os/arch/variant)`);
  }
  const [os = '', architecture = '', variant] = parts;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

function platformTag(p: MadeInstance['platform']): string {
  return [p.os, p.architecture, ...(p.variant === undefined ? [] : [p.variant])].join('/');
}

async function writeLayerTar(
  pack: Pack,
  rng: Prng,
  size: number,
  entropy: number,
  idx: number,
  tagText: string,
): Promise<void> {
  const add = (header: Partial<Header> & Pick<Header, 'name'>, body: Buffer = Buffer.alloc(0)): Promise<void> =>
    new Promise((resolve, reject) => {
      pack.entry({ mtime: MTIME, uid: 0, gid: 0, uname: '', gname: '', ...header }, body, (e) =>
        e ? reject(e) : resolve(),
      );
    });
  await add({ name: 'data/', type: 'directory', mode: 0o755 });
  await add({ name: `data/layer${idx}/`, type: 'directory', mode: 0o755 });
  let remaining = size;
  let n = 0;
  while (remaining > 0) {
    const fsize = Math.min(remaining, MAX_FILE);
    const rnd = Math.floor(fsize * entropy);
    const line = Buffer.from(
      `ferry synthetic ${tagText} layer ${idx} file ${n}: the quick brown fox jumps over the lazy dog\n`,
    );
    const text = Buffer.alloc(fsize - rnd);
    for (let i = 0; i < text.length; i += line.length) line.copy(text, i, 0, Math.min(line.length, text.length - i));
    await add(
      { name: `data/layer${idx}/file${n}.bin`, type: 'file', mode: 0o644 },
      Buffer.concat([rng.bytes(rnd), text]),
    );
    remaining -= fsize;
    n++;
  }
  if (size === 0) await add({ name: `data/layer${idx}/empty`, type: 'file', mode: 0o644 }, Buffer.alloc(0));
  pack.finalize();
}

async function makeLayer(
  layout: string,
  rng: Prng,
  o: Required<Pick<MakeImageOptions, 'layerSize' | 'entropy' | 'compression'>>,
  idx: number,
  tagText: string,
): Promise<MadeLayer> {
  const pack = tarPack();
  const raw = new Tap();
  const out = new Tap();
  const tmp = path.join(layout, 'blobs', 'sha256', `.tmp-layer-${process.pid}-${idx}-${Date.now()}`);
  const stages: NodeJS.ReadWriteStream[] = [raw];
  if (o.compression === 'gzip') stages.push(createGzip({ level: 6 }));
  if (o.compression === 'zstd') stages.push(new CompressStream({ compressionLevel: 3 }));
  stages.push(out);
  const writing = writeLayerTar(pack, rng, o.layerSize, o.entropy, idx, tagText);
  await Promise.all([writing, pipeline([pack as unknown as Readable, ...stages, createWriteStream(tmp)])]);
  const digest = `sha256:${out.hash.digest('hex')}`;
  const final = blobPath(layout, digest);
  if (await exists(final)) await rm(tmp);
  else await rename(tmp, final);
  return { digest, size: out.count, diffID: `sha256:${raw.hash.digest('hex')}`, mediaType: MT[o.compression] };
}

const compact = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** Creates (or adds to) an OCI layout at `layout` and returns what it wrote. */
export async function makeImage(layout: string, options: MakeImageOptions = {}): Promise<MadeImage> {
  const tag = options.tag ?? 'latest';
  const layers = options.layers ?? 2;
  const seed = options.seed ?? 1;
  const o = {
    layerSize: options.layerSize ?? 65536,
    entropy: options.entropy ?? 0.5,
    compression: options.compression ?? 'gzip',
  } as const;
  if (o.entropy < 0 || o.entropy > 1) throw new Error('make-image: entropy must be within 0..1');
  const platforms = (options.platforms ?? ['linux/amd64']).map(parsePlatform);
  if (platforms.length === 0) throw new Error('make-image: platforms is empty');

  await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');

  const instances: MadeInstance[] = [];
  for (const [i, platform] of platforms.entries()) {
    const imageSeed = seed * 1000 + i;
    const rng = new Prng(imageSeed);
    const made: MadeLayer[] = [];
    for (let l = 0; l < layers; l++) made.push(await makeLayer(layout, rng, o, l, platformTag(platform)));
    const config = {
      created: CREATED,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant === undefined ? {} : { variant: platform.variant }),
      config: {
        Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['/bin/sh'],
        WorkingDir: '/',
        Labels: { 'ferry.synthetic.seed': String(imageSeed), ...options.labels },
      },
      rootfs: { type: 'layers', diff_ids: made.map((l) => l.diffID) },
      history: made.map((_, l) => ({
        created: CREATED,
        created_by: `/bin/sh -c #(nop) ADD synthetic layer ${l} (seed ${imageSeed})`,
      })),
    };
    const configBytes = compact(config);
    const configBlob = await putBytes(layout, configBytes);
    const manifestBytes = compact({
      schemaVersion: 2,
      mediaType: MT.manifest,
      config: { mediaType: MT.config, digest: configBlob.digest, size: configBlob.size },
      layers: made.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    });
    const manifestBlob = await putBytes(layout, manifestBytes);
    instances.push({
      platform,
      digest: manifestBlob.digest,
      size: manifestBlob.size,
      bytes: manifestBytes,
      config: { ...configBlob, bytes: configBytes },
      layers: made,
    });
  }

  let top: { mediaType: string; digest: string; size: number; bytes: Buffer };
  const only = instances[0];
  if (instances.length === 1 && only !== undefined && options.forceIndex !== true) {
    top = { mediaType: MT.manifest, digest: only.digest, size: only.size, bytes: only.bytes };
  } else {
    const bytes = compact({
      schemaVersion: 2,
      mediaType: MT.index,
      manifests: instances.map((m) => ({
        mediaType: MT.manifest,
        digest: m.digest,
        size: m.size,
        platform: m.platform,
      })),
    });
    top = { mediaType: MT.index, ...(await putBytes(layout, bytes)), bytes };
  }

  const indexPath = path.join(layout, 'index.json');
  let manifests: unknown[] = [];
  if (await exists(indexPath)) {
    const old = JSON.parse(await readFile(indexPath, 'utf8')) as {
      manifests?: { annotations?: Record<string, string> }[];
    };
    manifests = (old.manifests ?? []).filter((m) => m.annotations?.[REF_NAME] !== tag);
  }
  manifests.push({ mediaType: top.mediaType, digest: top.digest, size: top.size, annotations: { [REF_NAME]: tag } });
  const tmp = `${indexPath}.tmp-${process.pid}`;
  await writeFile(tmp, compact({ schemaVersion: 2, mediaType: MT.index, manifests }));
  await rename(tmp, indexPath);
  return { tag, ...top, instances };
}
