/**
 * What every ImageReference does the same way, in one place (containers/image's stubs): the
 * `transport:within` string, no Docker name unless the transport has one, and the typed image
 * view over the reference's source. A transport's reference class extends this and states only
 * what differs.
 */
import { type Image, openImage } from '../image/image.js';
import type { DockerReference } from '../reference/reference.js';
import type { ImageDestination, ImageOptions, ImageReference, ImageSource, ImageTransport } from './types.js';

export abstract class BaseImageReference implements ImageReference {
  abstract readonly transport: ImageTransport;
  abstract stringWithinTransport(): string;
  abstract newImageSource(options?: ImageOptions): Promise<ImageSource>;
  abstract newImageDestination(options?: ImageOptions): Promise<ImageDestination>;
  abstract deleteImage(options?: ImageOptions): Promise<void>;

  toString(): string {
    return `${this.transport.name}:${this.stringWithinTransport()}`;
  }

  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  /** Opens the image for reading as a typed view (manifest, config, inspect, ...). */
  newImage(options: ImageOptions = {}): Promise<Image> {
    return openImage(this, options);
  }
}
