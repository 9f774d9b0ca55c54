/**
 * What a manifest says about the manifest it refers to (image-spec v1.1 `subject`), and the descriptor
 * a referrers list holds for it (distribution-spec v1.1 "Pushing Manifests with Subject": artifactType
 * is the manifest's `artifactType`, else its config's media type; the manifest's annotations copied).
 */
import type { Digest } from '../digest/digest.js';
import { isDigest } from '../digest/digest.js';
import type { Descriptor } from './descriptor.js';
import { field, isJSONObject, type JSONObject, parseJSONObject } from './json.js';

/** The descriptor of a pushed manifest as the referrers list holds it (distribution-spec "Pushing Manifests with Subject"). */
export function referrerDescriptor(bytes: Buffer, mimeType: string, digest: Digest): Descriptor {
  const obj = parseJSONObject(bytes, `manifest ${digest}`);
  const d: Descriptor = { mediaType: mimeType, digest, size: bytes.length };
  const artifactType = field(obj, 'artifactType');
  const config = field(obj, 'config');
  if (typeof artifactType === 'string' && artifactType !== '') d.artifactType = artifactType;
  else if (isJSONObject(config) && typeof config.mediaType === 'string' && config.mediaType !== '') {
    d.artifactType = config.mediaType;
  }
  const annotations = field(obj, 'annotations');
  if (isJSONObject(annotations)) {
    const kept: Record<string, string> = {};
    for (const [k, v] of Object.entries(annotations)) if (typeof v === 'string') kept[k] = v;
    if (Object.keys(kept).length > 0) d.annotations = kept;
  }
  return d;
}

/** The `subject` digest of manifest bytes, when it has a valid one. */
export function manifestSubject(bytes: Buffer): Digest | undefined {
  let obj: JSONObject;
  try {
    obj = parseJSONObject(bytes, 'manifest');
  } catch {
    return undefined;
  }
  const subject = field(obj, 'subject');
  if (!isJSONObject(subject)) return undefined;
  const digest = subject.digest;
  return typeof digest === 'string' && isDigest(digest) ? digest : undefined;
}
