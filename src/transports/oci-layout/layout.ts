/**
 * The OCI image layout on disk (image-spec image-layout.md): the `oci-layout` file, `index.json`,
 * and `blobs/<alg>/<encoded>` (or a shared blob directory holding `<alg>/<encoded>`).
 */
import { join } from 'node:path';
import { type Digest, digestAlgorithm, digestHex, parseDigest } from '../../digest/digest.js';
import { FerryError, isFerryError } from '../../errors.js';
import { isJSONObject, type JSONObject } from '../../manifest/json.js';
import { MAX_MANIFEST_SIZE } from '../../manifest/limits.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../../util/json-text.js';
import { describeValue, quoteMediaType } from '../../util/quote.js';
import { readFileLimited } from '../shared/files.js';

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const BLOBS_DIR = 'blobs';
export const LAYOUT_VERSION = '1.0.0';
/** The bytes Ferry writes to a new `oci-layout` file. */
export const LAYOUT_FILE_CONTENT = `{"imageLayoutVersion":"${LAYOUT_VERSION}"}`;
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** A descriptor in index.json; unknown members are kept as they are. */
export interface IndexDescriptor extends JSONObject {
  mediaType?: string;
  digest: string;
  /** Required by the spec; tolerated when missing (as Go's decoder does), then not checked. */
  size?: number;
  annotations?: Record<string, string>;
}

/** index.json; members other than `manifests` are kept as they are. */
export interface IndexFile extends JSONObject {
  schemaVersion: number;
  manifests: IndexDescriptor[];
}

/** Manifest media types an index.json entry may name for an image (newest containers/image also takes Docker ones). */
export function isImageEntryMediaType(mediaType: string | undefined): boolean {
  return (
    mediaType === MediaType.OCI_MANIFEST ||
    mediaType === MediaType.OCI_INDEX ||
    mediaType === MediaType.DOCKER_V2_SCHEMA2 ||
    mediaType === MediaType.DOCKER_V2_LIST
  );
}

export function refNameOf(d: IndexDescriptor): string | undefined {
  const name = d.annotations?.[REF_NAME_ANNOTATION];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** Paths inside one layout directory. */
export class LayoutPaths {
  constructor(
    readonly dir: string,
    /** `--shared-blob-dir`: blobs live in `<sharedBlobDir>/<alg>/<encoded>` instead. */
    readonly sharedBlobDir?: string,
  ) {}

  get layoutFile(): string {
    return join(this.dir, LAYOUT_FILE);
  }

  get indexFile(): string {
    return join(this.dir, INDEX_FILE);
  }

  /** The directory blobs are read from and written to (`blobs/` or the shared blob dir). */
  get blobRoot(): string {
    return this.sharedBlobDir ?? join(this.dir, BLOBS_DIR);
  }

  /** The layout's own `blobs/` directory (garbage collection only ever deletes there). */
  get localBlobRoot(): string {
    return join(this.dir, BLOBS_DIR);
  }

  blobPath(digest: Digest): string {
    return blobPathIn(this.blobRoot, digest);
  }

  localBlobPath(digest: Digest): string {
    return blobPathIn(this.localBlobRoot, digest);
  }
}

/** `<root>/<alg>/<encoded>`; the digest is validated first so that it can never climb out of `root`. */
export function blobPathIn(root: string, digest: Digest): string {
  const d = parseDigest(digest);
  return join(root, digestAlgorithm(d), digestHex(d));
}

/** Checks the `oci-layout` file: it must exist, be a JSON object, and have imageLayoutVersion 1.0.0. */
export async function checkLayoutFile(paths: LayoutPaths): Promise<'ok' | 'missing'> {
  const bytes = await readFileLimited(paths.layoutFile, MAX_MANIFEST_SIZE, paths.layoutFile);
  if (bytes === undefined) return 'missing';
  const parsed = parseLayoutJSON(bytes, paths.layoutFile);
  const version = isJSONObject(parsed) ? parsed.imageLayoutVersion : undefined;
  if (version !== LAYOUT_VERSION) {
    const shown =
      typeof version === 'string' && /^[0-9A-Za-z.+-]{1,32}$/.test(version) ? `"${version}"` : describeValue(version);
    throw new FerryError(
      'INVALID_LAYOUT',
      `${paths.layoutFile}: unsupported imageLayoutVersion ${shown} (Ferry reads ${LAYOUT_VERSION})`,
      { details: { path: paths.layoutFile } },
    );
  }
  return 'ok';
}

/** A new, empty index.json. */
export function emptyIndex(): IndexFile {
  return { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] };
}

/** Reads index.json (4 MiB limit); undefined when it does not exist, INVALID_LAYOUT when it is not an index. */
export async function readIndexFile(paths: LayoutPaths): Promise<IndexFile | undefined> {
  let bytes: Buffer | undefined;
  try {
    bytes = await readFileLimited(paths.indexFile, MAX_MANIFEST_SIZE, paths.indexFile);
  } catch (e) {
    if (isFerryError(e, 'TOO_LARGE'))
      throw new FerryError('INVALID_LAYOUT', `${paths.indexFile}: ${e.message}`, { cause: e });
    throw e;
  }
  if (bytes === undefined) return undefined;
  return parseIndexFile(bytes, paths.indexFile);
}

