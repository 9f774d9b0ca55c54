/**
 * Planning a sync as skopeo sync does (cmd/skopeo/sync.go, read for behaviour): which source images
 * (every tag of a docker repository, or the one tagged; every `dir:` image under a directory; the
 * images a YAML file selects) and the destination each lands at: `DEST/<last path component>` of the
 * source (`DEST/<whole source name>` when scoped) plus the suffix. Then Ferry's own narrowing: tag
 * include/exclude filters and a stable shard of the work.
 */
import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { FerryError } from '../errors.js';
import { parseDockerReference } from '../reference/reference.js';
import { getRepositoryTags } from '../transports/docker/index.js';
import { parseImageReference } from '../transports/registry.js';
import type { ImageOptions, ImageReference } from '../transports/types.js';
import { readSyncConfig, type SyncRegistryConfig } from './config.js';
import { parseSemverConstraint } from './semver.js';

export type SyncSourceKind = 'docker' | 'dir' | 'yaml';
export type SyncDestinationKind = 'docker' | 'dir';

/** `--shard INDEX/COUNT`: this worker's share, INDEX counted from 0. */
export interface SyncShard {
  index: number;
  count: number;
}

export interface SyncPlanOptions {
  sourceKind: SyncSourceKind;
  /** A docker repository or image (`registry/repo[:tag]`), a directory, or the YAML file's path. */
  source: string;
  destinationKind: SyncDestinationKind;
  /** A docker registry/namespace, or a directory. */
  destination: string;
  /** Settings for the source side (YAML registries override TLS, cert dir and credentials). */
  sourceOptions?: ImageOptions;
  scoped?: boolean;
  appendSuffix?: string;
  /** Only tags (docker) or image names (dir) matching one of these (JavaScript regular expressions). */
  includeTags?: string[];
  /** Never tags or image names matching one of these. */
  excludeTags?: string[];
  shard?: SyncShard;
  /**
   * Referrers travel with their subject (copy's `withReferrers`): the tags of the OCI referrers tag
   * schema and cosign's (`sha256-<hex>`, `sha256-<hex>.sig|.att|.sbom`) are then not images of their own.
   */
  withReferrers?: boolean;
  signal?: AbortSignal;
}

/** A tag of the referrers tag schema or of cosign's attachments, carried with its subject image. */
const ATTACHMENT_TAG = /^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$/;

/** One image to sync. */
export interface SyncPlanEntry {
  source: ImageReference;
  destination: ImageReference;
  /** The source settings for this image (per YAML registry). */
  sourceOptions: ImageOptions;
  /** What the shard hash reads: the source's repository and tag (or digest), or its path below a dir source. */
  key: string;
  /** Set when the source names its image by digest. */
  sourceDigest?: string;
}

export interface SyncPlan {
  entries: SyncPlanEntry[];
  /** Source images found before filters and sharding. */
  found: number;
}

function usage(message: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', message);
}

/** Which of `count` shards a key falls in: the first 48 bits of its SHA-256, so every run and machine agree. */
export function shardOf(key: string, count: number): number {
  const hash = createHash('sha256').update(key, 'utf8').digest();
  return hash.readUIntBE(0, 6) % count;
}

/** Parses `INDEX/COUNT` (0 ≤ INDEX < COUNT). */
export function parseShard(text: string): SyncShard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) {
    throw usage(`invalid shard "${text}": want INDEX/COUNT with 0 <= INDEX < COUNT (e.g. 0/4)`);
  }
  return { index, count };
}

