/**
 * `docker-archive:PATH[:NAME[:TAG]|:@N]` references: an image in a `docker save` tar
 * (containers/image docker/archive/transport.go). PATH ends at the first `:`. NAME[:TAG] is a Docker
 * reference (`:latest` when untagged; digests refused); `@N` is a position in manifest.json (sources only).
 * With neither, a source needs an archive holding exactly one image, and a destination records no tag.
 */
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import type { DockerReference } from '../../reference/reference.js';
import type {
  CallOptions,
  DockerArchiveDestinationOptions,
  DockerArchiveSourceOptions,
  ImageDestination,
  ImageSource,
  ImageTransport,
} from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { BaseImageReference, invalidReference, parseDockerReferenceWithin } from '../reference-base.js';

export const DOCKER_ARCHIVE_TRANSPORT_NAME = 'docker-archive';

function invalid(within: string, rule: string): FerryError {
  return invalidReference(DOCKER_ARCHIVE_TRANSPORT_NAME, within, rule);
}

export class DockerArchiveReference extends BaseImageReference<DockerArchiveSourceOptions> {
  readonly transport: ImageTransport = dockerArchiveTransport;
  /** The archive file, as given. */
  readonly path: string;
  /** The image's name with a tag; undefined when none was given. */
  readonly ref: DockerReference | undefined;
  /** Position in manifest.json (sources only); undefined when not given. */
  readonly sourceIndex: number | undefined;

  constructor(path: string, ref?: DockerReference, sourceIndex?: number) {
    super();
    const within = path + (ref ? `:${ref}` : sourceIndex !== undefined ? `:@${sourceIndex}` : '');
    if (path === '') throw invalid(within, 'the archive path is empty');
    if (path.includes('\0')) throw invalid(within, 'a path cannot contain a NUL character');
    if (path.includes(':')) throw invalid(within, `a colon in the path ${quoteInput(path)} is not supported`);
    if (ref !== undefined && sourceIndex !== undefined)
      throw invalid(within, 'cannot use both a tag and a source index');
    if (ref !== undefined && ref.digest !== undefined) throw invalid(within, 'digest references are not supported');
    if (ref !== undefined && ref.tag === undefined) throw invalid(within, 'the reference has no tag');
    if (sourceIndex !== undefined && (!Number.isSafeInteger(sourceIndex) || sourceIndex < 0)) {
      throw invalid(within, 'the source index must be a non-negative integer');
    }
    this.path = path;
    this.ref = ref;
    this.sourceIndex = sourceIndex;
  }

  stringWithinTransport(): string {
    if (this.ref !== undefined) return `${this.path}:${this.ref.toString()}`;
    if (this.sourceIndex !== undefined) return `${this.path}:@${this.sourceIndex}`;
    return this.path;
  }

  override dockerReference(): DockerReference | undefined {
    return this.ref;
  }

  async newImageSource(options: DockerArchiveSourceOptions = {}): Promise<ImageSource> {
    const { DockerArchiveSource } = await import('./source.js');
    return DockerArchiveSource.open(this, options);
  }

  async newImageDestination(options: DockerArchiveDestinationOptions = {}): Promise<ImageDestination> {
    const { DockerArchiveDestination } = await import('./destination.js');
    return DockerArchiveDestination.open(this, options);
  }

  async deleteImage(_options?: CallOptions): Promise<void> {
    throw new FerryError('UNSUPPORTED_OPERATION', `deleting images is not supported for ${this.toString()}`);
  }
}

/** Parses the text after `docker-archive:`. */
export function parseDockerArchiveReference(within: string): DockerArchiveReference {
  if (within === '') throw invalid(within, 'expected PATH[:NAME[:TAG]|:@N]');
  const colon = within.indexOf(':');
  const path = colon < 0 ? within : within.slice(0, colon);
  if (path === '') throw invalid(within, 'the archive path is empty');
  if (path.includes('\0')) throw invalid(within, 'a path cannot contain a NUL character');
  if (colon < 0) return new DockerArchiveReference(within);
  const rest = within.slice(colon + 1);
  if (rest.startsWith('@')) {
    const n = Number.parseInt(rest.slice(1), 10);
    if (!/^[0-9]+$/.test(rest.slice(1)) || !Number.isSafeInteger(n))
      throw invalid(within, `source index ${quoteInput(rest)} is not a non-negative integer`);
    return new DockerArchiveReference(path, undefined, n);
  }
  const ref = parseDockerReferenceWithin(DOCKER_ARCHIVE_TRANSPORT_NAME, within, rest);
  if (ref.digest !== undefined) throw invalid(within, 'digest references are not supported');
  return new DockerArchiveReference(path, ref.withDefaultTag());
}

export const dockerArchiveTransport: ImageTransport = {
  name: DOCKER_ARCHIVE_TRANSPORT_NAME,
  parseReference: parseDockerArchiveReference,
};