/** Parses a layout's JSON file; the error names the file, line and rule, never the text (it may be a symlink to a secret). */
function parseLayoutJSON(bytes: Buffer, what: string): unknown {
  const parsed = parseJSONText(bytes.toString('utf8'));
  if (parsed.ok) return parsed.value;
  const { line, column } = parsed.problem;
  throw new FerryError('INVALID_LAYOUT', `${what} is ${describeJSONSyntaxProblem(parsed.problem)}`, {
    details: { path: what, line, column },
  });
}

export function parseIndexFile(bytes: Buffer, what: string): IndexFile {
  const parsed = parseLayoutJSON(bytes, what);
  if (!isJSONObject(parsed))
    throw new FerryError('INVALID_LAYOUT', `${what} is not a JSON object`, { details: { path: what } });
  const manifests = parsed.manifests ?? [];
  if (!Array.isArray(manifests)) {
    throw new FerryError('INVALID_LAYOUT', `${what}: "manifests" is not an array`, { details: { path: what } });
  }
  manifests.forEach((d: unknown, i: number) => {
    if (
      !isJSONObject(d) ||
      typeof d.digest !== 'string' ||
      (d.size !== undefined && !(Number.isSafeInteger(d.size) && (d.size as number) >= 0))
    ) {
      throw new FerryError(
        'INVALID_LAYOUT',
        `${what}: manifests[${i}] is not a descriptor with a digest and a non-negative integer size`,
        {
          details: { path: what },
        },
      );
    }
    if (d.mediaType !== undefined && typeof d.mediaType !== 'string') {
      throw new FerryError('INVALID_LAYOUT', `${what}: manifests[${i}].mediaType is not a string`, {
        details: { path: what },
      });
    }
    if (d.annotations !== undefined && d.annotations !== null && !isJSONObject(d.annotations)) {
      throw new FerryError('INVALID_LAYOUT', `${what}: manifests[${i}].annotations is not an object`, {
        details: { path: what },
      });
    }
  });
  return {
    ...parsed,
    schemaVersion: typeof parsed.schemaVersion === 'number' ? parsed.schemaVersion : 2,
    manifests: manifests as IndexDescriptor[],
  };
}

export function serializeIndex(index: IndexFile): Buffer {
  return Buffer.from(JSON.stringify(index));
}

/** The digest of an index.json entry, validated (INVALID_LAYOUT naming the file otherwise). */
export function descriptorDigest(d: IndexDescriptor, what: string): Digest {
  try {
    return parseDigest(d.digest);
  } catch (e) {
    throw new FerryError(
      'INVALID_LAYOUT',
      `${what}: a manifest digest is not a digest Ferry can verify (algorithm:hex, algorithm sha256, sha384 or sha512)`,
      {
        details: { path: what, digestError: isFerryError(e) ? e.code : undefined },
      },
    );
  }
}

export interface Selection {
  descriptor: IndexDescriptor;
  position: number;
}

/**
 * Picks the image an `oci:` reference names: by ref.name (entries whose media type is not a
 * manifest or index are ignored), by position `@N`, or the only entry.
 */
export function selectDescriptor(
  index: IndexFile,
  image: string | undefined,
  sourceIndex: number | undefined,
  what: string,
): Selection {
  if (sourceIndex !== undefined) {
    const descriptor = index.manifests[sourceIndex];
    if (descriptor === undefined) {
      throw new FerryError(
        'IMAGE_NOT_FOUND',
        `${what}: index @${sourceIndex} is too large, only ${index.manifests.length} entries available`,
      );
    }
    return { descriptor, position: sourceIndex };
  }
  if (image !== undefined) {
    const unsupported: string[] = [];
    for (const [position, descriptor] of index.manifests.entries()) {
      if (refNameOf(descriptor) !== image) continue;
      if (isImageEntryMediaType(descriptor.mediaType)) return { descriptor, position };
      unsupported.push(descriptor.mediaType === undefined ? '(none)' : quoteMediaType(descriptor.mediaType));
    }
    if (unsupported.length > 0) {
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        `${what}: reference "${image}" only matches entries of unsupported media types ${unsupported.join(', ')}`,
      );
    }
    throw new FerryError('IMAGE_NOT_FOUND', `${what}: no image named "${image}" in oci layout`, { details: { image } });
  }
  if (index.manifests.length === 0) throw new FerryError('IMAGE_NOT_FOUND', `${what}: no image in oci layout`);
  if (index.manifests.length > 1) {
    throw new FerryError('AMBIGUOUS_IMAGE', `${what}: more than one image in oci layout, please specify an image name`);
  }
  return { descriptor: index.manifests[0] as IndexDescriptor, position: 0 };
}

/**
 * Adds a new top-level descriptor with containers/image's rules: an older entry holding the same
 * ref.name loses that name (the entry itself stays); an unnamed entry with the same digest is
 * replaced; otherwise the descriptor is appended. Returns a new index.
 */
export function addDescriptor(index: IndexFile, desc: IndexDescriptor): IndexFile {
  const manifests = index.manifests.map((d) => ({ ...d }));
  const name = refNameOf(desc);
  if (name !== undefined) {
    const holder = manifests.find((d) => refNameOf(d) === name);
    if (holder?.annotations !== undefined) {
      const { [REF_NAME_ANNOTATION]: _dropped, ...rest } = holder.annotations;
      if (Object.keys(rest).length === 0) delete holder.annotations;
      else holder.annotations = rest;
    }
  }
  const sameDigest = manifests.findIndex((d) => d.digest === desc.digest && refNameOf(d) === undefined);
  if (sameDigest >= 0) manifests[sameDigest] = desc;
  else manifests.push(desc);
  return { ...index, manifests };
}
