/**
 * `oci-archive:PATH[:REF]` references: a tar of an OCI image layout (containers/image
 * oci/archive/oci_transport.go). PATH ends at the first `:`; REF is an
 * `org.opencontainers.image.ref.name` (no `@N` here). The archive is handled by extracting it to a
 * private temp dir and delegating to the `oci:` transport through the transport registry.
 */
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import type {
  CallOptions,
  ImageDestination,
  ImageSource,
  ImageTransport,
  OciArchiveDestinationOptions,
  OciArchiveSourceOptions,
} from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { BaseImageReference, invalidReference } from '../reference-base.js';
import { fullyExplicitPath, pathAndParentScopes } from '../shared/policy-scopes.js';

export const OCI_ARCHIVE_TRANSPORT_NAME = 'oci-archive';

// image-spec annotations.md, org.opencontainers.image.ref.name: alphanumeric components joined by
// one of `-._:@+` or `--`, components joined by `/`.
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

function invalid(within: string, rule: string): FerryError {
  return invalidReference(OCI_ARCHIVE_TRANSPORT_NAME, within, rule);
}

export class OciArchiveReference extends BaseImageReference<OciArchiveSourceOptions> {
  readonly transport: ImageTransport = ociArchiveTransport;
  /** The archive file, as given. */
  readonly path: string;
  /** The ref.name to read or write; undefined = the only image (source) / no name (destination). */
  readonly image: string | undefined;

  constructor(path: string, image?: string) {
    super();
    const within = image === undefined ? path : `${path}:${image}`;
    if (path === '') throw invalid(within, 'the archive path is empty');
    if (path.includes('\0')) throw invalid(within, 'a path cannot contain a NUL character');
    if (path.includes(':')) throw invalid(within, `a colon in the path ${quoteInput(path)} is not supported`);
    if (image !== undefined && image !== '' && !REF_NAME.test(image)) {
      throw invalid(
        within,
        `${quoteInput(image)} is not a valid org.opencontainers.image.ref.name (alphanumeric components joined by one of -._:@+ or --, and by /)`,
      );
    }
    this.path = path;
    this.image = image === '' ? undefined : image;
  }

  stringWithinTransport(): string {
    return this.image === undefined ? this.path : `${this.path}:${this.image}`;
  }

  /** policy.json looks the image up by its archive file, symlinks resolved; the image name is not part of it (containers/image ociArchiveReference). */
  override policyConfigurationIdentity(): string {
    return fullyExplicitPath(this.path);
  }

  override policyConfigurationNamespaces(): string[] {
    return pathAndParentScopes(this.policyConfigurationIdentity());
  }

  async newImageSource(options: OciArchiveSourceOptions = {}): Promise<ImageSource> {
    const { OciArchiveSource } = await import('./source.js');
    return OciArchiveSource.open(this, options);
  }

  async newImageDestination(options: OciArchiveDestinationOptions = {}): Promise<ImageDestination> {
    const { OciArchiveDestination } = await import('./destination.js');
    return OciArchiveDestination.open(this, options);
  }

  async deleteImage(_options?: CallOptions): Promise<void> {
    throw new FerryError('UNSUPPORTED_OPERATION', `deleting images is not supported for ${this.toString()}`);
  }
}

/** Parses the text after `oci-archive:`. */
export function parseOciArchiveReference(within: string): OciArchiveReference {
  const colon = within.indexOf(':');
  if (colon < 0) return new OciArchiveReference(within);
  return new OciArchiveReference(within.slice(0, colon), within.slice(colon + 1));
}

export const ociArchiveTransport: ImageTransport = {
  name: OCI_ARCHIVE_TRANSPORT_NAME,
  parseReference: parseOciArchiveReference,
};
