/** `dir:PATH` references (containers/image directory/directory_transport.go). */
import { resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import type { DockerReference } from '../../reference/reference.js';
import type { ImageDestination, ImageOptions, ImageReference, ImageSource, ImageTransport } from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { type Image, openImage } from '../../image/image.js';

export class DirReference implements ImageReference {
  readonly transport: ImageTransport = dirTransport;
  /** Absolute path of the image directory. */
  readonly path: string;

  constructor(path: string) {
    if (path === '') throw new FerryError('INVALID_REFERENCE', 'invalid dir: reference: the path is empty');
    this.path = resolve(path);
  }

  stringWithinTransport(): string {
    return this.path;
  }

  toString(): string {
    return `${this.transport.name}:${this.path}`;
  }

  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  /** Opens the image for reading as a typed view (manifest, config, inspect, ...). */
  newImage(options: ImageOptions = {}): Promise<Image> {
    return openImage(this, options);
  }

  async newImageSource(options: ImageOptions = {}): Promise<ImageSource> {
    const { DirImageSource } = await import('./source.js');
    return DirImageSource.open(this, options);
  }

  async newImageDestination(options: ImageOptions = {}): Promise<ImageDestination> {
    const { DirImageDestination } = await import('./destination.js');
    return DirImageDestination.open(this, options);
  }

  async deleteImage(): Promise<void> {
    throw new FerryError('UNSUPPORTED_OPERATION', `${this.toString()}: deleting images is not supported for dir: images`);
  }
}

export function parseDirReference(within: string): DirReference {
  return new DirReference(within);
}

export const dirTransport: ImageTransport = {
  name: 'dir',
  parseReference: parseDirReference,
};
