/**
 * `containers-storage:` (a podman/CRI-O image store). Registered by name so that using it says
 * "not implemented yet" instead of "unknown transport".
 * policy.json: a placeholder parses no reference, so no image is ever decided under this transport's
 * scopes. Its reference, when it comes, inherits BaseImageReference's scope (only the transport's `""`)
 * until it states upstream's `[driver@graphroot]name[@id]` identity and namespaces.
 */
import { placeholderTransport } from '../registry.js';
import type { ImageTransport } from '../types.js';

export const CONTAINERS_STORAGE_TRANSPORT_NAME = 'containers-storage';

export const containersStorageTransport: ImageTransport = placeholderTransport(
  CONTAINERS_STORAGE_TRANSPORT_NAME,
  'a later release (reading and writing a containers/storage store is not supported yet)',
);
