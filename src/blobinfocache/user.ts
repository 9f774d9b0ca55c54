/**
 * The user a cache path is chosen for. In the user namespace of a rootless containers-storage
 * command (src/cli/userns.ts) the process is uid 0; the user is still the real one, named by
 * `_CONTAINERS_ROOTLESS_UID` (as containers/storage rootless.GetRootlessUID reads it), trusted only
 * with `_CONTAINERS_USERNS_CONFIGURED` set. (config/paths.ts effectiveUserID says the same; the
 * import floors keep this room from importing it.)
 */
export function cacheUserID(env: NodeJS.ProcessEnv): number | undefined {
  const rootless = env._CONTAINERS_USERNS_CONFIGURED === undefined ? undefined : env._CONTAINERS_ROOTLESS_UID;
  return rootless !== undefined && /^\d+$/.test(rootless) ? Number(rootless) : process.geteuid?.();
}
