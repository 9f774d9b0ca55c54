/**
 * The source as one copy reads it: each manifest and each manifest's signatures are read once. The
 * policy check, the no-op check (noop.ts) and the copy itself all ask for the chosen manifest and its
 * signatures; for a registry a signature read is lookaside GETs plus the sigstore attachment lookup.
 * Per copy (a new copy reads afresh). A read runs under its first caller's signal: the copy's, or for
 * a list's instances one that the copy's also aborts (list.ts). The callers still check what they get
 * against the digest they expect; a failed read (an aborted one included) is forgotten, so a later
 * caller asks again as it did without the memo.
 */
import type { Digest } from '../digest/digest.js';
import type { ImageSource, RawManifest } from '../transports/types.js';

/** `source` with getManifest and getSignatures memoized by instance; every other member forwarded. */
export function readOnce(source: ImageSource): ImageSource {
  const manifests = new Map<Digest | undefined, Promise<RawManifest>>();
  const signatures = new Map<Digest | undefined, Promise<Buffer[]>>();
  const { layerInfosForCopy: layers, listReferrers: referrers, getTaggedManifest: tagged, blobsCrossNetwork } = source;
  return {
    reference: source.reference,
    hasThreadSafeGetBlob: source.hasThreadSafeGetBlob,
    ...(blobsCrossNetwork === undefined ? {} : { blobsCrossNetwork }),
    getManifest: (instance, signal) => memo(manifests, instance, () => source.getManifest(instance, signal)),
    // A fresh array for each caller: none can change what another is given.
    getSignatures: async (instance, signal) => [
      ...(await memo(signatures, instance, () => source.getSignatures(instance, signal))),
    ],
    getBlob: (info, signal, cache) => source.getBlob(info, signal, cache),
    ...(layers === undefined ? {} : { layerInfosForCopy: layers.bind(source) }),
    ...(referrers === undefined ? {} : { listReferrers: referrers.bind(source) }),
    ...(tagged === undefined ? {} : { getTaggedManifest: tagged.bind(source) }),
    close: () => source.close(),
  };
}

function memo<T>(
  memos: Map<Digest | undefined, Promise<T>>,
  key: Digest | undefined,
  read: () => Promise<T>,
): Promise<T> {
  let p = memos.get(key);
  if (p === undefined) {
    p = read();
    memos.set(key, p);
    // Only an answer is kept: after an error (an abort included) the next caller reads again.
    p.catch(() => {
      if (memos.get(key) === p) memos.delete(key);
    });
  }
  return p;
}
