/**
 * Writing an oci-archive: an OCI layout is written to a private temp dir through the `oci:`
 * transport's destination; at commit it is packed (oci-layout, index.json, then blobs/ in name
 * order) into a temp file beside PATH and renamed over it.
 */
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { checkArchiveTarget, type TarWriter, writeTarFile } from '../tar/pack.js';
import type {
  BlobInfo,
  DestinationCapabilities,
  ImageDestination,
  OciArchiveDestinationOptions,
  PutBlobOptions,
  TryReusingBlobOptions,
} from '../types.js';
import { layoutOptions, makeTempLayout, OverTempLayout, type TempLayout } from './layout.js';
import type { OciArchiveLocation } from './location.js';

/** Members that lead the archive, as the layout spec lists them. */
const FIRST_MEMBERS = ['oci-layout', 'index.json'];

async function addTree(tar: TarWriter, root: string, rel: string): Promise<void> {
  const abs = join(root, rel);
  const st = await lstat(abs);
  if (st.isDirectory()) {
    if (rel !== '') await tar.addDirectory(`${rel}/`);
    const names = (await readdir(abs)).sort();
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (rel === '' && FIRST_MEMBERS.includes(name)) continue;
      await addTree(tar, root, child);
    }
  } else if (st.isSymbolicLink()) {
    await tar.addSymlink(rel, await readlink(abs));
  } else if (st.isFile()) {
    await tar.addFile(rel, abs, st.size);
  }
}

/** Packs the layout in `dir` into a tar at `target`, deterministically. */
async function packLayout(dir: string, target: string, signal?: AbortSignal): Promise<void> {
  await writeTarFile(
    target,
    async (tar) => {
      for (const name of FIRST_MEMBERS) {
        const st = await lstat(join(dir, name)).catch(() => undefined);
        if (st?.isFile()) await tar.addFile(name, join(dir, name), st.size);
      }
      await addTree(tar, dir, '');
    },
    signal,
  );
}

export class OciArchiveDestination extends OverTempLayout<ImageDestination> implements ImageDestination {
  readonly reference: OciArchiveLocation;

  private constructor(reference: OciArchiveLocation, inner: ImageDestination, layout: TempLayout) {
    super(inner, layout);
    this.reference = reference;
  }

  static async open(
    reference: OciArchiveLocation,
    options: OciArchiveDestinationOptions = {},
  ): Promise<OciArchiveDestination> {
    await checkArchiveTarget(reference.path);
    const layout = await makeTempLayout(reference.image, options);
    try {
      const inner = await layout.reference.newImageDestination(layoutOptions(options));
      return new OciArchiveDestination(reference, inner, layout);
    } catch (e) {
      await layout.remove();
      throw e;
    }
  }

  get capabilities(): DestinationCapabilities {
    return this.inner.capabilities;
  }

  putBlob(
    stream: Readable,
    info: { digest?: Digest; size: number; mediaType?: string },
    options: PutBlobOptions,
  ): Promise<BlobInfo> {
    return this.inner.putBlob(stream, info, options);
  }

  tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<BlobInfo | undefined> {
    return this.inner.tryReusingBlob(info, options);
  }

  putManifest(bytes: Buffer, instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    return this.inner.putManifest(bytes, instanceDigest, signal);
  }

  putSignatures(signatures: Buffer[], instanceDigest?: Digest, signal?: AbortSignal): Promise<void> {
    return this.inner.putSignatures(signatures, instanceDigest, signal);
  }

  async commit(signal?: AbortSignal): Promise<void> {
    if (this.closed)
      throw new FerryError('UNSUPPORTED_OPERATION', `${this.reference.toString()}: the destination is closed`);
    await this.inner.commit(signal);
    await packLayout(this.layout.dir, this.reference.path, signal);
  }
}
