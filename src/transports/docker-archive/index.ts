/** `docker-archive:` — images in `docker save` tar files. */
export { DockerArchiveDestination } from './destination.js';
export { DockerArchiveReader, type ManifestItem } from '../shared/docker-archive/reader.js';
export { listArchiveTags } from './tags.js';
export {
  DOCKER_ARCHIVE_TRANSPORT_NAME,
  DockerArchiveReference,
  dockerArchiveTransport,
  parseDockerArchiveReference,
} from './reference.js';
export { DockerArchiveSource } from './source.js';
