/**
 * Registry authentication: the challenge a registry sends (its `/v2/` ping or a 401) decides the
 * scheme. Basic sends the credentials; Bearer exchanges them (or nothing, for anonymous pulls) at
 * the token realm for a token scoped to the repositories and actions of the request
 * (https://distribution.github.io/distribution/spec/auth/token/), cached per scope set until it
 * expires. Secrets never leave this file except inside an Authorization header.
 */
import type { Credentials } from '../config/auth.js';
import { FerryError } from '../errors.js';
import type { AuthChallenge } from './challenge.js';
import { parseJSONObjectBody, printableURL, registryError } from './errors.js';

export type { Credentials };

/** The OAuth2 client id sent with a refresh-token exchange. */
const OAUTH_CLIENT_ID = 'ferry';

export interface AuthOptions {
  /** A user name and password, or an identity (OAuth2 refresh) token exchanged at the token realm. */
  credentials?: Credentials;
  /** A bearer token sent as is, skipping the challenge flow (`--registry-token`). */
  registryToken?: string;
  /** Anonymous access: never send credentials. */
  noCreds?: boolean;
}

/** `repository:NAME:ACTIONS`, the token scope for a repository. */
export function repositoryScope(repository: string, actions: string): string {
  return `repository:${repository}:${actions}`;
}

export const CATALOG_SCOPE = 'registry:catalog:*';

