/**
 * The running machine as an OCI platform, in Go's names (runtime.GOARCH / runtime.GOOS), which is
 * what image configs use. https://github.com/opencontainers/image-spec/blob/main/config.md
 */
import { goArch, goOS } from '../../manifest/platform.js';
import type { Platform } from '../types.js';

/** Node's `process.arch` / `process.platform` in Go's names; arm gets its variant (`v6`, `v7`). */
export function goPlatform(
  arch: string = process.arch,
  platform: string = process.platform,
  armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version,
): Platform {
  const result: Platform = { os: goOS(platform), architecture: goArch(arch) };
  if (arch === 'arm' && armVersion !== undefined && armVersion !== '' && armVersion !== 'default') {
    result.variant = `v${String(armVersion)}`;
  }
  return result;
}
