/**
 * Layer 4, listings (distribution-spec "Listing tags", and the `/v2/_catalog` extension): pages
 * followed by `Link`, on the registry's own origin only, with caps on pages and entries.
 */
import { FerryError } from '../errors.js';
import { CATALOG_SCOPE } from './auth.js';
import { parseJSONObjectBody } from './errors.js';
import { nextLink } from './link.js';
import { pageQuery, pull, repositoryPath } from './paths.js';
import type { RegistryTransport } from './transport.js';

export interface ListOptions {
  /** `n=` page size; the registry may ignore it (Distribution 2.8 does for tags). */
  pageSize?: number;
  /** Most pages followed (default 10 000) and entries kept (default 1 000 000); past them TOO_LARGE. */
  maxPages?: number;
  maxEntries?: number;
  signal?: AbortSignal;
}

/** Largest tags-list or catalog page read into memory. */
const MAX_LIST_PAGE = 32 * 1024 * 1024;
/** Most pages and entries of one tag list or catalog: a registry cannot keep a listing going forever. */
const MAX_PAGES = 10_000;
const MAX_LIST_ENTRIES = 1_000_000;

/** Every tag of a repository, following `Link` pagination. */
export function listTags(t: RegistryTransport, repository: string, options: ListOptions = {}): Promise<string[]> {
  const first = `${repositoryPath(repository)}/tags/list${pageQuery(options.pageSize)}`;
  return paginate(t, first, [pull(repository)], 'tags', `listing tags of ${t.host}/${repository}`, options);
}

/** Every repository name of the registry (`/v2/_catalog`), following `Link` pagination. */
export function catalog(t: RegistryTransport, options: ListOptions = {}): Promise<string[]> {
  return paginate(
    t,
    `/v2/_catalog${pageQuery(options.pageSize)}`,
    [CATALOG_SCOPE],
    'repositories',
    `listing repositories of ${t.host}`,
    options,
  );
}

async function paginate(
  t: RegistryTransport,
  first: string,
  scopes: string[],
  field: 'tags' | 'repositories',
  what: string,
  options: ListOptions,
): Promise<string[]> {
  const { signal } = options;
  const maxPages = options.maxPages ?? MAX_PAGES;
  const maxEntries = options.maxEntries ?? MAX_LIST_ENTRIES;
  const out: string[] = [];
  let url = first;
  const visited = new Set<string>();
  for (let page = 0; page < maxPages; page++) {
    visited.add(url);
    const res = await t.send({ method: 'GET', url, scopes, signal });
    if (res.status !== 200) throw await t.failure(res, what, 'other');
    const body = await t.readBody(res, MAX_LIST_PAGE, what);
    const entries = parseListPage(body, field, what);
    if (out.length + entries.length > maxEntries) {
      throw new FerryError('TOO_LARGE', `${what}: more than ${maxEntries} entries`, { details: { limit: maxEntries } });
    }
    for (const entry of entries) out.push(entry);
    const next = nextLink(res.headers.link);
    if (next === undefined) return out;
    const nextURL = new URL(next, res.url);
    const base = await t.base(signal);
    if (nextURL.origin !== base.origin) {
      throw new FerryError('REGISTRY_ERROR', `${what}: the Link header points to another host (${nextURL.host})`, {
        details: { link: nextURL.host },
      });
    }
    url = nextURL.pathname + nextURL.search;
    if (visited.has(url)) {
      throw new FerryError(
        'REGISTRY_ERROR',
        `${what}: the Link header of page ${page + 1} leads back to an earlier page`,
        { details: { page: page + 1 } },
      );
    }
  }
  throw new FerryError('TOO_LARGE', `${what}: more than ${maxPages} pages`, { details: { limit: maxPages } });
}

function parseListPage(body: Buffer, field: 'tags' | 'repositories', what: string): string[] {
  const list = parseJSONObjectBody(body, what)[field];
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) {
    throw new FerryError('REGISTRY_ERROR', `${what}: "${field}" is not a list of strings`);
  }
  return (list as string[]).filter((t) => t !== '');
}
