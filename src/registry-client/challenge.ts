/**
 * `WWW-Authenticate` challenges (RFC 9110 §11.6.1 syntax; Distribution token auth:
 * https://distribution.github.io/distribution/spec/auth/token/). A header may hold several
 * challenges, and a response several headers.
 */

export interface AuthChallenge {
  /** Lower-cased scheme: `basic`, `bearer`, ... */
  scheme: string;
  /** Parameters with lower-cased names (`realm`, `service`, `scope`, `error`). */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

/** Parses every challenge of one or more `WWW-Authenticate` header values; malformed parts are skipped. */
export function parseChallenges(header: string | string[] | undefined): AuthChallenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  return values.flatMap(parseOneHeader);
}

function parseOneHeader(s: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < s.length && TOKEN_CHAR.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let v = '';
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < s.length) i++;
      v += s[i];
      i++;
    }
    i++; // closing quote
    return v;
  };
  let current: AuthChallenge | undefined;
  while (i < s.length) {
    skipSpace();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const token = readToken();
    if (token === '') {
      i++; // unexpected character: skip it
      continue;
    }
    skipSpace();
    if (s[i] === '=' && current !== undefined) {
      i++;
      skipSpace();
      const value = s[i] === '"' ? readQuoted() : readToken();
      // Defined, not assigned: a parameter named `__proto__` must stay a parameter, not a prototype.
      Object.defineProperty(current.params, token.toLowerCase(), {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      continue;
    }
    if (s[i] === '=' && current === undefined) {
      // A parameter before any scheme: not a challenge.
      i = start + token.length + 1;
      continue;
    }
    current = { scheme: token.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}
