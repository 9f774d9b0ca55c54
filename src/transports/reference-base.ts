/**
 * What every ImageReference does the same way, in one place (containers/image's stubs): the
 * `transport:within` string, no Docker name unless the transport has one, and the typed image
 * view over the reference's source. A transport's reference class extends this and states only
 * what differs.
 */
import { FerryError } from '../errors.js';
import type { DockerReference } from '../reference/reference.js';
import type {
  ImageDestination,
  ImageOptions,
  ImageReference,
  ImageSource,
  ImageTransport,
  ImageView,
} from './types.js';

/** Opens the typed view of an image over a reference's source (src/image/'s openImage). */
export type ImageOpener = (ref: ImageReference, options: ImageOptions) => Promise<ImageView>;

// The image floor sits above the transports: it hands its opener down (index.ts wires it) instead
// of being imported from here.
let imageOpener: ImageOpener | undefined;

/** Sets how `newImage` opens a view; index.ts registers src/image/'s openImage. */
export function setImageOpener(open: ImageOpener): void {
  imageOpener = open;
}

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
  async newImage(options: ImageOptions = {}): Promise<ImageView> {
    if (imageOpener === undefined) {
      throw new FerryError('NOT_IMPLEMENTED', `${this.toString()}: newImage needs the image module; import Ferry through its public entry point`);
    }
    return imageOpener(this, options);
  }
}
