/** Turning manifest bytes into the typed view: one class per format, chosen by MIME type. */
import { FerryError } from '../errors.js';
import { quoteMediaType } from '../util/quote.js';
import { guessMIMEType } from './guess.js';
import { DockerManifestList } from './list.js';
import { MediaType } from './mediatypes.js';
import { OCIManifest } from './oci.js';
import { OCIIndex } from './oci-index.js';
import { Schema1Manifest } from './schema1.js';
import { Schema2Manifest } from './schema2.js';
import type { Manifest } from './types.js';

/**
 * Parses and validates `bytes` as `mimeType` (guessed from the bytes when undefined). Invalid
 * documents are INVALID_MANIFEST naming the field; documents that look like several formats are
 * AMBIGUOUS_MANIFEST; other types are UNSUPPORTED_MANIFEST_TYPE.
 */
export function parseManifest(bytes: Buffer, mimeType?: string): Manifest {
  // `application/json` is how legacy registries label schema1 (distribution's manifest-v2-1.md).
  const type =
    mimeType === undefined || mimeType === ''
      ? guessMIMEType(bytes)
      : mimeType === 'application/json'
        ? MediaType.DOCKER_V2_SCHEMA1_SIGNED
        : mimeType;
  switch (type) {
    case MediaType.DOCKER_V2_SCHEMA1:
    case MediaType.DOCKER_V2_SCHEMA1_SIGNED:
      return new Schema1Manifest(bytes, type);
    case MediaType.DOCKER_V2_SCHEMA2:
      return new Schema2Manifest(bytes);
    case MediaType.OCI_MANIFEST:
      return new OCIManifest(bytes);
    case MediaType.DOCKER_V2_LIST:
      return new DockerManifestList(bytes);
    case MediaType.OCI_INDEX:
      return new OCIIndex(bytes);
    default:
      throw new FerryError(
        'UNSUPPORTED_MANIFEST_TYPE',
        type === '' ? 'manifest format not recognised' : `unsupported manifest type ${quoteMediaType(type)}`,
        { details: { mimeType: type } },
      );
  }
}
