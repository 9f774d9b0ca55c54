/**
 * `tarball:FILE[:FILE…]`: an image synthesised from layer tarballs (uncompressed, gzip or zstd;
 * `-` reads one layer from stdin). Read-only, like containers/image's tarball transport.
 */
import type { Readable } from 'node:stream';
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import { isJSONObject } from '../../manifest/json.js';
import type { ImageDestination, ImageReference, ImageSource, ImageTransport, TarballSourceOptions } from '../types.js';
// The source (tar reading, decompression) loads on first use: parsing a reference stays cheap.
import { BaseImageReference } from '../reference-base.js';

export interface TarballOptions {
  /** An OCI image config used as the base (e.g. `{ config: { Cmd: ['/bin/sh'] } }`); rootfs and history are always synthesised. */
  config?: Record<string, unknown>;
  /** Annotations of the synthesised manifest. */
  annotations?: Record<string, string>;
  /** Where `-` reads from (default: process.stdin). */
  stdin?: Readable;
}

const SEPARATOR = ':';

export const tarballTransport: ImageTransport = {
  name: 'tarball',
  parseReference(within: string): ImageReference {
    return newTarballReference(within.split(SEPARATOR));
  },
};

export class TarballReference extends BaseImageReference<TarballSourceOptions> {
  readonly transport: ImageTransport = tarballTransport;
  readonly files: readonly string[];
  readonly #config: Record<string, unknown>;
  readonly #annotations: Record<string, string>;
  readonly #stdin: Readable | undefined;

  constructor(files: readonly string[], options: TarballOptions = {}) {
    super();
    const text = files.join(SEPARATOR);
    if (files.length === 0)
      throw new FerryError('INVALID_REFERENCE', 'invalid tarball reference: no layer files given');
    for (const file of files) {
      if (file === '') {
        throw new FerryError('INVALID_REFERENCE', `invalid tarball reference ${quoteInput(text)}: empty file name`);
      }
      if (file.includes('\0')) {
        throw new FerryError(
          'INVALID_REFERENCE',
          `invalid tarball reference ${quoteInput(text)}: file name ${quoteInput(file)} contains a NUL character`,
        );
      }
      if (file.includes(SEPARATOR)) {
        throw new FerryError(
          'INVALID_REFERENCE',
          `invalid tarball reference: file name ${quoteInput(file)} contains ${quoteInput(SEPARATOR)}, which separates files`,
        );
      }
    }
    if (files.filter((f) => f === '-').length > 1) {
      throw new FerryError(
        'INVALID_REFERENCE',
        `invalid tarball reference ${quoteInput(text)}: stdin ("-") can only be read once`,
      );
    }
    if (options.config !== undefined && !isJSONObject(options.config)) {
      throw new FerryError('INVALID_ARGUMENT', 'tarball config template must be a JSON object');
    }
    for (const [key, value] of Object.entries(options.annotations ?? {})) {
      if (typeof value !== 'string') {
        throw new FerryError('INVALID_ARGUMENT', `tarball annotation ${quoteInput(key)} must be a string`);
      }
    }
    this.files = Object.freeze([...files]);
    this.#config = structuredClone(options.config ?? {});
    this.#annotations = { ...options.annotations };
    this.#stdin = options.stdin;
  }

  stringWithinTransport(): string {
    return this.files.join(SEPARATOR);
  }

  async newImageSource(options?: TarballSourceOptions): Promise<ImageSource> {
    const { openTarballSource } = await import('./source.js');
    return openTarballSource(
      this,
      {
        files: this.files,
        config: structuredClone(this.#config),
        annotations: { ...this.#annotations },
        stdin: () => this.#stdin ?? process.stdin,
      },
      options,
    );
  }

  async newImageDestination(): Promise<ImageDestination> {
    throw new FerryError('UNSUPPORTED_OPERATION', `${this}: the tarball transport can only be read, not written`);
  }

  async deleteImage(): Promise<void> {
    throw new FerryError('UNSUPPORTED_OPERATION', `${this}: images of the tarball transport cannot be deleted`);
  }
}

/** A `tarball:` reference to these layer files (base first), with an optional config template and annotations. */
export function newTarballReference(files: readonly string[], options: TarballOptions = {}): TarballReference {
  return new TarballReference(files, options);
}
