/**
 * The bridge to the `oci:` transport: an OCI layout in a private temp dir, opened through the
 * transport registry (transports never import each other).
 */
import { rm } from 'node:fs/promises';
import { FerryError } from '../../errors.js';
import { getTransport } from '../registry.js';
import { makePrivateTempDir } from '../shared/temp-dir.js';
import type {
  ImageReference,
  OciArchiveDestinationOptions,
  OciLayoutDestinationOptions,
  SharedBlobDirOptions,
  TempDirOptions,
} from '../types.js';

export interface TempLayout {
  dir: string;
  /** `oci:` reference to the layout in `dir` with the archive's ref name. */
  reference: ImageReference;
  remove(): Promise<void>;
}

export async function makeTempLayout(image: string | undefined, options: TempDirOptions): Promise<TempLayout> {
  const oci = getTransport('oci');
  if (oci === undefined) {
    throw new FerryError('UNKNOWN_TRANSPORT', 'oci-archive: needs the "oci" transport, which is not registered');
  }
  const dir = await makePrivateTempDir(options.tmpDir, 'oci-archive');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const reference = oci.parseReference(image === undefined ? dir : `${dir}:${image}`);
    return { dir, reference, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/**
 * Options for the inner layout: a shared blob dir would keep blobs out of the archive, so it is
 * dropped (a caller holding a generic reference may have set it).
 */
export function layoutOptions(options: OciArchiveDestinationOptions): OciLayoutDestinationOptions {
  const { sharedBlobDir: _ignored, ...rest }: OciArchiveDestinationOptions & SharedBlobDirOptions = options;
  return rest;
}

/** What oci-archive's source and destination share: an inner `oci:` object over a temp layout. */
export abstract class OverTempLayout<T extends { close(): Promise<void> }> {
  protected readonly inner: T;
  protected readonly layout: TempLayout;
  #closed = false;

  protected constructor(inner: T, layout: TempLayout) {
    this.inner = inner;
    this.layout = layout;
  }

  protected get closed(): boolean {
    return this.#closed;
  }

  /** Closes the inner object and removes the temp layout. Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.inner.close();
    } finally {
      await this.layout.remove();
    }
  }
}
