/**
 * OCI 1.1 referrers in an OCI layout. The image-spec has no referrers API or fallback tag for a
 * layout: a referrer is one more manifest in index.json, found by its `subject`. As oras's OCI store
 * does (every manifest pushed gets an index.json entry; untagged ones without
 * `org.opencontainers.image.ref.name`), a referrer is listed untagged, and a cosign attachment
 * (`sha256-<hex>.sig`) under its tag as the ref name. Listing reads the manifests index.json names
 * (each bounded by the manifest size limit and checked against its digest) and keeps those whose
 * `subject` is the digest asked about.
 */
import type { Digest } from '../../digest/digest.js';
import { isDigest } from '../../digest/digest.js';
import type { Descriptor } from '../../manifest/descriptor.js';
import { MAX_MANIFEST_SIZE } from '../../manifest/limits.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { manifestSubject, referrerDescriptor } from '../../manifest/referrer.js';
import { readManifestFile } from '../shared/manifest-file.js';
import type { ReferrersListing } from '../types.js';
import { type IndexDescriptor, type IndexFile, type LayoutPaths, REF_NAME_ANNOTATION, refNameOf } from './layout.js';

/** The referrers of `subject` among the manifests index.json lists. */
export async function layoutReferrers(
  paths: LayoutPaths,
  index: IndexFile,
  subject: Digest,
  artifactType: string | undefined,
): Promise<ReferrersListing> {
  const manifests: Descriptor[] = [];
  const seen = new Set<string>();
  for (const entry of index.manifests) {
    const digest = entry.digest;
    if (seen.has(digest) || !isDigest(digest)) continue;
    seen.add(digest);
    if (entry.mediaType !== MediaType.OCI_MANIFEST && entry.mediaType !== MediaType.OCI_INDEX) continue;
    if (typeof entry.size === 'number' && entry.size > MAX_MANIFEST_SIZE) continue;
    const bytes = await readManifestFile(paths.blobPath(digest), digest);
    if (bytes === undefined || manifestSubject(bytes) !== subject) continue;
    const d = referrerDescriptor(bytes, entry.mediaType, digest);
    if (artifactType === undefined || d.artifactType === artifactType) manifests.push(d);
  }
  return { subject, manifests, source: 'layout', filtersApplied: false };
}

/** The index.json entry of a referrer (untagged) or of a cosign attachment (`tag` as its ref name). */
export function attachedEntry(bytes: Buffer, mimeType: string, digest: Digest, tag?: string): IndexDescriptor {
  const d = referrerDescriptor(bytes, mimeType, digest);
  const entry: IndexDescriptor = { mediaType: mimeType, digest, size: bytes.length };
  // Only a manifest's own artifactType is repeated (image-spec descriptor.md), not the config fallback.
  if (d.artifactType !== undefined && d.artifactType === artifactTypeField(bytes)) entry.artifactType = d.artifactType;
  if (tag !== undefined) entry.annotations = { [REF_NAME_ANNOTATION]: tag };
  return entry;
}

function artifactTypeField(bytes: Buffer): string | undefined {
  const v: unknown = (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>).artifactType;
  return typeof v === 'string' ? v : undefined;
}

/** The index.json entry that names `tag`. */
export function taggedEntry(index: IndexFile, tag: string): IndexDescriptor | undefined {
  return index.manifests.find((d) => refNameOf(d) === tag);
}
