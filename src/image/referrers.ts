/**
 * Listing the OCI 1.1 referrers of an image (distribution-spec v1.1 "Listing Referrers"): the
 * manifests whose `subject` is the image's manifest digest (the reference's digest, else the digest of
 * the manifest its tag names), through the source's listing (a registry's referrers API, or the
 * referrers tag schema when it has none).
 */
import type { Digest } from '../digest/digest.js';
import { FerryError, throwIfAborted } from '../errors.js';
import { manifestDigest } from '../manifest/digest.js';
import type { ImageOptions, ImageReference, ReferrersListing } from '../transports/types.js';

export interface ListReferrersOptions extends ImageOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
}

/** The referrers of the image `ref` names. UNSUPPORTED_OPERATION for a transport that cannot list them. */
export async function listReferrers(
  ref: ImageReference,
  options: ListReferrersOptions = {},
): Promise<ReferrersListing> {
  throwIfAborted(options.signal);
  const { artifactType, ...imageOptions } = options;
  const source = await ref.newImageSource(imageOptions);
  try {
    if (source.listReferrers === undefined) {
      throw new FerryError(
        'UNSUPPORTED_OPERATION',
        `listing referrers of ${ref.toString()}: transport ${ref.transport.name} has no referrers (only docker:// and oci: do)`,
      );
    }
    const named = ref.dockerReference()?.digest as Digest | undefined;
    const subject = named ?? manifestDigest((await source.getManifest(undefined, options.signal)).bytes);
    return await source.listReferrers(subject, {
      ...(artifactType === undefined ? {} : { artifactType }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } finally {
    await source.close();
  }
}
