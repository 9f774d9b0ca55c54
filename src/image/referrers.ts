/**
 * Listing the OCI 1.1 referrers of an image (distribution-spec v1.1 "Listing Referrers"): the
 * manifests whose `subject` is the image's manifest digest (the reference's digest, else the digest of
 * the manifest its tag names), through the source's listing (a registry's referrers API, or the
 * referrers tag schema when it has none).
 */
import type { Digest } from '../digest/digest.js';
import { FerryError, throwIfAborted } from '../errors.js';
import { manifestDigest } from '../manifest/digest.js';
import { getTransport, transportNames } from '../transports/registry.js';
import type { ImageOptions, ImageReference, ReferrersListing } from '../transports/types.js';
import { quoteInput } from '../util/quote.js';

export interface ListReferrersOptions extends ImageOptions {
  /** Only referrers of this artifact type. */
  artifactType?: string;
}

/** UNSUPPORTED_OPERATION: `ref`'s transport cannot list referrers; the message names the reference and those that can. */
function cannotListReferrers(ref: ImageReference): FerryError {
  const able = transportNames().filter((name) => getTransport(name)?.listsReferrers === true);
  return new FerryError(
    'UNSUPPORTED_OPERATION',
    `cannot list the referrers of ${quoteInput(ref.toString())}: the ${ref.transport.name} transport holds no referrers (only ${able.join(' and ')} images do)`,
    { details: { reference: ref.toString(), transport: ref.transport.name } },
  );
}

/**
 * The referrers of the image `ref` names. UNSUPPORTED_OPERATION, before any source is opened, for a
 * transport that cannot list them (ImageTransport.listsReferrers).
 */
export async function listReferrers(
  ref: ImageReference,
  options: ListReferrersOptions = {},
): Promise<ReferrersListing> {
  throwIfAborted(options.signal);
  if (ref.transport.listsReferrers !== true) throw cannotListReferrers(ref);
  const { artifactType, ...imageOptions } = options;
  const source = await ref.newImageSource(imageOptions);
  try {
    if (source.listReferrers === undefined) throw cannotListReferrers(ref);
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
