/**
 * The scopes a Docker repository name falls in, as policy.json and registries.d look them up
 * (containers/image docker/policyconfiguration DockerReferenceNamespaces): one list serves both.
 */

/**
 * The namespaces of repository `name` (`host[:port]/path`), most specific first: the repository, each
 * parent path down to the host[:port], then `*.`-wildcards of the host's parent domains (never with a
 * port; none for an IPv6 literal). The reference itself (`name:tag`, `name@digest`) comes before them.
 */
export function dockerReferenceNamespaces(name: string): string[] {
  const namespaces: string[] = [];
  for (let n = name; ; ) {
    namespaces.push(n);
    const slash = n.lastIndexOf('/');
    if (slash === -1) break;
    n = n.slice(0, slash);
  }
  const domain = namespaces[namespaces.length - 1] as string;
  const host = domain.replace(/:[0-9]+$/, '');
  if (!host.startsWith('[')) {
    for (let dot = host.indexOf('.'); dot !== -1; dot = host.indexOf('.', dot + 1))
      namespaces.push(`*${host.slice(dot)}`);
  }
  return namespaces;
}
