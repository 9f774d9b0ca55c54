/**
 * `oci:PATH[:REF|:@N]` references (containers/image oci/layout/oci_transport.go).
 * PATH ends at the first `:`; REF is an `org.opencontainers.image.ref.name` value; `@N` is a
 * zero-based position in index.json's `manifests` (sources only).
 */
import { resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import type {
  ImageDestination,
  ImageSource,
  ImageTransport,
  OciLayoutDestinationOptions,
  OciLayoutSourceOptions,
} from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { BaseImageReference } from '../reference-base.js';
import { fullyExplicitPath, pathAndParentScopes } from '../shared/policy-scopes.js';

// image-spec annotations.md, org.opencontainers.image.ref.name: components of alphanumerics
// joined by separators `-._:@+` or `--`, components joined by `/`.
const REF_COMPONENT = '[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*';
const REF_NAME = new RegExp(`^${REF_COMPONENT}(?:/${REF_COMPONENT})*$`);

export function isValidOciRefName(name: string): boolean {
  return REF_NAME.test(name);
}

export class OciReference extends BaseImageReference<OciLayoutSourceOptions> {
  readonly transport: ImageTransport = ociTransport;
  /** Absolute path of the layout directory. */
  readonly dir: string;
  /** The ref.name to read or write; undefined = the only image (source) / no name (destination). */
  readonly image: string | undefined;
  /** Zero-based position in index.json (sources only); undefined when not given. */
  readonly sourceIndex: number | undefined;

  constructor(dir: string, image?: string, sourceIndex?: number) {
    super();
    if (dir === '') throw new FerryError('INVALID_REFERENCE', 'invalid oci: reference: the layout path is empty');
    if (dir.includes('\0'))
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid oci: reference: path ${quoteInput(dir)} contains a NUL character`,
      );
    if (dir.includes(':'))
      throw new FerryError('INVALID_REFERENCE', `invalid oci: reference: path ${quoteInput(dir)} contains a colon`);
    if (image !== undefined && image !== '' && !isValidOciRefName(image)) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid oci: reference ${quoteInput(`${dir}:${image}`)}: ${quoteInput(image)} is not a valid org.opencontainers.image.ref.name (alphanumeric components joined by one of -._:@+ or --, and by /)`,
      );
    }
    if (sourceIndex !== undefined && (!Number.isSafeInteger(sourceIndex) || sourceIndex < 0)) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid oci: reference ${quoteInput(`${dir}:@${sourceIndex}`)}: the index must be a non-negative integer`,
      );
    }
    if (sourceIndex !== undefined && image !== undefined && image !== '') {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid oci: reference: cannot use both an image name ${quoteInput(image)} and a source index @${sourceIndex}`,
      );
    }
    this.dir = resolve(dir);
    this.image = image === '' ? undefined : image;
    this.sourceIndex = sourceIndex;
  }

  stringWithinTransport(): string {
    if (this.sourceIndex !== undefined) return `${this.dir}:@${this.sourceIndex}`;
    return this.image === undefined ? this.dir : `${this.dir}:${this.image}`;
  }

  /** policy.json looks the image up by its layout directory, symlinks resolved; the image name is not part of it (containers/image ociReference). */
  override policyConfigurationIdentity(): string {
    return fullyExplicitPath(this.dir);
  }

  override policyConfigurationNamespaces(): string[] {
    return pathAndParentScopes(this.policyConfigurationIdentity());
  }

  async newImageSource(options: OciLayoutSourceOptions = {}): Promise<ImageSource> {
    const { OciImageSource } = await import('./source.js');
    return OciImageSource.open(this, options);
  }

  async newImageDestination(options: OciLayoutDestinationOptions = {}): Promise<ImageDestination> {
    const { OciImageDestination } = await import('./destination.js');
    return OciImageDestination.open(this, options);
  }

  async deleteImage(options: OciLayoutSourceOptions = {}): Promise<void> {
    const { deleteOciImage } = await import('./delete.js');
    return deleteOciImage(this, options);
  }
}

/** Parses the text after `oci:`. */
export function parseOciReference(within: string): OciReference {
  const colon = within.indexOf(':');
  const dir = colon < 0 ? within : within.slice(0, colon);
  const rest = colon < 0 ? '' : within.slice(colon + 1);
  if (dir === '')
    throw new FerryError('INVALID_REFERENCE', `invalid oci: reference ${quoteInput(within)}: the layout path is empty`);
  if (rest.startsWith('@')) {
    const n = rest.slice(1);
    if (!/^[0-9]+$/.test(n) || !Number.isSafeInteger(Number(n))) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid oci: reference ${quoteInput(within)}: source index ${quoteInput(`@${n}`)} is not a non-negative integer`,
      );
    }
    return new OciReference(dir, undefined, Number.parseInt(n, 10));
  }
  return new OciReference(dir, rest);
}

export const ociTransport: ImageTransport = {
  name: 'oci',
  parseReference: parseOciReference,
  listsReferrers: true,
};
