/**
 * The real user of a rootless containers-storage command's user namespace (src/cli/userns.ts): there
 * the process is uid 0, and `_CONTAINERS_ROOTLESS_UID` names the user (containers/storage
 * rootless.GetRootlessUID), trusted only with `_CONTAINERS_USERNS_CONFIGURED` set.
 */
export function rootlessUserID(env: Record<string, string | undefined>): number | undefined {
  if (env._CONTAINERS_USERNS_CONFIGURED === undefined) return undefined;
  const text = env._CONTAINERS_ROOTLESS_UID;
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const uid = Number(text);
  return Number.isSafeInteger(uid) ? uid : undefined;
}
