/**
 * Counts the requests a registry saw from its access log (Distribution writes Apache combined
 * format: `IP - - [date] "METHOD /v2/... HTTP/1.1" status size "referer" "agent"`).
 */

export interface RequestCounts {
  HEAD: number;
  GET: number;
  POST: number;
  PATCH: number;
  PUT: number;
  DELETE: number;
  /** POST .../blobs/uploads/?mount=...: cross-repository mount attempts. */
  mounts: number;
}

const LINE = /"(GET|HEAD|POST|PUT|PATCH|DELETE) (\/v2\/\S*) HTTP\/[0-9.]+"/;

export function emptyCounts(): RequestCounts {
  return { HEAD: 0, GET: 0, POST: 0, PATCH: 0, PUT: 0, DELETE: 0, mounts: 0 };
}

/** Counts the `/v2/` requests in a piece of access log; other lines are ignored. */
export function countRequests(log: string): RequestCounts {
  const c = emptyCounts();
  for (const line of log.split('\n')) {
    const m = LINE.exec(line);
    if (m === null) continue;
    const method = m[1] as keyof Omit<RequestCounts, 'mounts'>;
    c[method]++;
    if (method === 'POST' && /[?&]mount=/.test(m[2]!)) c.mounts++;
  }
  return c;
}

/** `HEAD/GET/POST/PATCH/PUT; mounts` as in the results table. */
export function formatCounts(c: RequestCounts | undefined): string {
  if (c === undefined) return '—';
  return `${c.HEAD}/${c.GET}/${c.POST}/${c.PATCH}/${c.PUT}; ${c.mounts}`;
}

/** The `GET /v2/` pings in a piece of access log (a ping is not an API request: counted apart). */
export function countPings(log: string): number {
  let n = 0;
  for (const line of log.split('\n')) if (/"GET \/v2\/ HTTP\/[0-9.]+"/.test(line)) n++;
  return n;
}

/** Requests other than pings. */
export function apiRequests(c: RequestCounts, pings: number): number {
  return c.HEAD + c.GET + c.POST + c.PATCH + c.PUT + c.DELETE - pings;
}
