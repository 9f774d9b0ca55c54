/**
 * A registry client for the repository a docker: reference names, with the settings its image source
 * and destination use (credentials, auth files, TLS, registries.conf's push location): for callers that
 * ask one cheap question of many tags (`sync` heads manifests) without opening an image each time.
 */
import { FerryError } from '../../errors.js';
import type { RegistryClient } from '../../registry-client/index.js';
import type { DockerDestinationOptions, ImageReference } from '../types.js';
import { DOCKER_TRANSPORT_NAME, DockerImageReference } from './reference.js';

/** The client and the repository path within it; close the client when done. */
export async function openDockerRepositoryClient(
  ref: ImageReference,
  options: DockerDestinationOptions = {},
): Promise<{ client: RegistryClient; repository: string }> {
  if (!(ref instanceof DockerImageReference)) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `a registry client needs a ${DOCKER_TRANSPORT_NAME}:// reference, not ${ref.transport.name}: (${ref.toString()})`,
    );
  }
  const { openRegistryClient } = await import('./source.js');
  return { client: await openRegistryClient(ref.ref, options), repository: ref.ref.path };
}
