/** Reading an oci-archive: the tar is extracted (safely) to a private temp dir, then read as `oci:`. */
import type { Digest } from '../../digest/digest.js';
import { type FerryError, isFerryError } from '../../errors.js';
import { invalidArchive } from '../tar/archive-error.js';
import { extractTarSafely } from '../tar/extract.js';
import { readArchive, statArchive } from '../tar/plain.js';
import type { BlobInfo, BlobStream, ImageSource, OciArchiveSourceOptions, RawManifest } from '../types.js';
import { layoutOptions, makeTempLayout, OverTempLayout, type TempLayout } from './layout.js';
import type { OciArchiveLocation } from './location.js';

/** The layout's complaint, about the archive rather than the temp dir it was extracted to. */
function notALayout(archive: string, dir: string, e: FerryError): FerryError {
  const why = e.message.replaceAll(`oci:${dir}: `, '').replaceAll(`${dir}/`, '');
  return invalidArchive(archive, `not an OCI image layout: ${why}`, e);
}

export class OciArchiveSource extends OverTempLayout<ImageSource> implements ImageSource {
  readonly reference: OciArchiveLocation;

  private constructor(reference: OciArchiveLocation, inner: ImageSource, layout: TempLayout) {
    super(inner, layout);
    this.reference = reference;
  }

  static async open(reference: OciArchiveLocation, options: OciArchiveSourceOptions = {}): Promise<OciArchiveSource> {
    const st = await statArchive(reference.path);
    const layout = await makeTempLayout(reference.image, options);
    try {
      await extractTarSafely(await readArchive(reference.path, st), layout.dir, reference.path, options.signal);
      const inner = await layout.reference.newImageSource(layoutOptions(options)).catch((e: unknown) => {
        throw isFerryError(e, 'INVALID_LAYOUT') ? notALayout(reference.path, layout.dir, e) : e;
      });
      return new OciArchiveSource(reference, inner, layout);
    } catch (e) {
      await layout.remove();
      throw e;
    }
  }

  get hasThreadSafeGetBlob(): boolean {
    return this.inner.hasThreadSafeGetBlob;
  }

  getManifest(instanceDigest?: Digest, signal?: AbortSignal): Promise<RawManifest> {
    return this.inner.getManifest(instanceDigest, signal);
  }

  getBlob(info: BlobInfo, signal?: AbortSignal): Promise<BlobStream> {
    return this.inner.getBlob(info, signal);
  }

  getSignatures(instanceDigest?: Digest, signal?: AbortSignal): Promise<Buffer[]> {
    return this.inner.getSignatures(instanceDigest, signal);
  }
}
