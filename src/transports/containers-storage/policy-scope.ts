/**
 * policy.json scopes of a containers-storage: image, as containers/image's storage transport
 * defines them (storage_reference.go PolicyConfigurationIdentity / PolicyConfigurationNamespaces):
 *
 *   identity:    [DRIVER@GRAPHROOT]NAME:TAG, [DRIVER@GRAPHROOT]NAME:TAG@ID, [DRIVER@GRAPHROOT]@ID
 *   namespaces:  [DRIVER@GRAPHROOT]NAME:TAG (when the identity has an @ID), [DRIVER@GRAPHROOT]NAME:TAG
 *                for NAME:TAG@DIGEST, then [DRIVER@GRAPHROOT]REPO and each parent path of REPO
 *                (docker.io/library/app, docker.io/library, docker.io), then [DRIVER@GRAPHROOT],
 *                then [GRAPHROOT]
 *
 * The store is the one the reference resolves to (storage.conf fills in what the brackets leave
 * out; the run root and options are not part of a scope). Upstream expands a short ID prefix at
 * parse time against the store: so does this, reading images.json (an ID prefix that matches no
 * single image is scoped as the name it also is, or as written).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageLocation } from './location.js';
import { resolveStoreSpec } from './store-spec.js';

const MAX_IMAGES_JSON = 64 * 1024 * 1024;

function storeScope(ref: StorageLocation): { withDriver: string; driverless: string } {
  const { driver, graphRoot } = resolveStoreSpec(ref.store);
  return { withDriver: `[${driver}@${graphRoot}]`, driverless: `[${graphRoot}]` };
}

/** The full ID of the one image whose ID starts with `prefix`, else undefined (unreadable store included). */
function expandIDPrefix(ref: StorageLocation, prefix: string): string | undefined {
  try {
    const { driver, graphRoot } = resolveStoreSpec(ref.store);
    const path = join(graphRoot, `${driver}-images`, 'images.json');
    const text = readFileSync(path, 'utf8');
    if (text.length > MAX_IMAGES_JSON) return undefined;
    const images = JSON.parse(text) as unknown;
    if (!Array.isArray(images)) return undefined;
    const ids = images
      .map((i: unknown) => (i !== null && typeof i === 'object' ? (i as { id?: unknown }).id : undefined))
      .filter((id): id is string => typeof id === 'string' && id.startsWith(prefix));
    return ids.length === 1 ? ids[0] : undefined;
  } catch {
    return undefined;
  }
}

/** The name and ID the reference stands for after upstream's parse-time ID prefix expansion. */
function effective(ref: StorageLocation): { named: StorageLocation['named']; id: string | undefined } {
  if (ref.maybeIdPrefix !== undefined) {
    const id = expandIDPrefix(ref, ref.maybeIdPrefix);
    if (id !== undefined) return { named: undefined, id };
  }
  if (ref.id !== undefined && ref.idIsPrefix) return { named: ref.named, id: expandIDPrefix(ref, ref.id) ?? ref.id };
  return { named: ref.named, id: ref.id };
}

export function storagePolicyIdentity(ref: StorageLocation): string {
  const { named, id } = effective(ref);
  return `${storeScope(ref).withDriver}${named?.toString() ?? ''}${id === undefined ? '' : `@${id}`}`;
}

export function storagePolicyNamespaces(ref: StorageLocation): string[] {
  const { withDriver, driverless } = storeScope(ref);
  const { named, id } = effective(ref);
  const out: string[] = [];
  if (named !== undefined) {
    if (id !== undefined) out.push(`${withDriver}${named.toString()}`);
    if (named.tag !== undefined && named.digest !== undefined) out.push(`${withDriver}${named.name}:${named.tag}`);
    const components = named.name.split('/');
    for (let n = components.length; n > 0; n--) out.push(`${withDriver}${components.slice(0, n).join('/')}`);
  }
  out.push(withDriver, driverless);
  return out;
}
