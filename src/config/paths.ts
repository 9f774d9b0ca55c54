/** Where per-user configuration lives, resolved from an environment map (tests pass their own). */
import { homedir } from 'node:os';
import { join } from 'node:path';

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
