/**
 * `containers-storage:` (a podman/CRI-O image store). Registered by name so that using it says
 * "not implemented yet" instead of "unknown transport".
 */
import { placeholderTransport } from '../registry.js';
import type { ImageTransport } from '../types.js';

export const CONTAINERS_STORAGE_TRANSPORT_NAME = 'containers-storage';

export const containersStorageTransport: ImageTransport = placeholderTransport(
  CONTAINERS_STORAGE_TRANSPORT_NAME,
  'a later release (reading and writing a containers/storage store is not supported yet)',
);
