/** An OCI layout on disk as tar members (oci-layout, index.json, then blobs), to build hostile archives around. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TarMember, TarType } from './tar-build.js';

export async function layoutMembers(layout: string): Promise<TarMember[]> {
  const members: TarMember[] = [
    { name: 'oci-layout', data: await readFile(join(layout, 'oci-layout')) },
    { name: 'index.json', data: await readFile(join(layout, 'index.json')) },
    { name: 'blobs/', type: TarType.directory },
  ];
  for (const algorithm of (await readdir(join(layout, 'blobs'))).sort()) {
    members.push({ name: `blobs/${algorithm}/`, type: TarType.directory });
    for (const hex of (await readdir(join(layout, 'blobs', algorithm))).sort()) {
      members.push({ name: `blobs/${algorithm}/${hex}`, data: await readFile(join(layout, 'blobs', algorithm, hex)) });
    }
  }
  return members;
}
