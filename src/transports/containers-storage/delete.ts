/**
 * Deleting an image from a containers/storage store (containers/storage DeleteImage with commit,
 * as containers/image's storage reference calls it): the image record and its big data go, and so
 * do its layers, top down, while no other image (top or mapped layer), no other layer (as parent)
 * and no container needs them. An image a container uses is refused.
 */
import { rm } from 'node:fs/promises';
import { FerryError, throwIfAborted } from '../../errors.js';
import type { CallOptions } from '../types.js';
import type { StorageLocation } from './location.js';
import { removeLayerFiles } from './layer.js';
import { resolveStorageImage } from './resolve.js';
import { Store } from './store.js';

export async function deleteStorageImage(ref: StorageLocation, options: CallOptions): Promise<void> {
  throwIfAborted(options.signal);
  const what = ref.toString();
  const store = await Store.resolve(ref.store, what);
  const locks = await store.lock({ layers: 'write', images: 'write', containers: 'read' }, options.signal);
  const touched: string[] = [];
  try {
    const images = await store.readImages();
    const image = resolveStorageImage(images, ref, what);
    const containers = await store.readContainers();
    const user = containers.find((c) => c.image === image.id);
    if (user !== undefined) {
      throw new FerryError('UNSUPPORTED_OPERATION', `${what}: image ${image.id} is in use by container ${user.id}`, {
        details: { image: image.id, container: user.id },
      });
    }
    const remaining = images.filter((i) => i.id !== image.id);
    await store.writeImages(remaining);
    touched.push(store.imagesLock);
    await rm(store.imageDataDir(image.id), { recursive: true, force: true });

    let layers = await store.readLayers();
    const needed = new Set<string>();
    for (const i of remaining) {
      if (i.layer) needed.add(i.layer);
      for (const m of i['mapped-layers'] ?? []) needed.add(m);
    }
    for (const c of containers) if (c.layer) needed.add(c.layer);
    const removed: string[] = [];
    for (let id = image.layer; id !== undefined && id !== ''; ) {
      const layer = layers.find((l) => l.id === id);
      if (layer === undefined || needed.has(id) || layers.some((l) => l.parent === id)) break;
      layers = layers.filter((l) => l.id !== id);
      removed.push(id);
      id = layer.parent;
    }
    if (removed.length > 0) {
      await store.writeLayers(layers);
      touched.unshift(store.layersLock);
      for (const id of removed) await removeLayerFiles(store, id);
    }
  } finally {
    await locks.release(touched);
  }
}
