/** `docker-archive:` — images in `docker save` tar files. */
export { DockerArchiveDestination } from './destination.js';
export { DockerArchiveReader, listArchiveTags, type ManifestItem } from './reader.js';
export {
  DOCKER_ARCHIVE_TRANSPORT_NAME,
  DockerArchiveReference,
  dockerArchiveTransport,
  parseDockerArchiveReference,
} from './reference.js';
export { DockerArchiveSource } from './source.js';
