/**
 * A small Distribution token issuer for tests (https://distribution.github.io/distribution/spec/auth/token/):
 *
 *   const issuer = await startTokenServer({ users: { alice: 'secret' } });
 *   const reg = await startRegistry({ auth: 'token', token: issuer.registrySettings });
 *
 * It makes a throw-away EC P-256 key and a self-signed certificate (openssl), and serves
 * `GET /token?service=&scope=&account=` with Basic auth against its in-memory users, answering
 * `{token, access_token, expires_in, issued_at}` (plus a `refresh_token` when `offline_token=true`),
 * and the OAuth2 refresh-token grant (`POST /token`, form `grant_type=refresh_token&refresh_token=`)
 * for the refresh tokens it issued or was given in `refreshTokens`. The token is an ES256 JWT whose header carries the
 * certificate in `x5c`; the registry trusts it because the same certificate is its `rootcertbundle`.
 * Every request is recorded; `mode` makes it misbehave on purpose.
 */
import { randomBytes, sign } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { TokenAuthSettings } from './registry.js';
import { makeSelfSigned } from './test-ca.js';
import { makeTempDir } from './tmp.js';

export interface TokenRequest {
  account: string | undefined;
  service: string | undefined;
  scopes: string[];
  /** Whether Basic credentials were given and right. */
  authenticated: boolean;
}

export interface TokenServerOptions {
  /** user → password; requests without credentials are anonymous (granted `anonymousActions`). */
  users?: Record<string, string>;
  service?: string;
  issuer?: string;
  /** Actions granted to anonymous requests (default none). */
  anonymousActions?: string[];
  /** Token lifetime in seconds (default 300). */
  expiresIn?: number;
  /** Refresh ("identity") tokens accepted by the refresh-token grant → the user they stand for. */
  refreshTokens?: Record<string, string>;
}

/** `normal`; `garbage`: answers 200 with HTML; `empty-grants`: valid tokens granting nothing. */
export type TokenServerMode = 'normal' | 'garbage' | 'empty-grants';

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** What startRegistry({auth: 'token', token}) needs. */
  registrySettings: TokenAuthSettings;
  requests: TokenRequest[];
  /** Every access token and refresh token it answered with, in order. */
  issued: string[];
  mode: TokenServerMode;
  /** A careless issuer: its refusals quote what it was sent (Authorization header, user, password, refresh token). */
  echo: boolean;
  /** Makes the next `n` answers grant nothing (then back to `normal`), to provoke insufficient_scope. */
  emptyGrantsFor(n: number): void;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  // type:name:actions, where the name may hold a `:port` (`repository:127.0.0.1:5000/x:pull` does not occur: names have no host).
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first === -1 || last === first) return undefined;
  return {
    type: scope.slice(0, first),
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const h = req.headers.authorization ?? '';
  if (!h.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const dir = await makeTempDir('ferry-token-');
  const keyPath = join(dir, 'issuer.key');
  const certPath = join(dir, 'issuer.crt');
  await makeSelfSigned('ferry test token issuer', certPath, keyPath);
  const key = await readFile(keyPath);
  const certPem = await readFile(certPath, 'utf8');
  const certDerB64 = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  const users = options.users ?? {};
  const service = options.service ?? 'ferry-test-registry';
  const issuer = options.issuer ?? 'ferry-test-issuer';
  const expiresIn = options.expiresIn ?? 300;
  const requests: TokenRequest[] = [];
  const issued: string[] = [];
  const refreshTokens = new Map(Object.entries(options.refreshTokens ?? {}));
  let emptyLeft = 0;

  function token(subject: string, access: { type: string; name: string; actions: string[] }[]): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'ES256', x5c: [certDerB64] };
    const claims = {
      iss: issuer,
      sub: subject,
      aud: service,
      exp: now + expiresIn,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(12).toString('hex'),
      access,
    };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${b64url(signature)}`;
  }

  const server: TokenServer = {
    realm: '',
    service,
    issuer,
    certPath,
    registrySettings: { realm: '', service, issuer, rootCertBundlePath: certPath },
    requests,
    issued,
    mode: 'normal',
    echo: false,
    emptyGrantsFor(n: number) {
      emptyLeft = n;
    },
    stop: async () => {},
  };

  function answer(req: IncomingMessage, res: ServerResponse, params: URLSearchParams): void {
    const refresh = params.get('grant_type') === 'refresh_token';
    const creds = refresh ? undefined : basicCredentials(req);
    const refreshUser = refresh ? refreshTokens.get(params.get('refresh_token') ?? '') : undefined;
    const user = refresh ? refreshUser : creds?.user;
    const authenticated = refresh
      ? refreshUser !== undefined
      : creds !== undefined && users[creds.user] === creds.password;
    const scopes = params
      .getAll('scope')
      .flatMap((s) => s.split(' '))
      .filter((s) => s !== '');
    requests.push({
      account: params.get('account') ?? undefined,
      service: params.get('service') ?? undefined,
      scopes,
      authenticated,
    });
    if (server.mode === 'garbage') {
      send(res, 200, '<html>this is not a token</html>', 'text/html');
      return;
    }
    if (refresh && !authenticated) {
      const echoed = server.echo
        ? { error_description: `unknown refresh token ${params.get('refresh_token')} in ${params.toString()}` }
        : {};
      send(res, 400, JSON.stringify({ error: 'invalid_grant', ...echoed }));
      return;
    }
    if (creds !== undefined && !authenticated) {
      const echoed = server.echo
        ? ` for ${creds.user}:${creds.password} (${req.headers.authorization}, ${params.toString()})`
        : '';
      send(res, 401, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: `invalid credentials${echoed}` }] }));
      return;
    }
    const empty = server.mode === 'empty-grants' || emptyLeft > 0;
    if (emptyLeft > 0) emptyLeft--;
    const access = empty
      ? []
      : scopes.flatMap((s) => {
          const p = parseScope(s);
          if (p === undefined) return [];
          const actions = authenticated
            ? p.actions
            : p.actions.filter((a) => (options.anonymousActions ?? []).includes(a));
          return actions.length === 0 ? [] : [{ ...p, actions }];
        });
    const t = token(authenticated ? user! : '', access);
    issued.push(t);
    const body: Record<string, unknown> = {
      token: t,
      access_token: t,
      expires_in: expiresIn,
      issued_at: new Date().toISOString(),
    };
    if (authenticated && (refresh || params.get('offline_token') === 'true')) {
      const r = `refresh-${randomBytes(16).toString('hex')}`;
      refreshTokens.set(r, user!);
      issued.push(r);
      body.refresh_token = r;
    }
    send(res, 200, JSON.stringify(body));
  }

  const http = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST'))
      return send(res, 404, '{"error":"not found"}');
    if (req.method === 'GET') return answer(req, res, url.searchParams);
    const chunks: Buffer[] = [];
    req.on('data', (b: Buffer) => chunks.push(b));
    req.on('end', () => answer(req, res, new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.realm = `http://127.0.0.1:${port}/token`;
  server.registrySettings.realm = server.realm;
  server.stop = () =>
    new Promise<void>((resolve) => {
      http.closeAllConnections();
      http.close(() => resolve());
    }).then(() => rm(dir, { recursive: true, force: true }));
  return server;
}
