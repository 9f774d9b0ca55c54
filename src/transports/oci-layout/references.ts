/**
 * Which blobs the entries of an index.json use: each entry itself, the config and layers of its
 * manifests, and, through nested indexes, those of every instance (counted, for garbage collection).
 */
import type { Digest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import { isJSONObject, type JSONObject } from '../../manifest/json.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../util/json-text.js';
import { readManifestFile } from '../shared/manifest-file.js';
import { descriptorDigest, type IndexDescriptor, type IndexFile, type LayoutPaths } from './layout.js';

export type BlobCounts = Map<Digest, number>;

/** Every blob the index's entries reference, best effort (unreadable manifests only count themselves). */
export async function referencedBlobs(paths: LayoutPaths, index: IndexFile): Promise<Set<Digest>> {
  const counts: BlobCounts = new Map();
  for (const d of index.manifests) await countDescriptor(paths, d, counts, false);
  return new Set(counts.keys());
}

/**
 * Adds the references of `d` (itself included) to `counts`. With `strict`, a manifest that cannot
 * be read aborts the deletion (its references would be unknown and blobs it uses could be lost);
 * without it (the image being deleted) an unreadable manifest only counts itself.
 */
export async function countDescriptor(
  paths: LayoutPaths,
  d: IndexDescriptor,
  counts: BlobCounts,
  strict: boolean,
): Promise<void> {
  const digest = descriptorDigest(d, paths.indexFile);
  bump(counts, digest);
  const mediaType = d.mediaType;
  const isManifest = mediaType === MediaType.OCI_MANIFEST || mediaType === MediaType.DOCKER_V2_SCHEMA2;
  const isIndex = mediaType === MediaType.OCI_INDEX || mediaType === MediaType.DOCKER_V2_LIST;
  if (!isManifest && !isIndex) return;
  let parsed: JSONObject | undefined;
  try {
    const bytes = await readManifestFile(paths.blobPath(digest), digest);
    if (bytes === undefined)
      throw new FerryError('INVALID_LAYOUT', `manifest ${digest} is missing from ${paths.blobRoot}`);
    const json = parseJSONText(bytes.toString('utf8'));
    if (!json.ok)
      throw new FerryError('INVALID_LAYOUT', `manifest ${digest} is ${describeJSONSyntaxProblem(json.problem)}`);
    const value = json.value;
    if (!isJSONObject(value)) throw new FerryError('INVALID_LAYOUT', `manifest ${digest} is not a JSON object`);
    parsed = value;
  } catch (e) {
    if (!strict) return;
    throw new FerryError(
      'INVALID_LAYOUT',
      `cannot delete: the references of ${digest} are unknown: ${(e as Error).message}`,
      { cause: e },
    );
  }
  if (isManifest) {
    for (const child of [parsed.config, ...(Array.isArray(parsed.layers) ? parsed.layers : [])]) {
      if (isJSONObject(child) && typeof child.digest === 'string')
        bump(counts, descriptorDigest(child as IndexDescriptor, digest));
    }
    return;
  }
  for (const child of Array.isArray(parsed.manifests) ? parsed.manifests : []) {
    if (isJSONObject(child) && typeof child.digest === 'string') {
      await countDescriptor(paths, child as IndexDescriptor, counts, strict);
    }
  }
}

function bump(counts: BlobCounts, digest: Digest): void {
  counts.set(digest, (counts.get(digest) ?? 0) + 1);
}
