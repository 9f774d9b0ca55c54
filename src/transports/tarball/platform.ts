/**
 * The running machine as an OCI platform, in Go's names (runtime.GOARCH / runtime.GOOS), which is
 * what image configs and indexes use. https://github.com/opencontainers/image-spec/blob/main/config.md
 */
import { endianness } from 'node:os';
import type { Platform } from '../types.js';

const GO_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
  mips64: 'mips64',
  mips64el: 'mips64le',
  ppc: 'ppc',
  riscv64: 'riscv64',
  s390: 's390',
  s390x: 's390x',
};

const GO_OS: Readonly<Record<string, string>> = {
  win32: 'windows',
  sunos: 'solaris',
};

/** Node's `process.arch` / `process.platform` in Go's names; arm gets its variant (`v6`, `v7`). */
export function goPlatform(
  arch: string = process.arch,
  platform: string = process.platform,
  armVersion: unknown = (process.config.variables as Record<string, unknown>).arm_version,
): Platform {
  let architecture = GO_ARCH[arch] ?? arch;
  if (arch === 'ppc64') architecture = endianness() === 'LE' ? 'ppc64le' : 'ppc64';
  const result: Platform = { os: GO_OS[platform] ?? platform, architecture };
  if (arch === 'arm' && armVersion !== undefined && armVersion !== '' && armVersion !== 'default') {
    result.variant = `v${String(armVersion)}`;
  }
  return result;
}
