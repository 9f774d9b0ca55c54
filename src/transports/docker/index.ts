export {
  DOCKER_TRANSPORT_NAME,
  DockerImageReference,
  dockerTransport,
  parseDockerImageReference,
} from './reference.js';
export { getRepositoryTags, type RepositoryTagsOptions } from './tags.js';
export { openDockerRepositoryClient } from './client.js';
