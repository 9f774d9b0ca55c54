/** Hand-made tar archives for the archive transports' tests (small: built in memory). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack } from 'tar-stream';
import { isFerryError } from '../../../src/errors.js';

export interface Member {
  name: string;
  data?: Buffer | string;
  type?: 'file' | 'symlink' | 'link' | 'directory';
  linkname?: string;
}

function packOf(members: readonly Member[]): Readable {
  const p = pack();
  for (const m of members) {
    const type = m.type ?? 'file';
    if (type === 'file') p.entry({ name: m.name, mode: 0o644 }, m.data ?? '');
    else p.entry({ name: m.name, type, linkname: m.linkname, mode: type === 'directory' ? 0o755 : 0o777 });
  }
  p.finalize();
  return p as unknown as Readable;
}

/** Writes a tar of `members` to `path`. */
export async function writeTar(path: string, members: readonly Member[]): Promise<void> {
  await pipeline(packOf(members), createWriteStream(path));
}

/** A tar of `members`, in memory. */
export async function tarBytes(members: readonly Member[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of packOf(members)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

export interface HandImage {
  repoTags: string[];
  /** Layer tars (uncompressed). */
  layers: Buffer[];
  /** Label to tell images apart. */
  label: string;
  /** Override what is stored for a layer (e.g. gzip of the tar); digest/diffID stay the tar's. */
  storedLayers?: Buffer[];
}

export interface HandArchive {
  members: Member[];
  configs: Buffer[];
}

/** The members of a docker archive holding `images` (layers `<hex>.tar`, configs `<hex>.json`). */
export function dockerArchive(images: readonly HandImage[]): HandArchive {
  const members: Member[] = [];
  const configs: Buffer[] = [];
  const manifest = images.map((img) => {
    const diffIDs = img.layers.map((l) => sha256(l));
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Labels: { image: img.label } },
        rootfs: { type: 'layers', diff_ids: diffIDs },
      }),
    );
    configs.push(config);
    const configName = `${sha256(config).slice(7)}.json`;
    members.push({ name: configName, data: config });
    const layerNames = img.layers.map((l, i) => {
      const name = `${sha256(l).slice(7)}.tar`;
      members.push({ name, data: img.storedLayers?.[i] ?? l });
      return name;
    });
    return { Config: configName, RepoTags: img.repoTags, Layers: layerNames };
  });
  members.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return { members, configs };
}

/** A small layer tar with one file per entry of `files`. */
export function layerTar(files: Record<string, string>): Promise<Buffer> {
  return tarBytes(Object.entries(files).map(([name, data]) => ({ name, data })));
}

/**
 * Writes `members` as `sandbox/name`, expects `open(path)` to fail with UNSAFE_PATH naming `entry`,
 * and checks that nothing was written beside the archive or left in `tmpDir`. Removes the archive.
 */
export async function expectUnsafeArchive(
  open: (path: string) => Promise<unknown>,
  dirs: { sandbox: string; tmpDir: string },
  name: string,
  members: readonly Member[],
  entry: string,
): Promise<void> {
  const path = join(dirs.sandbox, name);
  await writeTar(path, members);
  await assert.rejects(open(path), (e) => isFerryError(e, 'UNSAFE_PATH') && e.message.includes(`"${entry}"`));
  assert.deepEqual((await readdir(dirs.sandbox)).sort(), [name]);
  assert.deepEqual(await readdir(dirs.tmpDir), []);
  await rm(path);
}
