/** The `containers-storage:` transport: images in a containers/storage store (podman, buildah, CRI-O). */
export { StorageImageDestination } from './destination.js';
export {
  CONTAINERS_STORAGE_TRANSPORT_NAME,
  containersStorageTransport,
  parseStorageReference,
  StorageReference,
} from './reference.js';
export { StorageImageSource } from './source.js';
