/**
 * The layout of a docker archive as Ferry writes one (containers/image docker/internal/tarfile Writer):
 * `<hex>.tar` per layer and `<hex>.json` for the config, named by digest; then the legacy v1 entries,
 * `manifest.json` and `repositories`. `docker load` (and podman's) reads manifest.json wherever it is
 * in the tar, so a writer can stream layers first and write the metadata last.
 */
import { type Digest, digestHex } from '../../../digest/digest.js';
import { FerryError } from '../../../errors.js';
import type { BlobInfo } from '../../../manifest/blob-info.js';
import { goMarshal, isJSONObject } from '../../../manifest/json.js';
import { MediaType } from '../../../manifest/mediatypes.js';
import { Schema2Manifest } from '../../../manifest/schema2.js';
import { type DockerReference, parseDockerReference } from '../../../reference/reference.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../../util/json-text.js';
import type { TarWriter } from '../../tar/pack.js';
import { refuseInstance, refuseSignatures } from '../defaults.js';
import {
  LEGACY_CONFIG_FILE,
  LEGACY_LAYER_FILE,
  LEGACY_VERSION,
  LEGACY_VERSION_FILE,
  type LegacyLayer,
  legacyLayers,
} from './legacy.js';
import { MANIFEST_FILE, REPOSITORIES_FILE } from './reader.js';

/** Archive members are read-only, as docker and containers/image write them. */
export const MEMBER_MODE = 0o444;

export function layerFileName(digest: Digest): string {
  return `${digestHex(digest)}.tar`;
}

export function configFileName(digest: Digest): string {
  return `${digestHex(digest)}.json`;
}

/** The one image an archive destination was given: its config and layers, and the legacy entries derived from them. */
export interface ArchiveImage {
  configDigest: Digest;
  layerDigests: Digest[];
  legacy: LegacyLayer[];
}

/** The `name:tag` references to record: the reference's own, then `additionalTags`, without repeats. */
export function repoTagsFor(ref: DockerReference | undefined, additionalTags: readonly string[]): DockerReference[] {
  const tags: DockerReference[] = ref === undefined ? [] : [ref];
  for (const text of additionalTags) {
    let parsed: DockerReference;
    try {
      parsed = parseDockerReference(text).withDefaultTag();
    } catch (e) {
      throw new FerryError('INVALID_REFERENCE', `invalid additional tag "${text}": ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (parsed.digest !== undefined) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid additional tag "${text}": digest references are not supported`,
      );
    }
    if (!tags.some((t) => t.equals(parsed))) tags.push(parsed);
  }
  return tags;
}

/**
 * The image a manifest given to an archive destination describes (`what` names the destination):
 * it must be Docker schema 2, and its config (`configOf`) and layers (`hasBlob`) already stored.
 */
export function archiveImageOf(
  what: string,
  bytes: Buffer,
  configOf: (digest: Digest) => Buffer | undefined,
  hasBlob: (digest: Digest) => boolean,
): ArchiveImage {
  const json = parseJSONText(bytes.toString('utf8'));
  if (!json.ok) {
    const why = describeJSONSyntaxProblem(json.problem);
    throw new FerryError('INVALID_MANIFEST', `${what}: the manifest is ${why}`);
  }
  const parsed = json.value;
  if (!isJSONObject(parsed) || parsed.schemaVersion !== 2 || parsed.mediaType !== MediaType.DOCKER_V2_SCHEMA2) {
    throw new FerryError(
      'UNSUPPORTED_MANIFEST_TYPE',
      `${what}: unsupported manifest type, docker archives need a Docker schema 2 manifest`,
      { details: { supported: [MediaType.DOCKER_V2_SCHEMA2] } },
    );
  }
  const manifest = new Schema2Manifest(bytes);
  const configDigest = manifest.config.digest;
  const config = configOf(configDigest);
  if (config === undefined) {
    throw new FerryError('BLOB_NOT_FOUND', `${what}: config ${configDigest} was not stored before the manifest`);
  }
  const layerDigests = manifest.layers.map((l) => l.digest);
  for (const d of layerDigests) {
    if (!hasBlob(d)) throw new FerryError('BLOB_NOT_FOUND', `${what}: layer ${d} was not stored before the manifest`);
  }
  return { configDigest, layerDigests, legacy: legacyLayers(layerDigests, config) };
}

