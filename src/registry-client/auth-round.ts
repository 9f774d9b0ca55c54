/**
 * Layer 2 applied to one request: the Authorization for its scopes, and one new round when the
 * registry answers 401 with a challenge (more scopes, a fresh token). Challenges are taken from the
 * registry's own origin only: a 401/403 from a host a redirect led to is refused, never answered.
 */
import type { Authenticator } from './auth.js';
import { parseChallenges } from './challenge.js';
import type { HTTPMethod, RegistryResponse } from './connection.js';
import { foreignRefusal } from './redirects.js';

export interface AuthRoundRequest {
  method: HTTPMethod;
  url: URL;
  scopes: readonly string[];
  /** Whether the request can be sent again after a 401 (its body is none or a Buffer). */
  replayable: boolean;
  signal?: AbortSignal | undefined;
}

/**
 * A function that sends the request once with the Authorization it needs (`sendWith`), adopting a
 * 401's challenges once per request (an auth round is not a retry); state is kept across calls.
 */
export function authorizedAttempt(
  auth: Authenticator,
  req: AuthRoundRequest,
  credentialOrigin: string,
  sendWith: (authorization: string | undefined) => Promise<RegistryResponse>,
): () => Promise<RegistryResponse> {
  let scopes = [...req.scopes];
  let authRetried = false;
  return async () => {
    for (;;) {
      const res = await sendWith(await auth.authorization(scopes, req.signal));
      if ((res.status === 401 || res.status === 403) && res.url.origin !== credentialOrigin) {
        // A storage host never gets credentials or tokens, so its challenge is not answered.
        await res.body.dump().catch(() => {});
        throw foreignRefusal(req.method, req.url, res);
      }
      if (res.status === 401 && req.replayable && !authRetried) {
        const challenges = parseChallenges(res.headers['www-authenticate']);
        if (challenges.length > 0) {
          authRetried = true;
          await res.body.dump();
          auth.invalidate(scopes);
          scopes = [...new Set([...scopes, ...auth.setChallenges(challenges)])];
          continue;
        }
      }
      return res;
    }
  };
}
