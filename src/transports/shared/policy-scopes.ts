/**
 * policy.json scopes of the transports whose images live at a path (dir:, oci:, oci-archive:):
 * the path made fully explicit, and its parent directories (containers/image
 * internal/explicitfilepath and each transport's PolicyConfigurationIdentity/Namespaces).
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathPolicyNamespaces } from '../../signature/policy/scopes.js';

/**
 * `path` absolute, with symlinks resolved (ResolvePathToFullyExplicit): an existing path is resolved
 * whole; a missing one through its parent, keeping its last name. When the parent is missing too
 * (containers/image refuses such a reference at parse time), the lexically absolute path.
 */
export function fullyExplicitPath(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return join(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** dir:'s namespaces: the parent directories of the image's resolved path, nearest first, without `/`. */
export function parentDirectoryScopes(resolvedPath: string): string[] {
  return pathPolicyNamespaces(resolvedPath);
}

/**
 * oci: and oci-archive:'s namespaces: the resolved layout directory (or archive file) itself, then its
 * parents, without `/`. The image name is in neither: `$dir:$name` and `$dir` can name the same image.
 */
export function pathAndParentScopes(resolvedPath: string): string[] {
  return resolvedPath === '/' ? [] : [resolvedPath, ...pathPolicyNamespaces(resolvedPath)];
}
