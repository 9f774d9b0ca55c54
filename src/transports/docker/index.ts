export {
  DOCKER_TRANSPORT_NAME,
  DockerImageReference,
  dockerTransport,
  parseDockerImageReference,
} from './reference.js';
