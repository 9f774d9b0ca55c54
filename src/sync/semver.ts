/**
 * Semantic-version tag filters as skopeo sync's `images-by-semver` reads them: versions and constraints
 * with the rules of github.com/Masterminds/semver v3 (its README is the reference; nothing else is
 * followed). Versions are lenient (`v1.2`, `1` are 1.2.0 and 1.0.0); a constraint is `||`-separated
 * groups of comparisons joined by `,` or spaces (`>= 1.2, < 3`), with `=`, `!=`, `>`, `<`, `>=`, `<=`
 * (`=<`), `~` / `~>` (tilde), `^` (caret), hyphen ranges (`1.2 - 1.4.5`) and wildcards (`x`, `X`, `*`).
 * A version with a pre-release part matches only comparisons that name a pre-release themselves.
 */
import { FerryError } from '../errors.js';

export interface SemVersion {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
}

const VERSION =
  /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

/** A tag read as a version, or undefined when it is not one (such tags never match a constraint). */
export function parseSemVersion(text: string): SemVersion | undefined {
  const m = VERSION.exec(text);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2] ?? 0), patch: Number(m[3] ?? 0), prerelease: m[4] ?? '' };
}

/** Pre-release ordering of semver 2.0.0 §11: numeric identifiers numerically, below alphanumeric ones. */
function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) < Number(y) ? -1 : 1;
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

export function compareSemVersions(a: SemVersion, b: SemVersion): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1;
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1;
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1;
  return comparePrerelease(a.prerelease, b.prerelease);
}

/** The version a comparison names; `minorDirty`/`patchDirty`: that part was missing or a wildcard. */
interface Bound {
  v: SemVersion;
  minorDirty: boolean;
  patchDirty: boolean;
  /** The whole version is a wildcard (`*`). */
  any: boolean;
}

type Op = '=' | '!=' | '>' | '<' | '>=' | '<=' | '~' | '^';

interface Comparison {
  op: Op;
  bound: Bound;
}

/** A parsed constraint: matches(tag) says whether the tag is a version inside it. */
export interface SemverConstraint {
  readonly text: string;
  matches(tag: string): boolean;
}

const WILD = /^[xX*]$/;
const BOUND =
  /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z-.]+)?$/;

function parseBound(text: string, constraint: string): Bound {
  const m = BOUND.exec(text);
  if (m === null) throw badConstraint(constraint, `"${text}" is not a version`);
  const part = (s: string | undefined): number | undefined => (s === undefined || WILD.test(s) ? undefined : Number(s));
  const major = part(m[1]);
  const minor = part(m[2]);
  const patch = part(m[3]);
  const any = major === undefined;
  const minorDirty = any || minor === undefined;
  const patchDirty = minorDirty || patch === undefined;
  return {
    v: {
      major: major ?? 0,
      minor: minorDirty ? 0 : (minor as number),
      patch: patchDirty ? 0 : (patch as number),
      prerelease: m[4] ?? '',
    },
    minorDirty,
    patchDirty,
    any,
  };
}

function badConstraint(constraint: string, why: string): FerryError {
  return new FerryError('INVALID_ARGUMENT', `invalid semver constraint "${constraint}": ${why}`);
}

function check(c: Comparison, v: SemVersion): boolean {
  const b = c.bound;
  // Masterminds: a pre-release version is only considered by comparisons that carry a pre-release.
  if (v.prerelease !== '' && b.v.prerelease === '') return c.op === '!=';
  const cmp = compareSemVersions(v, b.v);
  switch (c.op) {
    case '=':
      if (b.any) return true;
      if (b.minorDirty) return v.major === b.v.major;
      if (b.patchDirty) return v.major === b.v.major && v.minor === b.v.minor;
      return cmp === 0;
    case '!=':
      return !check({ op: '=', bound: b }, v);
    case '>':
      if (b.any) return false;
      if (b.minorDirty) return v.major > b.v.major;
      if (b.patchDirty) return v.major > b.v.major || (v.major === b.v.major && v.minor > b.v.minor);
      return cmp > 0;
    case '>=':
      return cmp >= 0;
    case '<':
      return cmp < 0;
    case '<=':
      if (b.any) return true;
      if (b.minorDirty) return v.major <= b.v.major;
      if (b.patchDirty) return v.major < b.v.major || (v.major === b.v.major && v.minor <= b.v.minor);
      return cmp <= 0;
    case '~': {
      // ~1.2.3 is >= 1.2.3 < 1.3.0; ~1 (or ~1.x) is >= 1 < 2.
      if (cmp < 0) return false;
      if (b.minorDirty) return v.major === b.v.major;
      return v.major === b.v.major && v.minor === b.v.minor;
    }
    case '^': {
      // ^1.2.3 is >= 1.2.3 < 2; ^0.2.3 is >= 0.2.3 < 0.3; ^0.0.3 is >= 0.0.3 < 0.0.4; ^0.0 is < 0.1; ^0 is < 1.
      if (cmp < 0) return false;
      if (b.v.major > 0 || b.minorDirty) return v.major === b.v.major;
      if (b.v.minor > 0 || b.patchDirty) return v.major === 0 && v.minor === b.v.minor;
      return v.major === 0 && v.minor === 0 && v.patch === b.v.patch;
    }
  }
}

const OPS: ReadonlyArray<[string, Op]> = [
  ['!=', '!='],
  ['>=', '>='],
  ['=>', '>='],
  ['<=', '<='],
  ['=<', '<='],
  ['~>', '~'],
  ['>', '>'],
  ['<', '<'],
  ['~', '~'],
  ['^', '^'],
  ['=', '='],
];

/** One `||` group: comparisons joined by `,` or whitespace; `A - B` is a hyphen range. */
function parseGroup(group: string, constraint: string): Comparison[] {
  const out: Comparison[] = [];
  for (const part of group.split(',')) {
    const text = part.trim();
    if (text === '') throw badConstraint(constraint, 'an empty comparison');
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(text);
    if (hyphen !== null) {
      out.push({ op: '>=', bound: parseBound(hyphen[1] as string, constraint) });
      out.push({ op: '<=', bound: parseBound(hyphen[2] as string, constraint) });
      continue;
    }
    // Operators may be followed by spaces (">= 1.2"); comparisons may also be separated by spaces.
    const tokens = text.match(/(?:!=|>=|=>|<=|=<|~>|>|<|~|\^|=)?\s*[^\s,<>=!~^]+/g) ?? [];
    if (tokens.join('').replace(/\s/g, '') !== text.replace(/\s/g, ''))
      throw badConstraint(constraint, `cannot read "${text}"`);
    for (const token of tokens) {
      const t = token.trim();
      const op = OPS.find(([sign]) => t.startsWith(sign));
      const version = (op === undefined ? t : t.slice(op[0].length)).trim();
      out.push({ op: op?.[1] ?? '=', bound: parseBound(version, constraint) });
    }
  }
  return out;
}

/** Parses a constraint (INVALID_ARGUMENT naming it when it cannot be read). */
export function parseSemverConstraint(text: string): SemverConstraint {
  const groups = text.split('||').map((g) => parseGroup(g, text));
  return {
    text,
    matches(tag: string): boolean {
      const v = parseSemVersion(tag);
      if (v === undefined) return false;
      return groups.some((group) => group.every((c) => check(c, v)));
    },
  };
}
