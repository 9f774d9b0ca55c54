/** `docker-daemon:` — images in a Docker daemon (or podman's Docker-compatible service), over the Engine API. */
export { DEFAULT_DAEMON_HOST, daemonHostOf, parseDaemonHost } from './client.js';
export { DockerDaemonDestination } from './destination.js';
export {
  DOCKER_DAEMON_TRANSPORT_NAME,
  DockerDaemonReference,
  dockerDaemonTransport,
  parseDockerDaemonReference,
} from './reference.js';
export { DockerDaemonSource } from './source.js';
