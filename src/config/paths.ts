/** Where per-user configuration lives, resolved from an environment map (tests pass their own). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootlessUserID } from '../util/rootless.js';

export type Env = Record<string, string | undefined>;

/** `$HOME`, else the OS's idea of the home directory. */
export function homeDir(env: Env): string {
  return env.HOME || homedir();
}

/** `${XDG_CONFIG_HOME:-~/.config}`. */
export function configHome(env: Env): string {
  return env.XDG_CONFIG_HOME || join(homeDir(env), '.config');
}

/** True for the errors that mean "there is no such file" (missing, or a path component is a file). */
export function isMissingFile(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * The user this process acts for: the process's uid, except in a rootless user namespace made for
 * containers-storage (src/cli/userns.ts), where the process is uid 0 and `_CONTAINERS_ROOTLESS_UID`
 * names the real user (containers/storage rootless.GetRootlessUID).
 */
export function effectiveUserID(env: Env = process.env): number | undefined {
  return rootlessUserID(env) ?? process.getuid?.();
}
