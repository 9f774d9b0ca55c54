/** The `oci:` transport: images in an OCI image layout directory. */
export { OciImageDestination } from './destination.js';
export { isValidOciRefName, OciReference, ociTransport, parseOciReference } from './reference.js';
export { OciImageSource } from './source.js';
