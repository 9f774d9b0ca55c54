/** The `dir:` transport: one image (or a list and its instances) as plain files in a directory. */
export { DirImageDestination } from './destination.js';
export { DIR_VERSION } from './layout.js';
export { DirReference, dirTransport, parseDirReference } from './reference.js';
export { DirImageSource } from './source.js';
