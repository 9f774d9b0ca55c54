/**
 * Docker image references: `[domain[:port]/]path[:tag][@digest]`, parsed with Docker's
 * normalisation (distribution/reference ParseNormalizedNamed, as used by containers/image):
 * `fedora` means `docker.io/library/fedora`, `index.docker.io` means `docker.io`.
 * Grammar: https://github.com/distribution/reference/blob/main/reference.go (package comment).
 */
import { type Digest, parseDigest } from '../digest/digest.js';
import { FerryError, isFerryError } from '../errors.js';
import { escapeControl, quoteInput } from '../util/quote.js';

export const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';

/** The API host of a registry domain (`docker.io` is served by `registry-1.docker.io`). */
export function registryAPIHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? 'registry-1.docker.io' : domain;
}
const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
/** Maximum length of the full normalised name (domain included). */
export const NAME_TOTAL_LENGTH_MAX = 255;

/** A path component: lowercase alphanumerics joined by one `.`, one or two `_`, or any number of `-`. */
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A domain: DNS-like labels joined by `.`, or a bracketed IPv6 address; then an optional port. */
const DOMAIN =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
const TAG = /^\w[\w.-]{0,127}$/;
/** A bare image ID: ambiguous with a repository name, so refused as one. */
const IMAGE_ID = /^[a-f0-9]{64}$/;
/**
 * Longer input is refused before any pattern runs (bounded time): the longest valid reference is a
 * 255-character name, a 128-character tag and a sha512 digest, well under this.
 */
export const REFERENCE_LENGTH_MAX = 1024;

function invalid(input: string, rule: string, cause?: unknown): FerryError {
  return new FerryError('INVALID_REFERENCE', `invalid reference ${quoteInput(input)}: ${rule}`, {
    cause,
    details: { reference: input },
  });
}

function checkTag(input: string, tag: string): void {
  if (!TAG.test(tag)) {
    throw invalid(
      input,
      `invalid reference format: tag ${quoteInput(tag)} must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`,
    );
  }
}

function checkDigest(input: string, digest: string): Digest {
  try {
    return parseDigest(digest);
  } catch (e) {
    // parseDigest's message repeats the digest raw: keep its rule, with control characters escaped.
    const why = e instanceof Error ? e.message : String(e);
    const prefix = `invalid digest "${digest}": `;
    const rule = why.startsWith(prefix) ? why.slice(prefix.length) : 'malformed digest';
    const err = invalid(
      input,
      `invalid reference format: invalid digest ${quoteInput(digest)}: ${escapeControl(rule)}`,
    );
    err.details.digestError = isFerryError(e) ? e.code : undefined;
    throw err;
  }
}

/**
 * A parsed, normalised Docker reference. Immutable: the `with*` helpers return new values.
 * A reference may carry both a tag and a digest (`name:tag@digest`), as the grammar allows.
 */
export class DockerReference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** Repository path within the registry, e.g. `library/fedora`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;

  private constructor(domain: string, path: string, tag: string | undefined, digest: Digest | undefined) {
    this.domain = domain;
    this.path = path;
    this.tag = tag;
    this.digest = digest;
    Object.freeze(this);
  }

  /** Parses `s` with Docker's normalisation; see parseDockerReference. */
  static parse(s: string): DockerReference {
    const { domain, path, tag, digest } = parseParts(s);
    return new DockerReference(domain, path, tag, digest);
  }

  /** The normalised repository name, e.g. `docker.io/library/fedora`. */
  get name(): string {
    return `${this.domain}/${this.path}`;
  }

  /** The repository name as Docker shows it: `fedora`, `user/app`, `quay.io/org/app` (FamiliarName). */
  get familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    // `docker.io/er.io/x` shown as `er.io/x` would name another registry: keep the domain then.
    const slash = this.path.indexOf('/');
    const first = slash === -1 ? '' : this.path.slice(0, slash);
    if (first.includes('.') || first === 'localhost') return this.name;
    if (this.path.startsWith(OFFICIAL_REPO_PREFIX) && this.path.indexOf('/', OFFICIAL_REPO_PREFIX.length) === -1) {
      return this.path.slice(OFFICIAL_REPO_PREFIX.length);
    }
    return this.path;
  }

  /** The whole reference as Docker shows it: `fedora:31`, `user/app@sha256:…` (FamiliarString). */
  get familiar(): string {
    return this.familiarName + this.suffix();
  }

  /** The full normalised form, `name[:tag][@digest]`. */
  toString(): string {
    return this.name + this.suffix();
  }

  private suffix(): string {
    return (this.tag === undefined ? '' : `:${this.tag}`) + (this.digest === undefined ? '' : `@${this.digest}`);
  }

  /** True when the reference has neither a tag nor a digest. */
  isNameOnly(): boolean {
    return this.tag === undefined && this.digest === undefined;
  }

  /** The same repository with `tag` (an existing digest is kept). */
  withTag(tag: string): DockerReference {
    checkTag(`${this.name}:${tag}`, tag);
    return new DockerReference(this.domain, this.path, tag, this.digest);
  }

  /** The same repository with `digest` (an existing tag is kept). */
  withDigest(digest: string): DockerReference {
    const d = checkDigest(`${this.name}@${digest}`, digest);
    return new DockerReference(this.domain, this.path, this.tag, d);
  }

  withoutTag(): DockerReference {
    return this.tag === undefined ? this : new DockerReference(this.domain, this.path, undefined, this.digest);
  }

  withoutDigest(): DockerReference {
    return this.digest === undefined ? this : new DockerReference(this.domain, this.path, this.tag, undefined);
  }

  /** The bare repository name (TrimNamed). */
  withoutTagOrDigest(): DockerReference {
    return this.isNameOnly() ? this : new DockerReference(this.domain, this.path, undefined, undefined);
  }

  /** Adds `:latest` when there is neither a tag nor a digest (TagNameOnly). */
  withDefaultTag(): DockerReference {
    return this.isNameOnly() ? new DockerReference(this.domain, this.path, DEFAULT_TAG, undefined) : this;
  }

  /** The tag, or `latest` when there is neither a tag nor a digest; undefined for a digest-only reference. */
  tagOrDefault(): string | undefined {
    if (this.tag !== undefined) return this.tag;
    return this.digest === undefined ? DEFAULT_TAG : undefined;
  }

  equals(other: DockerReference): boolean {
    return this.toString() === other.toString();
  }
}

