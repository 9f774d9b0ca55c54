/**
 * Which image record a reference means (containers/image storage_reference.go resolveImage): a
 * bare name that is an ID prefix of exactly one image means that image; else the full name
 * (`docker.io/library/app:latest`) as one of an image's names; else, for `name@digest`, an image of
 * that repository whose manifest digests include the digest; else the ID (or unique ID prefix).
 * With both a name and an ID, the image must also carry a name of that repository.
 */
import { FerryError } from '../../errors.js';
import { parseNormalizedNamed } from '../../reference/reference.js';
import type { StorageLocation } from './location.js';
import type { ImageRecord } from './store.js';

function repoOf(name: string): string | undefined {
  try {
    return parseNormalizedNamed(name).name;
  } catch {
    return undefined;
  }
}

function matchesRepo(image: ImageRecord, repo: string): boolean {
  return (image.names ?? []).some((n) => repoOf(n) === repo);
}

/** Manifest digests an image answers to: its digest and those of its `manifest*` big data items. */
export function imageDigests(image: ImageRecord): string[] {
  const out = new Set<string>();
  if (image.digest !== undefined) out.add(image.digest);
  for (const [key, d] of Object.entries(image['big-data-digests'] ?? {})) if (key.startsWith('manifest')) out.add(d);
  return [...out];
}

function byIDOrPrefix(images: readonly ImageRecord[], id: string, what: string): ImageRecord | undefined {
  const exact = images.find((i) => i.id === id);
  if (exact !== undefined) return exact;
  const matches = images.filter((i) => i.id.startsWith(id));
  if (matches.length > 1) {
    throw new FerryError('AMBIGUOUS_IMAGE', `${what}: the ID prefix ${id} matches ${matches.length} images`, {
      details: { ids: matches.map((i) => i.id) },
    });
  }
  return matches[0];
}

export function resolveStorageImage(images: readonly ImageRecord[], ref: StorageLocation, what: string): ImageRecord {
  const notFound = () =>
    new FerryError('IMAGE_NOT_FOUND', `${what}: no such image in the store`, { details: { reference: what } });
  if (ref.maybeIdPrefix !== undefined) {
    const matches = images.filter((i) => i.id.startsWith(ref.maybeIdPrefix as string));
    if (matches.length === 1) return matches[0] as ImageRecord;
  }
  const named = ref.named;
  let image: ImageRecord | undefined;
  if (ref.id === undefined && named !== undefined) {
    const full = named.toString();
    image = images.find((i) => i.names?.includes(full));
    if (image === undefined && named.digest !== undefined) {
      image = images.find((i) => imageDigests(i).includes(named.digest as string) && matchesRepo(i, named.name));
    }
    if (image === undefined) throw notFound();
  } else if (ref.id !== undefined) {
    image = byIDOrPrefix(images, ref.id, what);
    if (image === undefined) throw notFound();
    if (named !== undefined && ref.maybeIdPrefix === undefined && !matchesRepo(image, named.name)) throw notFound();
  }
  if (image === undefined) throw notFound();
  if (named?.digest !== undefined && !imageDigests(image).includes(named.digest)) throw notFound();
  return image;
}
