/** `oci-archive:` — an OCI image layout in a tar file. */
export { OciArchiveDestination } from './destination.js';
export {
  OCI_ARCHIVE_TRANSPORT_NAME,
  OciArchiveReference,
  ociArchiveTransport,
  parseOciArchiveReference,
} from './reference.js';
export { OciArchiveSource } from './source.js';
