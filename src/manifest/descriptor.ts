/**
 * Descriptors as the formats write them: reading one from parsed JSON with validation, and writing
 * one back with the field order of the Go structs (OCI image-spec descriptor.md; Docker
 * manifest-v2-2.md), so re-serialised manifests match what containers/image writes.
 */
import { type Digest, parseDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import type { Platform } from './blob-info.js';
import { describeValue, quoteMediaType } from '../util/quote.js';
import { field, isJSONObject, type JSONObject, sortedMap } from './json.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Embedded content (base64), OCI only. */
  data?: string;
  platform?: Platform;
  artifactType?: string;
  /** Docker manifest list platform `features` (kept so lists re-serialise without loss). */
  features?: string[];
}

export function invalid(where: string, rule: string): FerryError {
  return new FerryError('INVALID_MANIFEST', `invalid manifest: ${where} ${rule}`, { details: { field: where } });
}

export function readString(obj: JSONObject, name: string, where: string, required: boolean): string | undefined {
  const v = field(obj, name);
  if (v === undefined) {
    if (required) throw invalid(`${where}.${name}`, 'is missing');
    return undefined;
  }
  if (typeof v !== 'string') throw invalid(`${where}.${name}`, 'must be a string');
  return v;
}

export function readStringArray(obj: JSONObject, name: string, where: string): string[] | undefined {
  const v = field(obj, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw invalid(`${where}.${name}`, 'must be an array of strings');
  return v as string[];
}

export function readStringMap(obj: JSONObject, name: string, where: string): Record<string, string> | undefined {
  const v = field(obj, name);
  if (v === undefined) return undefined;
  if (!isJSONObject(v) || !Object.values(v).every((s) => typeof s === 'string')) {
    throw invalid(`${where}.${name}`, 'must be an object of strings');
  }
  return { ...(v as Record<string, string>) };
}

export function readArray(obj: JSONObject, name: string, where: string, required: boolean): unknown[] {
  const v = field(obj, name);
  if (v === undefined) {
    if (required) throw invalid(`${where}.${name}`, 'is missing');
    return [];
  }
  if (!Array.isArray(v)) throw invalid(`${where}.${name}`, 'must be an array');
  return v;
}

export function readObject(obj: JSONObject, name: string, where: string): JSONObject {
  const v = field(obj, name);
  if (v === undefined) throw invalid(`${where}.${name}`, 'is missing');
  if (!isJSONObject(v)) throw invalid(`${where}.${name}`, 'must be an object');
  return v;
}

/** Checks `schemaVersion` is exactly `expected`. */
export function checkSchemaVersion(obj: JSONObject, expected: number, mimeType: string): void {
  const v = field(obj, 'schemaVersion');
  if (v !== expected) {
    throw new FerryError(
      'INVALID_MANIFEST',
      `invalid manifest: schemaVersion is ${describeValue(v)}, ${mimeType} needs ${expected}`,
      { details: { field: 'schemaVersion' } },
    );
  }
}

/** Checks the document's own `mediaType` (when present) agrees with the type it is parsed as. */
export function checkMediaType(obj: JSONObject, expected: string): string | undefined {
  const mt = readString(obj, 'mediaType', 'manifest', false);
  if (mt !== undefined && mt !== expected) {
    throw new FerryError(
      'INVALID_MANIFEST',
      `invalid manifest: mediaType is ${quoteMediaType(mt)}, expected "${expected}"`,
      {
        details: { field: 'mediaType' },
      },
    );
  }
  return mt;
}

export function readDigest(obj: JSONObject, name: string, where: string): Digest {
  const s = readString(obj, name, where, true) as string;
  try {
    return parseDigest(s);
  } catch (e) {
    // parseDigest's message repeats the value: name the field and the rule instead.
    throw new FerryError(
      'INVALID_MANIFEST',
      `invalid manifest: ${where}.${name} is not a digest Ferry can verify (algorithm:hex, algorithm sha256, sha384 or sha512)`,
      { details: { field: `${where}.${name}`, digestError: e instanceof FerryError ? e.code : undefined } },
    );
  }
}

function readPlatform(v: unknown, where: string): { platform: Platform; features?: string[] } {
  if (!isJSONObject(v)) throw invalid(where, 'must be an object');
  const platform: Platform = {
    architecture: readString(v, 'architecture', where, false) ?? '',
    os: readString(v, 'os', where, false) ?? '',
  };
  const variant = readString(v, 'variant', where, false);
  if (variant) platform.variant = variant;
  const osVersion = readString(v, 'os.version', where, false);
  if (osVersion) platform.osVersion = osVersion;
  const osFeatures = readStringArray(v, 'os.features', where);
  if (osFeatures && osFeatures.length > 0) platform.osFeatures = osFeatures;
  const features = readStringArray(v, 'features', where);
  return features && features.length > 0 ? { platform, features } : { platform };
}

/** Reads and validates a descriptor (digest parsed, size a non-negative integer, media type a string). */
export function readDescriptor(v: unknown, where: string): Descriptor {
  if (!isJSONObject(v)) throw invalid(where, 'must be an object');
  const mediaType = readString(v, 'mediaType', where, false) ?? '';
  const digest = readDigest(v, 'digest', where);
  const size = field(v, 'size');
  if (size === undefined) throw invalid(`${where}.size`, 'is missing');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`${where}.size`, 'must be a non-negative integer');
  }
  const d: Descriptor = { mediaType, digest, size };
  const urls = readStringArray(v, 'urls', where);
  if (urls && urls.length > 0) d.urls = urls;
  const annotations = readStringMap(v, 'annotations', where);
  if (annotations && Object.keys(annotations).length > 0) d.annotations = annotations;
  const data = readString(v, 'data', where, false);
  if (data) d.data = data;
  const platform = field(v, 'platform');
  if (platform !== undefined) Object.assign(d, readPlatform(platform, `${where}.platform`));
  const artifactType = readString(v, 'artifactType', where, false);
  if (artifactType) d.artifactType = artifactType;
  return d;
}

