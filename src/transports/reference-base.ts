/**
 * What every ImageReference does the same way, in one place (containers/image's stubs): the
 * `transport:within` string, no Docker name unless the transport has one, and the typed image
 * view over the reference's source. A transport's reference class extends this and states only
 * what differs; `SourceOptions` (what its source reads) also types its `newImage`.
 */
import { FerryError } from '../errors.js';
import { type DockerReference, parseDockerReference } from '../reference/reference.js';
import { quoteInput } from '../util/quote.js';
import type {
  CallOptions,
  ImageDestination,
  ImageOptions,
  ImageReference,
  ImageSource,
  ImageTransport,
  ImageView,
  PlatformChoiceOptions,
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

export abstract class BaseImageReference<SourceOptions extends CallOptions = ImageOptions> implements ImageReference {
  abstract readonly transport: ImageTransport;
  abstract stringWithinTransport(): string;
  abstract newImageSource(options?: SourceOptions): Promise<ImageSource>;
  abstract newImageDestination(options?: ImageOptions): Promise<ImageDestination>;
  abstract deleteImage(options?: ImageOptions): Promise<void>;

  toString(): string {
    return `${this.transport.name}:${this.stringWithinTransport()}`;
  }

  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  /** No scope of its own: policy.json's transport default `""` (then `default`) decides (docker-archive:, tarball:). */
  policyConfigurationIdentity(): string {
    return '';
  }

  policyConfigurationNamespaces(): string[] {
    return [];
  }

  /** Opens the image for reading as a typed view (manifest, config, inspect, ...). */
  async newImage(options?: SourceOptions & PlatformChoiceOptions): Promise<ImageView> {
    if (imageOpener === undefined) {
      throw new FerryError(
        'NOT_IMPLEMENTED',
        `${this.toString()}: newImage needs the image module; import Ferry through its public entry point`,
      );
    }
    // The view passes the options on to this reference's newImageSource, which reads its part.
    return imageOpener(this, options ?? {});
  }
}

/** INVALID_REFERENCE for `within`, the text after `transportName:`, naming the rule it broke. */
export function invalidReference(transportName: string, within: string, rule: string, cause?: unknown): FerryError {
  return new FerryError('INVALID_REFERENCE', `invalid ${transportName}: reference ${quoteInput(within)}: ${rule}`, {
    cause,
    details: { reference: within },
  });
}

/** `text`, part of a `transportName:` reference, parsed as a Docker reference; bad text is invalidReference. */
export function parseDockerReferenceWithin(transportName: string, within: string, text: string): DockerReference {
  try {
    return parseDockerReference(text);
  } catch (e) {
    throw invalidReference(transportName, within, e instanceof Error ? e.message : String(e), e);
  }
}
