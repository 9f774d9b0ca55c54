/** `dir:PATH` references (containers/image directory/directory_transport.go). */
import { resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import type { DirOptions, ImageDestination, ImageSource, ImageTransport } from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { BaseImageReference } from '../reference-base.js';
import { fullyExplicitPath, parentDirectoryScopes } from '../shared/policy-scopes.js';

export class DirReference extends BaseImageReference<DirOptions> {
  readonly transport: ImageTransport = dirTransport;
  /** Absolute path of the image directory. */
  readonly path: string;

  constructor(path: string) {
    super();
    if (path === '') throw new FerryError('INVALID_REFERENCE', 'invalid dir: reference "": the path is empty');
    if (path.includes('\0'))
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid dir: reference ${quoteInput(path)}: a path cannot contain a NUL character`,
      );
    this.path = resolve(path);
  }

  stringWithinTransport(): string {
    return this.path;
  }

  /** policy.json looks this image up by its directory, symlinks resolved (containers/image dirReference). */
  override policyConfigurationIdentity(): string {
    return fullyExplicitPath(this.path);
  }

  override policyConfigurationNamespaces(): string[] {
    return parentDirectoryScopes(this.policyConfigurationIdentity());
  }

  async newImageSource(options: DirOptions = {}): Promise<ImageSource> {
    const { DirImageSource } = await import('./source.js');
    return DirImageSource.open(this, options);
  }

  async newImageDestination(options: DirOptions = {}): Promise<ImageDestination> {
    const { DirImageDestination } = await import('./destination.js');
    return DirImageDestination.open(this, options);
  }

  async deleteImage(): Promise<void> {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `${this.toString()}: deleting images is not supported for dir: images`,
    );
  }
}

export function parseDirReference(within: string): DirReference {
  return new DirReference(within);
}

export const dirTransport: ImageTransport = {
  name: 'dir',
  parseReference: parseDirReference,
};
