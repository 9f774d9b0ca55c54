/**
 * The policy.json scopes of an image named by a Docker reference (containers/image
 * docker/policyconfiguration), shared by the transports whose images have such names (docker:,
 * docker-daemon:).
 */
import type { DockerReference } from '../../reference/reference.js';

/** The identity scopes match against: `name:tag` or `name@digest`. */
export function dockerReferenceIdentity(ref: DockerReference): string {
  return ref.toString();
}

/**
 * The scopes from most to least specific after the identity: the repository, each parent path
 * down to the host[:port], then `*.`-wildcards of the host's parent domains (IPv6 literals get none).
 */
export function dockerReferenceNamespaces(ref: DockerReference): string[] {
  const namespaces: string[] = [];
  let name = ref.name;
  for (;;) {
    namespaces.push(name);
    const slash = name.lastIndexOf('/');
    if (slash === -1) break;
    name = name.slice(0, slash);
  }
  // Then `*.`-wildcards of the host's parent domains; policy.json wildcards never carry a port.
  const host = ref.domain.replace(/:[0-9]+$/, '');
  if (!host.startsWith('[')) {
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      namespaces.push(`*${host.slice(dot)}`);
    }
  }
  return namespaces;
}
