/**
 * Layer 4, referrers (distribution-spec v1.1 "Listing Referrers" and "Referrers Tag Schema";
 * image-spec v1.1 manifest `subject` and `artifactType`):
 * - listing: `GET /v2/<name>/referrers/<digest>[?artifactType=T]` answers an OCI index of the
 *   manifests whose `subject` is that digest, paginated by `Link`; `OCI-Filters-Applied: artifactType`
 *   says the registry filtered (else the client does). A 404 means the registry has no referrers API:
 *   the client then reads the referrers tag schema, the tag `<alg>-<hex>` holding an OCI index.
 * - pushing: a registry that processed a manifest's `subject` answers the PUT with `OCI-Subject`;
 *   without it, the client maintains that tag index itself (read, add the descriptor with the
 *   manifest's artifactType (else its config media type) and annotations, skip a duplicate, put
 *   conditionally on the ETag read, and on a 412 read and add again, a bounded number of times).
 * Everything read is capped (page size, pages, entries) and every descriptor validated (digest, size).
 */
import { type Digest, digestAlgorithm, digestHex, isDigest, parseDigest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import { type Descriptor, readDescriptor } from '../manifest/descriptor.js';
import { field, goMarshal, type JSONObject, parseJSONObject, sortedMap } from '../manifest/json.js';
import { MAX_MANIFEST_SIZE } from '../manifest/limits.js';
import { MediaType } from '../manifest/mediatypes.js';
import { quoteInput } from '../util/quote.js';
import { isManifestUnknown } from './errors.js';
import { nextLink } from './link.js';
import { getManifest, type PutCondition, putManifestDetailed } from './manifests.js';
import { pull, repositoryPath } from './paths.js';
import { header } from './response.js';
import type { RegistryTransport } from './transport.js';

/** Where a referrers listing came from. */
export type ReferrersSource = 'api' | 'tag-schema';

export interface ListReferrersOptions {
  /** Only referrers of this artifact type (the registry's filter when it applies one, else Ferry's). */
  artifactType?: string;
  /** Most pages followed (default 100) and descriptors kept (default 10 000); past them TOO_LARGE. */
  maxPages?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface ReferrersList {
  /** The subject digest asked about. */
  subject: Digest;
  /** The referrers' descriptors, in the registry's order (filtered when `artifactType` was given). */
  manifests: Descriptor[];
  /** `api`: the referrers API answered; `tag-schema`: the registry has none, the fallback tag was read. */
  source: ReferrersSource;
  /** Whether the registry applied the artifactType filter itself (`OCI-Filters-Applied`). */
  filtersApplied: boolean;
}

const MAX_REFERRER_PAGES = 100;
const MAX_REFERRER_ENTRIES = 10_000;

/**
 * The referrers tag schema's tag of a digest: `<alg>-<ref>`, the algorithm cut to 32 characters and
 * the encoded value to 64 (distribution-spec "Referrers Tag Schema").
 */
export function referrersTag(subject: Digest): string {
  const d = parseDigest(subject);
  return `${digestAlgorithm(d).slice(0, 32)}-${digestHex(d).slice(0, 64)}`;
}

/** The referrers of `subject` in `repository`: the referrers API, else the referrers tag schema. */
export async function listReferrers(
  t: RegistryTransport,
  repository: string,
  subject: Digest,
  options: ListReferrersOptions = {},
): Promise<ReferrersList> {
  if (!isDigest(subject)) {
    throw new FerryError('INVALID_DIGEST', `listing referrers: ${quoteInput(String(subject))} is not a digest`);
  }
  const api = await listFromAPI(t, repository, subject, options);
  if (api !== undefined) return api;
  const index = await readTagIndex(t, repository, subject, options.signal);
  const all = index === undefined ? [] : indexDescriptors(index.object, `${what(t, repository, subject)}: tag index`);
  return {
    subject,
    manifests: filterByType(all, options.artifactType),
    source: 'tag-schema',
    filtersApplied: false,
  };
}

function what(t: RegistryTransport, repository: string, subject: Digest): string {
  return `listing referrers of ${t.host}/${repository}@${subject}`;
}

function filterByType(all: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType === undefined ? all : all.filter((d) => d.artifactType === artifactType);
}

/** The referrers API's answer, all pages; undefined when the registry has no such API (404). */
async function listFromAPI(
  t: RegistryTransport,
  repository: string,
  subject: Digest,
  options: ListReferrersOptions,
): Promise<ReferrersList | undefined> {
  const { signal, artifactType } = options;
  const doing = what(t, repository, subject);
  const maxPages = options.maxPages ?? MAX_REFERRER_PAGES;
  const maxEntries = options.maxEntries ?? MAX_REFERRER_ENTRIES;
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  let url = `${repositoryPath(repository)}/referrers/${subject}${query}`;
  const visited = new Set<string>();
  const manifests: Descriptor[] = [];
  let filtersApplied = artifactType !== undefined;
  for (let page = 0; page < maxPages; page++) {
    visited.add(url);
    const res = await t.send({
      method: 'GET',
      url,
      scopes: [pull(repository)],
      headers: { accept: MediaType.OCI_INDEX },
      signal,
    });
    if (res.status === 404 && page === 0) {
      // distribution-spec: a registry without the referrers API answers 404; the client falls back to the tag schema.
      await res.body.dump();
      return undefined;
    }
    if (res.status !== 200) throw await t.failure(res, doing, 'other');
    const body = await t.readBody(res, MAX_MANIFEST_SIZE, doing);
    const entries = indexDescriptors(parseJSONObject(body, `${doing}: the answer`), `${doing}: the answer`);
    // Every page must say it filtered; one that did not is filtered here.
    const applied = (header(res, 'oci-filters-applied') ?? '').split(',').map((s) => s.trim());
    if (!applied.includes('artifactType')) filtersApplied = false;
    if (manifests.length + entries.length > maxEntries) {
      throw new FerryError('TOO_LARGE', `${doing}: more than ${maxEntries} referrers`, {
        details: { limit: maxEntries },
      });
    }
    manifests.push(...entries);
    const next = nextLink(res.headers.link);
    if (next === undefined) {
      return {
        subject,
        manifests: filterByType(manifests, artifactType),
        source: 'api',
        filtersApplied,
      };
    }
    const nextURL = new URL(next, res.url);
    const base = await t.base(signal);
    if (nextURL.origin !== base.origin) {
      throw new FerryError('REGISTRY_ERROR', `${doing}: the Link header points to another host (${nextURL.host})`, {
        details: { link: nextURL.host },
      });
    }
    url = nextURL.pathname + nextURL.search;
    if (visited.has(url)) {
      throw new FerryError(
        'REGISTRY_ERROR',
        `${doing}: the Link header of page ${page + 1} leads back to an earlier page`,
        {
          details: { page: page + 1 },
        },
      );
    }
  }
  throw new FerryError('TOO_LARGE', `${doing}: more than ${maxPages} pages`, { details: { limit: maxPages } });
}

/** The descriptors of an OCI index (`manifests`), each validated; anything else is REGISTRY_ERROR. */
function indexDescriptors(obj: JSONObject, where: string): Descriptor[] {
  const mediaType = field(obj, 'mediaType');
  if (mediaType !== undefined && mediaType !== MediaType.OCI_INDEX) {
    throw new FerryError(
      'REGISTRY_ERROR',
      `${where} is not an OCI image index (mediaType ${quoteInput(String(mediaType))})`,
    );
  }
  const list = field(obj, 'manifests');
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new FerryError('REGISTRY_ERROR', `${where}: "manifests" is not a list`);
  if (list.length > MAX_REFERRER_ENTRIES) {
    throw new FerryError('TOO_LARGE', `${where}: more than ${MAX_REFERRER_ENTRIES} referrers`, {
      details: { limit: MAX_REFERRER_ENTRIES },
    });
  }
  return list.map((d, i) => {
    try {
      return readDescriptor(d, `manifests[${i}]`);
    } catch (e) {
      if (!isFerryError(e)) throw e;
      throw new FerryError('REGISTRY_ERROR', `${where}: ${e.message}`, { cause: e });
    }
  });
}

interface TagIndex {
  object: JSONObject;
  /** The GET's `ETag`, when the registry sent one. */
  etag?: string;
}

/** The referrers tag schema index of `subject`, or undefined when the tag does not exist. */
async function readTagIndex(
  t: RegistryTransport,
  repository: string,
  subject: Digest,
  signal: AbortSignal | undefined,
): Promise<TagIndex | undefined> {
  const tag = referrersTag(subject);
  let fetched: Awaited<ReturnType<typeof getManifest>>;
  try {
    fetched = await getManifest(t, repository, tag, signal);
  } catch (e) {
    if (isManifestUnknown(e)) return undefined;
    throw e;
  }
  const where = `referrers tag index ${t.host}/${repository}:${tag}`;
  if (fetched.mimeType !== MediaType.OCI_INDEX) {
    // distribution-spec: a tag holding something other than the expected index is reported, not overwritten.
    throw new FerryError(
      'UNSUPPORTED_MANIFEST_TYPE',
      `${where} is ${quoteInput(fetched.mimeType)}, not an OCI image index`,
      { details: { mimeType: fetched.mimeType } },
    );
  }
  const object = parseJSONObject(fetched.bytes, where);
  return { object, ...(fetched.etag === undefined ? {} : { etag: fetched.etag }) };
}

/** Most read-add-write rounds of one tag index update whose write a registry refuses with 412 (another writer came first). */
export const MAX_TAG_INDEX_ROUNDS = 5;

/**
 * Adds a pushed manifest with a `subject` to the subject's referrers tag index (the registry did not
 * answer `OCI-Subject`): starts from an empty index when the tag does not exist; a descriptor of the same
 * digest already there is kept as it is. Returns whether the index was written.
 * The write is conditional (distribution-spec "Referrers Tag Schema": clients MAY use ETag conditions
 * against concurrent writers): `If-Match` with the ETag read, `If-None-Match: *` when there was no tag;
 * a 412 means another writer changed the index meanwhile, so it is read and merged again, at most
 * MAX_TAG_INDEX_ROUNDS times (then CONCURRENT_UPDATE). Distribution 2.8.2 sends `Etag: "sha256:…"`
 * on a manifest GET but ignores both conditions on a PUT (201 either way): there the last writer wins, as before.
 */
export async function addToReferrersTagIndex(
  t: RegistryTransport,
  repository: string,
  subject: Digest,
  descriptor: Descriptor,
  signal?: AbortSignal,
): Promise<boolean> {
  const tag = referrersTag(subject);
  const where = `referrers tag index ${t.host}/${repository}:${tag}`;
  for (let round = 0; round < MAX_TAG_INDEX_ROUNDS; round++) {
    const existing = await readTagIndex(t, repository, subject, signal);
    const updated = withReferrer(existing?.object, descriptor, where);
    if (updated === undefined) return false;
    try {
      await putManifestDetailed(
        t,
        repository,
        tag,
        goMarshal(updated),
        MediaType.OCI_INDEX,
        signal,
        writeCondition(existing),
      );
      return true;
    } catch (e) {
      if (!(isFerryError(e) && e.details.status === 412)) throw e;
    }
  }
  throw new FerryError(
    'CONCURRENT_UPDATE',
    `adding referrer ${descriptor.digest} to ${where}: the index changed under each of ${MAX_TAG_INDEX_ROUNDS} conditional writes (HTTP 412); other clients keep updating it`,
    { details: { repository, tag, attempts: MAX_TAG_INDEX_ROUNDS } },
  );
}

/** The index with `descriptor` appended, or undefined when it already lists that digest. */
function withReferrer(existing: JSONObject | undefined, descriptor: Descriptor, where: string): JSONObject | undefined {
  const object: JSONObject = existing ?? { schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] };
  if (indexDescriptors(object, where).some((d) => d.digest === descriptor.digest)) return undefined;
  const rawList = field(object, 'manifests');
  const raw: unknown[] = Array.isArray(rawList) ? [...rawList] : [];
  raw.push(descriptorJSON(descriptor));
  // Other fields of an existing index (annotations, ...) are kept; only `manifests` grows.
  return { ...object, manifests: raw };
}

/**
 * The precondition of a tag index write: the ETag read (a weak one, `W/"…"`, never matches If-Match's strong
 * comparison, RFC 9110 §13.1.1, so none is sent), or "no such tag yet".
 */
function writeCondition(existing: TagIndex | undefined): PutCondition | undefined {
  if (existing === undefined) return { ifNoneMatch: '*' };
  if (existing.etag === undefined || existing.etag.startsWith('W/')) return undefined;
  return { ifMatch: existing.etag };
}

/** A descriptor in OCI field order (mediaType, digest, size, annotations, artifactType). */
function descriptorJSON(d: Descriptor): JSONObject {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.annotations === undefined ? {} : { annotations: sortedMap(d.annotations) }),
    ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
  };
}