/**
 * What an archive destination (docker-archive:, docker-daemon:) holds so far: its blobs' sizes, the
 * configs among them, and the image once its manifest came. `what` names the destination in errors.
 */
export class ArchiveContents {
  readonly #what: string;
  readonly #sizes = new Map<Digest, number>();
  readonly #configs = new Map<Digest, Buffer>();
  #image: ArchiveImage | undefined;

  constructor(what: string) {
    this.#what = what;
  }

  sizeOf(digest: Digest): number | undefined {
    return this.#sizes.get(digest);
  }

  addBlob(digest: Digest, size: number): void {
    this.#sizes.set(digest, size);
  }

  addConfig(digest: Digest, bytes: Buffer): void {
    this.#sizes.set(digest, bytes.length);
    this.#configs.set(digest, bytes);
  }

  config(digest: Digest): Buffer | undefined {
    return this.#configs.get(digest);
  }

  /** tryReusingBlob: a blob already here (as a config, when one is asked for). */
  reusable(info: BlobInfo, isConfig: boolean): BlobInfo | undefined {
    const size = this.#sizes.get(info.digest);
    if (size === undefined || (isConfig && !this.#configs.has(info.digest))) return undefined;
    return { digest: info.digest, size };
  }

  /** putManifest: the one image, from a Docker schema 2 manifest whose blobs are all here. */
  putManifest(bytes: Buffer, instanceDigest: Digest | undefined, noLists: string): void {
    refuseInstance(this.#what, instanceDigest, noLists);
    this.#image = archiveImageOf(
      this.#what,
      bytes,
      (d) => this.#configs.get(d),
      (d) => this.#sizes.has(d),
    );
  }

  /** putSignatures: none is fine; any is refused (`why`), as is an instance (`noLists`). */
  putSignatures(signatures: readonly Buffer[], instanceDigest: Digest | undefined, noLists: string, why: string): void {
    refuseInstance(this.#what, instanceDigest, noLists);
    refuseSignatures(this.#what, signatures, why);
  }

  /** The image to commit; INVALID_ARGUMENT before putManifest. */
  image(): ArchiveImage {
    if (this.#image === undefined) {
      throw new FerryError('INVALID_ARGUMENT', `${this.#what}: commit called before putManifest`);
    }
    return this.#image;
  }
}

function byNameThenTag(a: DockerReference, b: DockerReference): number {
  const key = (r: DockerReference) => [r.familiarName, r.tag ?? ''];
  const [an, at] = key(a);
  const [bn, bt] = key(b);
  return an < bn ? -1 : an > bn ? 1 : at < bt ? -1 : at > bt ? 1 : 0;
}

/**
 * Writes what follows the layers and the config: the legacy v1 entries, `manifest.json` and
 * `repositories` (the archive's last members).
 */
export async function writeArchiveMetadata(
  tar: TarWriter,
  image: ArchiveImage,
  repoTags: readonly DockerReference[],
): Promise<void> {
  const legacyWritten = new Set<string>();
  for (const l of image.legacy) {
    if (legacyWritten.has(l.id)) continue;
    legacyWritten.add(l.id);
    await tar.addSymlink(`${l.id}/${LEGACY_LAYER_FILE}`, `../${layerFileName(l.layerDigest)}`);
    await tar.addBytes(`${l.id}/${LEGACY_VERSION_FILE}`, Buffer.from(LEGACY_VERSION), MEMBER_MODE);
    await tar.addBytes(`${l.id}/${LEGACY_CONFIG_FILE}`, l.json, MEMBER_MODE);
  }
  const item = {
    Config: configFileName(image.configDigest),
    RepoTags: repoTags.map((t) => `${t.familiarName}:${t.tag}`),
    Layers: image.layerDigests.map(layerFileName),
  };
  await tar.addBytes(MANIFEST_FILE, goMarshal([item]), MEMBER_MODE);
  // Null prototypes: an image named `constructor` must not reach Object (and add a member to it).
  const repositories: Record<string, Record<string, string>> = Object.create(null);
  const top = image.legacy.at(-1);
  // Go marshals maps with sorted keys.
  for (const t of top === undefined ? [] : [...repoTags].sort(byNameThenTag)) {
    const tags: Record<string, string> = repositories[t.familiarName] ?? Object.create(null);
    tags[t.tag as string] = (top as LegacyLayer).id;
    repositories[t.familiarName] = tags;
  }
  await tar.addBytes(REPOSITORIES_FILE, goMarshal(repositories), MEMBER_MODE);
}
