/**
 * Choosing the instance of a manifest list / OCI index for a platform, as containers/image does:
 * the wanted platforms come from overrides or the running machine (in Go's names), most specific
 * variant first; a Docker list gives the first entry matching the earliest wanted platform; an OCI
 * index also accepts entries without a platform (last), and among equals prefers zstd instances.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { FerryError } from '../errors.js';
import { escapeControl, quoteInput } from '../util/quote.js';
import type { Platform } from './blob-info.js';
import { MediaType } from './mediatypes.js';
import { ZSTD_INSTANCE_ANNOTATION } from './oci-index.js';
import type { ListInstance, ListManifest, PlatformWanted } from './types.js';

/** Node's `process.arch` in Go's GOARCH names. */
export function goArch(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    case 'ppc64':
      return endianness() === 'LE' ? 'ppc64le' : 'ppc64';
    case 'mipsel':
      return 'mipsle';
    default:
      return nodeArch; // arm, arm64, s390x, riscv64, loong64, mips have the same names
  }
}

/** Node's `process.platform` in Go's GOOS names. */
export function goOS(nodePlatform: string = process.platform): string {
  switch (nodePlatform) {
    case 'win32':
      return 'windows';
    case 'sunos':
      return 'solaris';
    default:
      return nodePlatform;
  }
}

/** The ARM variant from /proc/cpuinfo's "CPU architecture" (as Docker and containerd read it). */
export function armVariantFromCPUInfo(cpuinfo: string): string {
  for (const line of cpuinfo.split('\n')) {
    const [key, value] = line.split(':');
    if (value === undefined || key?.trim().toLowerCase() !== 'cpu architecture') continue;
    const v = value.trim().toLowerCase();
    if (v === '8' || v === 'aarch64') return 'v8';
    if (['7', '7m', '?(12)', '?(13)', '?(14)', '?(15)', '?(16)', '?(17)'].includes(v)) return 'v7';
    if (v === '6' || v === '6tej') return 'v6';
    if (['5', '5t', '5te', '5tej'].includes(v)) return 'v5';
    if (v === '4' || v === '4t') return 'v4';
    if (v === '3') return 'v3';
    return '';
  }
  return '';
}

let runtimeVariantCache: string | undefined;

function runtimeVariant(os: string, arch: string): string {
  if (os === 'windows') return arch === 'arm64' ? 'v8' : arch === 'arm' ? 'v7' : '';
  if (arch !== 'arm' && arch !== 'arm64') return '';
  if (runtimeVariantCache === undefined) {
    try {
      runtimeVariantCache = armVariantFromCPUInfo(readFileSync('/proc/cpuinfo', 'utf8'));
    } catch {
      runtimeVariantCache = '';
    }
  }
  return runtimeVariantCache;
}

/**
 * Known variants per architecture, most capable first, as containers/image's compatibility table
 * (32-bit arm includes v8). A Map: `--override-arch constructor` must find nothing.
 */
const VARIANT_ORDER: ReadonlyMap<string, readonly string[]> = new Map([
  ['arm', ['v8', 'v7', 'v6', 'v5']],
  ['arm64', ['v8']],
]);

/**
 * The platforms acceptable for `w`, best first. Unset fields come from the running machine; the
 * variant is only detected when the architecture is not overridden.
 */
export function wantedPlatforms(w: PlatformWanted = {}): Platform[] {
  const arch = w.architecture || goArch();
  let variant = w.architecture ? '' : runtimeVariant(goOS(), arch);
  if (w.variant) variant = w.variant;
  const os = w.os || goOS();
  let variants: string[];
  if (variant) {
    const order = VARIANT_ORDER.get(arch);
    const at = order ? order.indexOf(variant) : -1;
    variants = order && at >= 0 ? [...order.slice(at), ''] : [variant, ''];
  } else {
    // No variant wanted: a variant-less entry first, then any known variant, most capable first.
    variants = ['', ...(VARIANT_ORDER.get(arch) ?? [])];
  }
  return variants.map((v) => (v ? { os, architecture: arch, variant: v } : { os, architecture: arch }));
}

function matches(image: Platform, wanted: Platform): boolean {
  return (
    image.architecture === wanted.architecture &&
    image.os === wanted.os &&
    (image.variant ?? '') === (wanted.variant ?? '')
  );
}

/** A platform field for a message: it comes from a manifest or a flag, so escaped and cut. */
function field(s: string): string {
  return escapeControl(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/** `os/arch[/variant]` for messages. */
function platformString(p: Platform | undefined): string {
  if (!p) return '(no platform)';
  return `${field(p.os)}/${field(p.architecture)}${p.variant ? `/${field(p.variant)}` : ''}`;
}

/** The platforms of a list for a message: at most 20, then how many more. */
function platformList(instances: readonly ListInstance[]): string {
  if (instances.length === 0) return 'none';
  const shown = instances
    .slice(0, 20)
    .map((i) => platformString(i.platform))
    .join(', ');
  return instances.length > 20 ? `${shown} and ${instances.length - 20} more` : shown;
}

function isZstdInstance(i: ListInstance): boolean {
  return i.annotations?.[ZSTD_INSTANCE_ANNOTATION] === 'true';
}

export interface ChooseInstanceOptions {
  /** Prefer gzip instances over zstd ones of the same platform (default: prefer zstd, as upstream). */
  preferGzip?: boolean;
}

/** The instance of `list` to use for `w`; NO_MATCHING_PLATFORM names the wanted and available platforms. */
export function chooseInstance(
  list: ListManifest,
  w: PlatformWanted = {},
  options: ChooseInstanceOptions = {},
): ListInstance {
  const wanted = wantedPlatforms(w);
  const instances = list.instances();
  let best: { instance: ListInstance; rank: number; zstd: boolean } | undefined;
  if (list.mimeType === MediaType.OCI_INDEX) {
    for (const instance of instances) {
      let rank = Number.MAX_SAFE_INTEGER;
      if (instance.platform) {
        rank = wanted.findIndex((p) => matches(instance.platform as Platform, p));
        if (rank < 0) continue;
      }
      const zstd = isZstdInstance(instance);
      const better =
        best === undefined ||
        rank < best.rank ||
        (rank === best.rank && zstd !== best.zstd && zstd !== (options.preferGzip ?? false));
      if (better) best = { instance, rank, zstd };
    }
  } else {
    for (const p of wanted) {
      const found = instances.find((i) => matches(i.platform ?? { os: '', architecture: '' }, p));
      if (found) {
        best = { instance: found, rank: 0, zstd: false };
        break;
      }
    }
  }
  if (best) return best.instance;
  throw new FerryError(
    'NO_MATCHING_PLATFORM',
    `${noImageFound(list, wanted[0] as Platform)}; available: ${platformList(instances)}`,
    { details: { wanted, available: instances.map((i) => i.platform) } },
  );
}

/**
 * containers/image's words for a list without the wanted platform (its ChooseInstance of a Docker
 * list and of an OCI index): the most specific wanted platform, the variant quoted as Go's %q.
 */
function noImageFound(list: ListManifest, wanted: Platform): string {
  const where = list.mimeType === MediaType.OCI_INDEX ? 'image index' : 'manifest list';
  return `no image found in ${where} for architecture ${field(wanted.architecture)}, variant ${quoteInput(wanted.variant ?? '')}, OS ${field(wanted.os)}`;
}