/** Splits `name[:tag]` at the tag colon: the last `:` that follows the last `/` (a port's colon precedes a `/`). */
function splitTag(nameAndTag: string): [string, string | undefined] {
  const colon = nameAndTag.lastIndexOf(':');
  if (colon === -1 || colon < nameAndTag.lastIndexOf('/')) return [nameAndTag, undefined];
  return [nameAndTag.slice(0, colon), nameAndTag.slice(colon + 1)];
}

/** The first component is a domain only if it looks like one (has `.` or `:`, or is `localhost`). */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  const first = slash === -1 ? '' : name.slice(0, slash);
  if (slash === -1 || (!first.includes('.') && !first.includes(':') && first !== 'localhost')) {
    return [DEFAULT_DOMAIN, name];
  }
  return [first === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : first, name.slice(slash + 1)];
}

interface ReferenceParts {
  domain: string;
  path: string;
  tag: string | undefined;
  digest: Digest | undefined;
}

function parseParts(s: string): ReferenceParts {
  if (s === '') throw invalid(s, 'repository name must have at least one component');
  if (s.length > REFERENCE_LENGTH_MAX)
    throw invalid(s, `a reference must not be longer than ${REFERENCE_LENGTH_MAX} characters`);
  if (IMAGE_ID.test(s)) {
    throw invalid(s, 'invalid repository name: cannot specify 64-byte hexadecimal strings');
  }

  const at = s.indexOf('@');
  const nameAndTag = at === -1 ? s : s.slice(0, at);
  const digestText = at === -1 ? undefined : s.slice(at + 1);
  const [nameText, tag] = splitTag(nameAndTag);
  const [domain, remainder] = splitDomain(nameText);

  if (remainder.toLowerCase() !== remainder) throw invalid(s, 'repository name must be lowercase');
  if (nameText === '') throw invalid(s, 'repository name must have at least one component');
  if (!DOMAIN.test(domain))
    throw invalid(s, `invalid reference format: malformed registry domain ${quoteInput(domain)}`);
  for (const component of remainder.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        s,
        component === ''
          ? 'invalid reference format: empty path component'
          : `invalid reference format: path component ${quoteInput(component)} must be [a-z0-9]+ joined by ".", "_", "__" or "-"`,
      );
    }
  }
  const path = domain === DEFAULT_DOMAIN && !remainder.includes('/') ? OFFICIAL_REPO_PREFIX + remainder : remainder;
  if (domain.length + 1 + path.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(s, `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  if (tag !== undefined) checkTag(s, tag);
  const digest = digestText === undefined ? undefined : checkDigest(s, digestText);
  return { domain, path, tag, digest };
}

/**
 * Parses a Docker reference as the docker CLI and containers/image read it (ParseNormalizedNamed):
 * `fedora` → `docker.io/library/fedora`, `quay.io/org/app:1.2`, `localhost:5000/app@sha256:…`.
 * Throws FerryError `INVALID_REFERENCE` naming the input and the rule it broke.
 */
export function parseDockerReference(s: string): DockerReference {
  return DockerReference.parse(s);
}

/** Alias with containers/image's name for the same operation. */
export const parseNormalizedNamed = parseDockerReference;

/**
 * Parses a reference that must already be in full normalised form (containers/image ParseNamed):
 * `docker.io/library/fedora:31` is accepted, `fedora:31` is not.
 */
export function parseNamed(s: string): DockerReference {
  const ref = parseDockerReference(s);
  if (ref.toString() !== s) {
    throw invalid(s, `repository name must be canonical (did you mean "${ref.toString()}"?)`);
  }
  return ref;
}

/** The familiar repository name (`fedora`, `user/app`, `quay.io/org/app`) of a reference. */
export function familiarName(ref: DockerReference): string {
  return ref.familiarName;
}

/** The familiar full string (`fedora:31`, `user/app@sha256:…`) of a reference. */
export function familiarString(ref: DockerReference): string {
  return ref.familiar;
}
