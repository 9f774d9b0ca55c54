/**
 * Test images for the containers-storage tests: layers made by GNU tar from directories built on
 * disk (owners, modes, links and whiteout files as a real build leaves them), put into an OCI layout.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, chown, link, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

export interface BuiltImage {
  manifestDigest: string;
  configDigest: string;
  layers: { digest: string; diffID: string; mediaType: string }[];
}

function tarOf(dir: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', [
      '--sort=name',
      '--numeric-owner',
      '--format=posix',
      '--pax-option=delete=atime,delete=ctime',
      '-C',
      dir,
      '-cf',
      '-',
      '.',
    ]);
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`tar: ${err}`))));
  });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function putBlob(layout: string, bytes: Buffer): Promise<string> {
  const d = sha(bytes);
  await mkdir(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(layout, 'blobs', 'sha256', d.slice(7)), bytes);
  return d;
}

/** Writes an OCI layout at `layout` holding one image, tagged `tag`, with a layer per directory. */
export async function buildOciImage(
  layout: string,
  tag: string,
  layerDirs: string[],
  options: { compression: 'gzip' | 'none'; cmd?: string[] },
): Promise<BuiltImage> {
  const layers: BuiltImage['layers'] = [];
  const descriptors: { mediaType: string; digest: string; size: number }[] = [];
  for (const dir of layerDirs) {
    const tar = await tarOf(dir);
    const blob = options.compression === 'gzip' ? gzipSync(tar) : tar;
    const mediaType =
      options.compression === 'gzip'
        ? 'application/vnd.oci.image.layer.v1.tar+gzip'
        : 'application/vnd.oci.image.layer.v1.tar';
    const digest = await putBlob(layout, blob);
    layers.push({ digest, diffID: sha(tar), mediaType });
    descriptors.push({ mediaType, digest, size: blob.length });
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(options.cmd ? { Cmd: options.cmd } : {}),
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
    }),
  );
  const configDigest = await putBlob(layout, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: descriptors,
    }),
  );
  const manifestDigest = await putBlob(layout, manifest);
  await writeFile(path.join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: manifestDigest,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  return { manifestDigest, configDigest, layers };
}

/**
 * The rich image's two layers, made under `dir`: a base with a file owned by 1000:1000, a symlink,
 * a hard link, a setuid file and directories to remove; an upper layer with a whiteout, an opaque
 * directory and a replaced file.
 */
export async function richLayerDirs(dir: string): Promise<string[]> {
  const base = path.join(dir, 'base');
  const upper = path.join(dir, 'upper');
  const f = async (p: string, text: string, mode = 0o644) => {
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, text);
    await chmod(p, mode);
  };
  await f(path.join(base, 'etc/hello'), 'hello\n');
  await link(path.join(base, 'etc/hello'), path.join(base, 'etc/hard'));
  await symlink('hello', path.join(base, 'etc/link'));
  await f(path.join(base, 'home/u/f'), 'user file\n', 0o600);
  await chown(path.join(base, 'home/u/f'), 1000, 1000);
  await chown(path.join(base, 'home/u'), 1000, 1000);
  await chmod(path.join(base, 'home/u'), 0o750);
  await f(path.join(base, 'usr/bin/suid'), '#!/bin/sh\n', 0o4755);
  await f(path.join(base, 'opq/old1'), 'old\n');
  await f(path.join(base, 'opq/sub/old2'), 'old\n');
  await f(path.join(base, 'gone'), 'to be removed\n');
  await f(path.join(base, 'etc/motd'), 'first\n');
  await f(path.join(upper, '.wh.gone'), '');
  await f(path.join(upper, 'opq/.wh..wh..opq'), '');
  await f(path.join(upper, 'opq/new'), 'new\n');
  await f(path.join(upper, 'etc/motd'), 'second\n');
  return [base, upper];
}
