/**
 * Deleting an image from an OCI layout (containers/image oci/layout/oci_delete.go): the entry
 * leaves index.json (rewritten atomically first), then every blob no other remaining entry still
 * references is removed. References are counted through manifests and nested indexes.
 * Blobs in a shared blob directory are never deleted (other layouts may use them). All of it holds
 * index.json's lock, as a commit does: a writer committing meanwhile keeps its entry, and its blobs.
 */
import { rm } from 'node:fs/promises';
import { throwIfAborted } from '../../errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { withFileLock } from '../../util/lock.js';
import type { OciLayoutSourceOptions } from '../types.js';
import { selectDescriptor, serializeIndex } from './layout.js';
import type { OciLocation } from './location.js';
import { type BlobCounts, countDescriptor } from './references.js';
import { openLayout } from './source.js';

export async function deleteOciImage(ref: OciLocation, options: OciLayoutSourceOptions): Promise<void> {
  throwIfAborted(options.signal);
  const { paths } = await openLayout(ref, options);
  await withFileLock(paths.indexFile, () => deleteLocked(ref, options), options.signal);
}

async function deleteLocked(ref: OciLocation, options: OciLayoutSourceOptions): Promise<void> {
  const { paths, index } = await openLayout(ref, options);
  const { descriptor, position } = selectDescriptor(index, ref.image, ref.sourceIndex, ref.toString());

  const usedByImage: BlobCounts = new Map();
  await countDescriptor(paths, descriptor, usedByImage, false);
  const usedByAll: BlobCounts = new Map();
  for (const d of index.manifests) await countDescriptor(paths, d, usedByAll, d !== descriptor);

  const remaining = { ...index, manifests: index.manifests.filter((_, i) => i !== position) };
  throwIfAborted(options.signal);
  await writeFileAtomic(paths.indexFile, serializeIndex(remaining));

  for (const [digest, count] of usedByAll) {
    if (count - (usedByImage.get(digest) ?? 0) === 0) await rm(paths.localBlobPath(digest), { force: true });
  }
}
