/** Guessing a manifest's MIME type from its bytes, for sources that do not record it (files, archives). */
import { FerryError } from '../errors.js';
import {
  type FormatField,
  field,
  isJSONObject,
  type JSONObject,
  parseJSONObject,
  rejectAmbiguous,
  tryParseJSONObject,
} from './json.js';
import { MediaType } from './mediatypes.js';

/** Which format fields each manifest type may contain (others make the document ambiguous). */
export const ALLOWED_FORMAT_FIELDS: Readonly<Record<string, readonly FormatField[]>> = {
  [MediaType.DOCKER_V2_SCHEMA1]: ['fsLayers', 'history'],
  [MediaType.DOCKER_V2_SCHEMA1_SIGNED]: ['fsLayers', 'history'],
  [MediaType.DOCKER_V2_SCHEMA2]: ['config', 'layers'],
  [MediaType.OCI_MANIFEST]: ['config', 'layers'],
  [MediaType.DOCKER_V2_LIST]: ['manifests'],
  [MediaType.OCI_INDEX]: ['manifests'],
};

/**
 * The guess on an already-parsed object; '' when unrecognised (wrong field types included, as Go's
 * decoder fails on them). Order: a known `mediaType`; `schemaVersion` 1 (signed when it has
 * `signatures`); for version 2, `config.mediaType`; non-empty `manifests` means an index;
 * anything else with version 2 is an OCI manifest (pre-1.0.2 OCI manifests had no `mediaType`).
 */
export function guessFromObject(obj: JSONObject): string {
  const mediaType = field(obj, 'mediaType');
  const schemaVersion = field(obj, 'schemaVersion');
  if (mediaType !== undefined && typeof mediaType !== 'string') return '';
  if (schemaVersion !== undefined && !Number.isInteger(schemaVersion)) return '';
  switch (mediaType) {
    case MediaType.DOCKER_V2_SCHEMA2:
    case MediaType.DOCKER_V2_LIST:
    case MediaType.OCI_MANIFEST:
    case MediaType.OCI_INDEX:
      return mediaType;
  }
  if (schemaVersion === 1) {
    return field(obj, 'signatures') !== undefined ? MediaType.DOCKER_V2_SCHEMA1_SIGNED : MediaType.DOCKER_V2_SCHEMA1;
  }
  if (schemaVersion !== 2) return '';
  const config = field(obj, 'config');
  if (config !== undefined && !isJSONObject(config)) return '';
  const configMediaType = config === undefined ? undefined : field(config, 'mediaType');
  if (configMediaType !== undefined && typeof configMediaType !== 'string') return '';
  if (configMediaType === MediaType.OCI_CONFIG) return MediaType.OCI_MANIFEST;
  if (configMediaType === MediaType.DOCKER_V2_CONFIG) return MediaType.DOCKER_V2_SCHEMA2;
  const manifests = field(obj, 'manifests');
  if (manifests !== undefined && (!Array.isArray(manifests) || !manifests.every(isJSONObject))) return '';
  if (Array.isArray(manifests) && manifests.length > 0) {
    // upstream returns the config media type here; a document with both is not one format.
    return configMediaType ? '' : MediaType.OCI_INDEX;
  }
  return MediaType.OCI_MANIFEST;
}

/** The guess without validation: '' for non-JSON or unrecognised documents (digesting uses this). */
export function guessMIMETypeLenient(bytes: Buffer): string {
  const obj = tryParseJSONObject(bytes);
  return obj === undefined ? '' : guessFromObject(obj);
}

/**
 * Guesses the MIME type of manifest bytes ('' when unrecognised, like containers/image's
 * GuessMIMEType). Non-JSON is INVALID_MANIFEST; a document carrying the fields of more than one
 * format (an OCI manifest with `manifests`, an index with `layers`...) is AMBIGUOUS_MANIFEST.
 */
export function guessMIMEType(bytes: Buffer, what = 'manifest'): string {
  const obj = parseJSONObject(bytes, what);
  const guessed = guessFromObject(obj);
  const allowed = ALLOWED_FORMAT_FIELDS[guessed];
  if (allowed !== undefined) rejectAmbiguous(obj, guessed, allowed);
  else if (
    field(obj, 'schemaVersion') === 2 &&
    field(obj, 'config') !== undefined &&
    field(obj, 'manifests') !== undefined
  ) {
    throw new FerryError(
      'AMBIGUOUS_MANIFEST',
      'manifest has both "config" and "manifests": it is neither an image manifest nor an index',
    );
  }
  return guessed;
}
