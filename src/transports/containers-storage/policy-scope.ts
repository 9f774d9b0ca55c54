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
 * single image is scoped as the name it also is, or as written). The reference works its scopes out
 * once, on first use, and keeps them, as upstream's keeps what it resolved at parse time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageLocation } from './location.js';
import { type ResolvedStoreSpec, resolveStoreSpec } from './store-spec.js';

const MAX_IMAGES_JSON = 64 * 1024 * 1024;

/** A reference's policy.json identity and namespaces, worked out together (one reading of the store). */
export interface StoragePolicyScopes {
  identity: string;
  namespaces: readonly string[];
}

/** The full ID of the one image whose ID starts with `prefix`, else undefined (unreadable store included). */
function expandIDPrefix(store: ResolvedStoreSpec, prefix: string): string | undefined {
  try {
    const path = join(store.graphRoot, `${store.driver}-images`, 'images.json');
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
function effective(
  ref: StorageLocation,
  store: ResolvedStoreSpec,
): { named: StorageLocation['named']; id: string | undefined } {
  if (ref.maybeIdPrefix !== undefined) {
    const id = expandIDPrefix(store, ref.maybeIdPrefix);
    if (id !== undefined) return { named: undefined, id };
  }
  if (ref.id !== undefined && ref.idIsPrefix) return { named: ref.named, id: expandIDPrefix(store, ref.id) ?? ref.id };
  return { named: ref.named, id: ref.id };
}

/** `[DRIVER@GRAPHROOT]NAME:TAG[@ID]` and the namespaces above it, from one resolution of the store. */
export function storagePolicyScopes(ref: StorageLocation): StoragePolicyScopes {
  const store = resolveStoreSpec(ref.store);
  const withDriver = `[${store.driver}@${store.graphRoot}]`;
  const { named, id } = effective(ref, store);
  const namespaces: string[] = [];
  if (named !== undefined) {
    if (id !== undefined) namespaces.push(`${withDriver}${named.toString()}`);
    if (named.tag !== undefined && named.digest !== undefined)
      namespaces.push(`${withDriver}${named.name}:${named.tag}`);
    const components = named.name.split('/');
    for (let n = components.length; n > 0; n--) namespaces.push(`${withDriver}${components.slice(0, n).join('/')}`);
  }
  namespaces.push(withDriver, `[${store.graphRoot}]`);
  return { identity: `${withDriver}${named?.toString() ?? ''}${id === undefined ? '' : `@${id}`}`, namespaces };
}