function emptyToUndefined<T>(a: T[] | undefined): T[] | undefined {
  return a && a.length > 0 ? a : undefined;
}

/** OCI `Platform` struct order: architecture, os, os.version, os.features, variant. */
export function ociPlatformJSON(p: Platform): JSONObject {
  return dropUndefined({
    architecture: p.architecture,
    os: p.os,
    'os.version': p.osVersion || undefined,
    'os.features': emptyToUndefined(p.osFeatures),
    variant: p.variant || undefined,
  });
}

/** Docker list `platform` struct order: architecture, os, os.version, os.features, variant, features. */
export function schema2PlatformJSON(p: Platform | undefined, features?: string[]): JSONObject {
  return dropUndefined({
    architecture: p?.architecture ?? '',
    os: p?.os ?? '',
    'os.version': p?.osVersion || undefined,
    'os.features': emptyToUndefined(p?.osFeatures),
    variant: p?.variant || undefined,
    features: emptyToUndefined(features),
  });
}

/** OCI `Descriptor` struct order: mediaType, digest, size, urls, annotations, data, platform, artifactType. */
export function ociDescriptorJSON(d: Descriptor): JSONObject {
  return dropUndefined({
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    urls: emptyToUndefined(d.urls),
    annotations: sortedMap(d.annotations),
    data: d.data || undefined,
    platform: d.platform ? ociPlatformJSON(d.platform) : undefined,
    artifactType: d.artifactType || undefined,
  });
}

/** Docker `Schema2Descriptor` struct order: mediaType, size, digest, urls. */
export function schema2DescriptorJSON(d: Descriptor): JSONObject {
  return dropUndefined({ mediaType: d.mediaType, size: d.size, digest: d.digest, urls: emptyToUndefined(d.urls) });
}

export function dropUndefined(o: JSONObject): JSONObject {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}
