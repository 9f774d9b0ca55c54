/** The `Link` header's `rel="next"` target (RFC 8288), as Distribution paginates tags and the catalog. */

/** The raw URI-reference of the `rel="next"` link, or undefined. */
export function nextLink(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const values = Array.isArray(header) ? header : [header];
  for (const value of values) {
    // <uri>; param; param, <uri>; ...
    const re = /<([^>]*)>((?:\s*;\s*[^;,]*)*)/g;
    for (let m = re.exec(value); m !== null; m = re.exec(value)) {
      const params = m[2] ?? '';
      if (/;\s*rel\s*=\s*"?([^";,]*\s)?next(\s[^";,]*)?"?/i.test(params)) return m[1];
    }
  }
  return undefined;
}
