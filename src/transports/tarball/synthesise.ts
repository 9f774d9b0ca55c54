/**
 * Builds the OCI config and manifest of an image made of layer tarballs, as containers/image's
 * tarball transport does, so that the same files give the same bytes (and digests) as skopeo.
 * https://github.com/opencontainers/image-spec/blob/main/config.md, manifest.md
 */
import { type Digest, digestHex, digestOf } from '../../digest/digest.js';
import { goMarshal, isJSONObject, sortedMap } from '../../manifest/json.js';
import { MediaType } from '../../manifest/mediatypes.js';
import type { Platform } from '../types.js';

/** What the source learnt about one layer file when it opened it. */
export interface TarballLayer {
  /** Digest and size of the file as it is (possibly compressed). */
  digest: Digest;
  size: number;
  mediaType: string;
  /** Digest of the decompressed tar. */
  diffID: Digest;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
}

export interface SynthesisedImage {
  config: Buffer;
  configDigest: Digest;
  manifest: Buffer;
  manifestDigest: Digest;
}

const DEFAULT_COMMENT = 'imported from tarball';

/** Config fields in the order Go's imgspecv1.Image marshals them; the template's other fields follow. */
const IMAGE_FIELDS = [
  'created',
  'author',
  'architecture',
  'os',
  'os.version',
  'os.features',
  'variant',
  'config',
  'rootfs',
  'history',
];

/** RFC 3339 with nanoseconds and trailing zeros trimmed, in UTC (Go's time.RFC3339Nano). */
export function rfc3339Nano(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = ns % 1_000_000_000n;
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = fraction.toString().padStart(9, '0').replace(/0+$/, '');
  return `${base}${digits === '' ? '' : `.${digits}`}Z`;
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0);
}

function historyComment(template: Record<string, unknown>): string {
  const history = template.history;
  if (Array.isArray(history) && isJSONObject(history[0])) {
    const comment = history[0].comment;
    if (typeof comment === 'string' && comment !== '') return comment;
  }
  return DEFAULT_COMMENT;
}

/**
 * The config: the template as a base; `created` (newest layer mtime), `architecture`, `os` (and an
 * arm `variant`) filled in when the template leaves them out; `rootfs` and `history` always synthesised.
 */
export function synthesiseConfig(
  layers: readonly TarballLayer[],
  template: Record<string, unknown>,
  platform: Platform,
): Record<string, unknown> {
  let newest = 0n; // bigint nanoseconds: Math.max does not take bigints
  for (const l of layers) if (l.mtimeNs > newest) newest = l.mtimeNs;
  const comment = historyComment(template);
  const filled: Record<string, unknown> = {
    ...template,
    created: present(template.created) ? template.created : rfc3339Nano(newest),
    architecture: present(template.architecture) ? template.architecture : platform.architecture,
    os: present(template.os) ? template.os : platform.os,
    config: present(template.config) ? template.config : {},
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffID) },
    history: layers.map((l) => ({
      created: rfc3339Nano(l.mtimeNs),
      created_by: `/bin/sh -c #(nop) ADD file:${digestHex(l.diffID)} in /`,
      comment,
    })),
  };
  if (!present(template.variant) && !present(template.architecture) && platform.variant !== undefined) {
    filled.variant = platform.variant;
  }
  const ordered: Record<string, unknown> = {};
  for (const key of IMAGE_FIELDS) if (present(filled[key]) || key === 'config') ordered[key] = filled[key];
  for (const key of Object.keys(template)) if (!IMAGE_FIELDS.includes(key)) ordered[key] = template[key];
  return ordered;
}

export function synthesiseImage(
  layers: readonly TarballLayer[],
  template: Record<string, unknown>,
  annotations: Record<string, string>,
  platform: Platform,
): SynthesisedImage {
  const config = goMarshal(synthesiseConfig(layers, template, platform));
  const configDigest = digestOf(config);
  // No top-level mediaType, like containers/image: the same files then give skopeo's manifest digest.
  const manifestObject: Record<string, unknown> = {
    schemaVersion: 2,
    config: { mediaType: MediaType.OCI_CONFIG, digest: configDigest, size: config.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const sorted = sortedMap(annotations);
  if (sorted !== undefined) manifestObject.annotations = sorted;
  const manifest = goMarshal(manifestObject);
  return { config, configDigest, manifest, manifestDigest: digestOf(manifest) };
}
