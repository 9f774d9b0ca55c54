import { rootlessUserID } from '../util/rootless.js';

/**
 * The user a cache path is chosen for: the real one in the user namespace of a rootless
 * containers-storage command (util/rootless.ts), else the process's.
 */
export function cacheUserID(env: NodeJS.ProcessEnv): number | undefined {
  return rootlessUserID(env) ?? process.geteuid?.();
}
