/**
 * The tags of a registry repository (containers/image docker.GetRepositoryTags), read with the same
 * settings as the image source (credentials, auth files, TLS, registries.conf) so `list-tags` and
 * inspect's `RepoTags` see what a pull would see.
 */
import { FerryError } from '../../errors.js';
import type { DockerSourceOptions, ImageReference } from '../types.js';
import { DOCKER_TRANSPORT_NAME, DockerImageReference } from './reference.js';

export interface RepositoryTagsOptions extends DockerSourceOptions {
  /** `n=` page size asked of the registry (it may ignore it); the whole list is returned either way. */
  pageSize?: number;
}

/**
 * Every tag of the repository `ref` names, in the registry's order, following `Link` pagination.
 * The reference's own tag or digest is ignored.
 */
export async function getRepositoryTags(ref: ImageReference, options: RepositoryTagsOptions = {}): Promise<string[]> {
  if (!(ref instanceof DockerImageReference)) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `listing repository tags needs a ${DOCKER_TRANSPORT_NAME}:// reference, not ${ref.transport.name}: (${ref.toString()})`,
    );
  }
  const { openRegistryClient } = await import('./source.js');
  const client = await openRegistryClient(ref.ref, options);
  try {
    return await client.listTags(ref.ref.path, {
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } finally {
    await client.close();
  }
}