function compileAll(patterns: string[] | undefined, what: string): RegExp[] {
  return (patterns ?? []).map((p) => {
    try {
      return new RegExp(p);
    } catch (e) {
      throw usage(`invalid ${what} regular expression "${p}": ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}

interface FoundImage {
  source: ImageReference;
  sourceOptions: ImageOptions;
  /** The destination suffix before scoping: the whole source name, or the path below the dir source. */
  suffix: string;
  key: string;
  /** What include/exclude filters read: the tag or digest, or the dir image's name. */
  filterText: string;
  sourceDigest?: string;
}

/** Every image of a docker repository (all its tags), or the one named. */
async function dockerImages(name: string, options: ImageOptions, signal?: AbortSignal): Promise<FoundImage[]> {
  let named: ReturnType<typeof parseDockerReference>;
  try {
    named = parseDockerReference(name);
  } catch (e) {
    throw usage(`invalid source repository "${name}": ${e instanceof Error ? e.message : String(e)}`);
  }
  if (named.tag !== undefined || named.digest !== undefined) return [dockerImage(named.toString(), options)];
  const repo = parseImageReference(`docker://${named.withDefaultTag().toString()}`);
  const tags = await getRepositoryTags(repo, { ...options, ...(signal === undefined ? {} : { signal }) });
  return tags.map((tag) => dockerImage(named.withTag(tag).toString(), options));
}

function dockerImage(full: string, sourceOptions: ImageOptions): FoundImage {
  const ref = parseImageReference(`docker://${full}`);
  const named = ref.dockerReference();
  const found: FoundImage = {
    source: ref,
    sourceOptions,
    suffix: full,
    key: full,
    filterText: named?.tag ?? named?.digest ?? '',
  };
  if (named?.digest !== undefined) found.sourceDigest = named.digest;
  return found;
}

/** Every `dir:` image (a directory holding manifest.json) under `base`, in name order; images are not searched inside. */
async function dirImages(path: string, base: ImageOptions): Promise<FoundImage[]> {
  let root: string;
  try {
    if (!(await stat(path)).isDirectory()) throw new Error('not a directory');
    root = await realpath(path);
  } catch (e) {
    throw usage(`invalid source directory "${path}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const found: FoundImage[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    if (entries.some((e) => e.isFile() && e.name === 'manifest.json')) {
      const rel = relative(root, dir).split('\\').join('/');
      // skopeo: a source that is itself an image lands as its own directory name.
      const suffix = rel === '' ? posix.basename(root) : rel;
      found.push({
        source: parseImageReference(`dir:${dir}`),
        sourceOptions: base,
        suffix,
        key: suffix,
        filterText: suffix,
      });
      return;
    }
    for (const e of entries) if (e.isDirectory()) await walk(join(dir, e.name));
  };
  await walk(root);
  return found;
}

/** The images a YAML source selects, registry by registry, in file order. */
async function yamlImages(file: string, base: ImageOptions, signal?: AbortSignal): Promise<FoundImage[]> {
  const found: FoundImage[] = [];
  for (const registry of await readSyncConfig(file)) {
    const options = registryOptions(base, registry);
    for (const [repo, refs] of registry.images) {
      const name = `${registry.registry}/${repo}`;
      if (refs.length === 0) {
        found.push(...(await dockerImages(name, options, signal)));
        continue;
      }
      for (const r of refs) {
        // As skopeo: a reference that parses as a digest is one, anything else is a tag.
        const sep = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(r) ? '@' : ':';
        found.push(dockerImage(`${parseRepository(name)}${sep}${r}`, options));
      }
    }
    for (const [repo, pattern] of registry.imagesByTagRegex) {
      const re = compileAll([pattern], `images-by-tag-regex ${repo}`)[0] as RegExp;
      const images = await dockerImages(parseRepository(`${registry.registry}/${repo}`), options, signal);
      found.push(...images.filter((i) => re.test(i.filterText)));
    }
    for (const [repo, constraint] of registry.imagesBySemver) {
      const c = parseSemverConstraint(constraint);
      const images = await dockerImages(parseRepository(`${registry.registry}/${repo}`), options, signal);
      found.push(...images.filter((i) => c.matches(i.filterText)));
    }
  }
  return found;
}

/** A repository name (no tag, no digest), normalised. */
function parseRepository(name: string): string {
  let named: ReturnType<typeof parseDockerReference>;
  try {
    named = parseDockerReference(name);
  } catch (e) {
    throw usage(`invalid repository "${name}": ${e instanceof Error ? e.message : String(e)}`);
  }
  if (named.tag !== undefined || named.digest !== undefined) throw usage(`"${name}" names an image, not a repository`);
  return named.name;
}

/** A YAML registry's settings over the command line's: its cert dir always (as skopeo), TLS and credentials when given. */
function registryOptions(base: ImageOptions, registry: SyncRegistryConfig): ImageOptions {
  const options: ImageOptions = { ...base };
  delete options.certDir;
  if (registry.certDir !== undefined && registry.certDir !== '') options.certDir = registry.certDir;
  if (registry.tlsVerify !== undefined) options.tlsVerify = registry.tlsVerify;
  if (registry.credentials !== undefined) {
    options.credentials = registry.credentials;
    delete options.noCreds;
    delete options.registryToken;
  }
  return options;
}

function destinationOf(found: FoundImage, options: SyncPlanOptions): ImageReference {
  const suffix = options.scoped === true ? found.suffix : posix.basename(found.suffix);
  const target = posix.join(options.destination, suffix) + (options.appendSuffix ?? '');
  try {
    return parseImageReference(options.destinationKind === 'docker' ? `docker://${target}` : `dir:${target}`);
  } catch (e) {
    throw usage(`cannot sync ${found.source.toString()} to "${target}": ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Lists the source images and their destinations; reads the source (tag lists), writes nothing. */
export async function planSync(options: SyncPlanOptions): Promise<SyncPlan> {
  if (options.sourceKind === 'dir' && options.destinationKind === 'dir') {
    throw usage("sync from 'dir' to 'dir' is not supported (as in skopeo): consider rsync");
  }
  const base = options.sourceOptions ?? {};
  let found: FoundImage[];
  if (options.sourceKind === 'docker') found = await dockerImages(options.source, base, options.signal);
  else if (options.sourceKind === 'dir') found = await dirImages(options.source, base);
  else found = await yamlImages(options.source, base, options.signal);
  if (found.length === 0 && options.sourceKind !== 'yaml')
    throw usage(`no images to sync found in "${options.source}"`);

  const include = compileAll(options.includeTags, 'include');
  const exclude = compileAll(options.excludeTags, 'exclude');
  const entries: SyncPlanEntry[] = [];
  for (const f of found) {
    if (include.length > 0 && !include.some((re) => re.test(f.filterText))) continue;
    if (exclude.some((re) => re.test(f.filterText))) continue;
    if (options.withReferrers === true && ATTACHMENT_TAG.test(f.filterText)) continue;
    if (options.shard !== undefined && shardOf(f.key, options.shard.count) !== options.shard.index) continue;
    const entry: SyncPlanEntry = {
      source: f.source,
      destination: destinationOf(f, options),
      sourceOptions: f.sourceOptions,
      key: f.key,
    };
    if (f.sourceDigest !== undefined) entry.sourceDigest = f.sourceDigest;
    entries.push(entry);
  }
  return { entries, found: found.length };
}
