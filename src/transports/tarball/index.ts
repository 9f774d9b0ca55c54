/** The `tarball:` transport: images synthesised from layer tarballs (read-only). */
export { newTarballReference, TarballReference, type TarballOptions, tarballTransport } from './reference.js';
export { TarballImageSource } from './source.js';
