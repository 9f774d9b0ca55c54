/**
 * Reading a `docker save` archive: manifest.json lists the images ({Config, RepoTags, Layers}); the
 * archive is indexed once and members are read as byte ranges (containers/image docker/internal/tarfile).
 */
import { FerryError } from '../../../errors.js';
import { quoteInput } from '../../../util/quote.js';
import { field, isJSONObject } from '../../../manifest/json.js';
import { MAX_MANIFEST_SIZE } from '../../../manifest/limits.js';
import { type DockerReference, parseDockerReference } from '../../../reference/reference.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../../util/json-text.js';
import { openPlainTar, type PlainTar } from '../../tar/plain.js';
import { type TarEntry, TarIndex } from '../../tar/tar-index.js';

export const MANIFEST_FILE = 'manifest.json';
export const REPOSITORIES_FILE = 'repositories';

/** One image of manifest.json. */
export interface ManifestItem {
  config: string;
  repoTags: string[];
  layers: string[];
}

function invalid(path: string, why: string, cause?: unknown): FerryError {
  return new FerryError('INVALID_ARCHIVE', `invalid docker archive "${path}": ${why}`, { cause, details: { path } });
}

function stringArray(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) return undefined;
  return v as string[];
}

/** Parses manifest.json (Go field names match case-insensitively, as encoding/json does). */
export function parseManifestItems(bytes: Buffer, path: string): ManifestItem[] {
  const json = parseJSONText(bytes.toString('utf8'));
  // The problem names a line and column, never the text (which could be any file the archive links to).
  if (!json.ok) throw invalid(path, `${MANIFEST_FILE} is ${describeJSONSyntaxProblem(json.problem)}`);
  const parsed = json.value;
  if (!Array.isArray(parsed)) throw invalid(path, `${MANIFEST_FILE} is not a JSON array`);
  return parsed.map((item: unknown, i) => {
    if (!isJSONObject(item)) throw invalid(path, `${MANIFEST_FILE} item @${i} is not an object`);
    const config = field(item, 'Config');
    const repoTags = stringArray(field(item, 'RepoTags'));
    const layers = stringArray(field(item, 'Layers'));
    if (typeof config !== 'string' || config === '') throw invalid(path, `${MANIFEST_FILE} item @${i} has no Config`);
    if (repoTags === undefined) throw invalid(path, `${MANIFEST_FILE} item @${i}: RepoTags is not a list of strings`);
    if (layers === undefined) throw invalid(path, `${MANIFEST_FILE} item @${i}: Layers is not a list of strings`);
    return { config, repoTags, layers };
  });
}

export class DockerArchiveReader {
  /** The archive as given. */
  readonly path: string;
  readonly index: TarIndex;
  readonly items: readonly ManifestItem[];
  readonly #plain: PlainTar;

  private constructor(path: string, plain: PlainTar, index: TarIndex, items: ManifestItem[]) {
    this.path = path;
    this.#plain = plain;
    this.index = index;
    this.items = items;
  }

  /** Opens `path` (a plain or gzip/zstd-compressed tar, or a stream such as /dev/stdin). */
  static async open(path: string, tmpDir?: string, signal?: AbortSignal): Promise<DockerArchiveReader> {
    return DockerArchiveReader.fromPlainTar(await openPlainTar(path, tmpDir, signal), path, signal);
  }

  /**
   * Reads the archive in `plain` (`name`: what errors call it), which the reader then owns: close()
   * releases it, as does a failure here.
   */
  static async fromPlainTar(plain: PlainTar, name: string, signal?: AbortSignal): Promise<DockerArchiveReader> {
    try {
      const index = await TarIndex.build(plain.path, signal, name);
      const reader = new DockerArchiveReader(name, plain, index, []);
      const items = parseManifestItems(await reader.readMember(MANIFEST_FILE, MAX_MANIFEST_SIZE, signal), name);
      return new DockerArchiveReader(name, plain, index, items);
    } catch (e) {
      await plain.close();
      throw e;
    }
  }

  /** The regular file a member name designates (links followed), or INVALID_ARCHIVE when missing. */
  member(name: string): TarEntry {
    const entry = this.index.resolveFile(name);
    if (entry === undefined) throw invalid(this.path, `member ${quoteInput(name)} is missing`);
    return entry;
  }

  async readMember(name: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    return this.index.read(this.member(name), limit, signal);
  }

  /**
   * The image a reference designates: by tag (`ref`), by position (`sourceIndex`), or the only one.
   * IMAGE_NOT_FOUND when there is no match, AMBIGUOUS_IMAGE when several images and no selector.
   */
  chooseItem(ref: DockerReference | undefined, sourceIndex: number | undefined): ManifestItem {
    if (ref !== undefined) {
      const wanted = ref.toString();
      for (const [i, item] of this.items.entries()) {
        for (const tag of item.repoTags) {
          let parsed: DockerReference;
          try {
            parsed = parseDockerReference(tag);
          } catch (e) {
            throw invalid(this.path, `invalid tag ${quoteInput(tag)} in ${MANIFEST_FILE} item @${i}`, e);
          }
          if (parsed.toString() === wanted) return item;
        }
      }
      throw new FerryError('IMAGE_NOT_FOUND', `tag "${ref.familiar}" not found in docker archive "${this.path}"`, {
        details: { path: this.path, reference: wanted },
      });
    }
    if (sourceIndex !== undefined) {
      const item = this.items[sourceIndex];
      if (item === undefined) {
        throw new FerryError(
          'IMAGE_NOT_FOUND',
          `invalid source index @${sourceIndex} for docker archive "${this.path}": only ${this.items.length} images available`,
          { details: { path: this.path, sourceIndex } },
        );
      }
      return item;
    }
    if (this.items.length !== 1) {
      const [first] = this.items;
      if (first === undefined) throw invalid(this.path, `${MANIFEST_FILE} lists no images`);
      throw new FerryError(
        'AMBIGUOUS_IMAGE',
        `docker archive "${this.path}" holds more than one image (${this.items.length}): choose one with :NAME:TAG or :@N`,
        { details: { path: this.path, count: this.items.length } },
      );
    }
    return this.items[0] as ManifestItem;
  }

  /** Removes any temp copy of the archive. Safe to call twice. */
  async close(): Promise<void> {
    await this.#plain.close();
  }
}