/** One request to the token realm (a GET, or a POST of a form); returns status and body (limited by the caller's transport). */
export type TokenFetcher = (
  url: URL,
  init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: Buffer },
  signal?: AbortSignal,
) => Promise<{ status: number; body: Buffer }>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** Shortest lifetime assumed for a token (the token spec's default when `expires_in` is absent). */
const MIN_TOKEN_LIFETIME_S = 60;

export class Authenticator {
  readonly #options: AuthOptions;
  readonly #fetchToken: TokenFetcher;
  #challenge: AuthChallenge | undefined;
  readonly #tokens = new Map<string, CachedToken>();

  constructor(options: AuthOptions, fetchToken: TokenFetcher) {
    this.#options = options;
    this.#fetchToken = fetchToken;
  }

  /** The scheme in use (`bearer`, `basic`), or undefined while the registry has asked for none. */
  get scheme(): string | undefined {
    return this.#options.registryToken !== undefined ? 'bearer' : this.#challenge?.scheme;
  }

  /** Whether credentials would be sent (so a 401 means they are wrong, not missing). */
  get hasCredentials(): boolean {
    return this.#credentials() !== undefined || this.#options.registryToken !== undefined;
  }

  /**
   * Adopts the challenges of a ping or a 401 (Bearer preferred, then Basic). Returns the extra
   * scopes a Bearer `insufficient_scope` challenge asks for.
   */
  setChallenges(challenges: AuthChallenge[]): string[] {
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
    if (chosen === undefined) return [];
    const previous = this.#challenge;
    this.#challenge = chosen;
    if (previous?.params.realm !== chosen.params.realm || previous?.params.service !== chosen.params.service)
      this.#tokens.clear();
    const scope = chosen.params.scope;
    return chosen.scheme === 'bearer' && scope !== undefined ? scope.split(' ').filter((s) => s !== '') : [];
  }

  /**
   * `body` with every secret this authenticator holds or was issued cut out, in the forms a server
   * could quote them in: a registry or token realm that echoes what it was sent in an error body
   * must not put it into Ferry's error message.
   */
  redact(body: Buffer): Buffer {
    const secrets = this.#secretForms();
    const text = body.toString('utf8');
    let out = text;
    for (const s of secrets) out = out.split(s).join('<redacted>');
    return out === text ? body : Buffer.from(out, 'utf8');
  }

  #secretForms(): string[] {
    const creds = this.#options.credentials;
    const raw = [...this.#tokens.values()].map((t) => t.token);
    if (this.#options.registryToken !== undefined) raw.push(this.#options.registryToken);
    if (creds !== undefined && 'identityToken' in creds) raw.push(creds.identityToken);
    if (creds !== undefined && 'password' in creds) raw.push(creds.password, `${creds.username}:${creds.password}`);
    // A user name is a secret too, but a very short one would cut letters out of ordinary words.
    if (creds?.username !== undefined && creds.username.length >= 4) raw.push(creds.username);
    const forms = raw
      .filter((s) => s !== '')
      .flatMap((s) => [
        s,
        JSON.stringify(s).slice(1, -1),
        encodeURIComponent(s),
        new URLSearchParams({ s }).toString().slice(2),
        Buffer.from(s, 'utf8').toString('base64'),
      ]);
    // Longest first, so a whole `user:password` goes before its parts.
    return [...new Set(forms)].sort((a, b) => b.length - a.length);
  }

  /** Forgets the cached token of this scope set (after the registry refused it). */
  invalidate(scopes: readonly string[]): void {
    this.#tokens.delete(scopeKey(scopes));
  }

  /** The Authorization header value for a request needing `scopes`, or undefined for none. */
  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    if (this.#options.registryToken !== undefined) return `Bearer ${this.#options.registryToken}`;
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    const creds = this.#credentials();
    if (challenge.scheme === 'basic') {
      if (creds !== undefined && 'identityToken' in creds) {
        throw new FerryError(
          'UNAUTHORIZED',
          'the registry asks for Basic authentication, which an identity token cannot answer',
        );
      }
      return creds === undefined ? undefined : `Basic ${basicValue(creds)}`;
    }
    if (challenge.scheme === 'bearer') return `Bearer ${await this.#token(challenge, scopes, signal)}`;
    return undefined;
  }

  #credentials(): Credentials | undefined {
    return this.#options.noCreds === true ? undefined : this.#options.credentials;
  }

  async #token(challenge: AuthChallenge, scopes: readonly string[], signal?: AbortSignal): Promise<string> {
    const key = scopeKey(scopes);
    const cached = this.#tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached.token;
    const fresh = await this.#requestToken(challenge, scopes, signal);
    this.#tokens.set(key, fresh);
    return fresh.token;
  }

  async #requestToken(challenge: AuthChallenge, scopes: readonly string[], signal?: AbortSignal): Promise<CachedToken> {
    const realm = challenge.params.realm;
    let url: URL;
    try {
      url = new URL(realm ?? '');
    } catch {
      throw new FerryError('REGISTRY_ERROR', 'the registry sent a Bearer challenge without a valid realm URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new FerryError('REGISTRY_ERROR', `the registry's token realm ${printableURL(url)} is not an http(s) URL`);
    }
    const service = challenge.params.service;
    const wanted = [...new Set(scopes)];
    const creds = this.#credentials();
    const issuedBefore = Date.now();
    let status: number;
    let body: Buffer;
    if (creds !== undefined && 'identityToken' in creds) {
      // OAuth2 refresh-token grant (https://distribution.github.io/distribution/spec/auth/oauth/).
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: OAUTH_CLIENT_ID,
      });
      if (service !== undefined) form.set('service', service);
      if (wanted.length > 0) form.set('scope', wanted.join(' '));
      ({ status, body } = await this.#fetchToken(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(form.toString(), 'utf8'),
        },
        signal,
      ));
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      for (const scope of wanted) url.searchParams.append('scope', scope);
      const headers: Record<string, string> = {};
      if (creds !== undefined) {
        url.searchParams.set('account', creds.username);
        headers.authorization = `Basic ${basicValue(creds)}`;
      }
      ({ status, body } = await this.#fetchToken(url, { method: 'GET', headers }, signal));
    }
    const what = `token request to ${printableURL(url)}`;
    if (status !== 200) {
      const err = registryError({ what, status, body: this.redact(body), operation: 'other' });
      // The token endpoint refusing the credentials is an authentication failure, whatever it says.
      if (status === 401 || status === 403 || (status === 400 && creds !== undefined && 'identityToken' in creds)) {
        throw new FerryError(status === 403 ? 'DENIED' : 'UNAUTHORIZED', err.message, { details: err.details });
      }
      throw err;
    }
    return parseTokenResponse(body, what, issuedBefore);
  }
}

function parseTokenResponse(body: Buffer, what: string, now: number): CachedToken {
  const r = parseJSONObjectBody(body, what) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const token = typeof r.token === 'string' && r.token !== '' ? r.token : r.access_token;
  if (typeof token !== 'string' || token === '')
    throw new FerryError('REGISTRY_ERROR', `${what}: the answer holds no token`);
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new FerryError('REGISTRY_ERROR', `${what}: the token has characters a header cannot carry`);
  const expiresIn =
    typeof r.expires_in === 'number' && r.expires_in > MIN_TOKEN_LIFETIME_S ? r.expires_in : MIN_TOKEN_LIFETIME_S;
  // Lifetime counted from before the request on our clock: `issued_at` is on the issuer's clock.
  return { token, expiresAt: now + expiresIn * 1000 };
}

function scopeKey(scopes: readonly string[]): string {
  return [...new Set(scopes)].sort().join(' ');
}

function basicValue(creds: { username: string; password: string }): string {
  return Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64');
}
