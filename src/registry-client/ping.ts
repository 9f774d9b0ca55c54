/**
 * Finding a registry's base URL by pinging `/v2/`: https, and plain http only when TLS verification
 * is off (asked at the same time, used only when https fails). A 401 answer's challenges are the
 * registry's own, adopted by the auth layer.
 */
import { abortError, FerryError } from '../errors.js';
import { type AuthChallenge, parseChallenges } from './challenge.js';
import type { RawSend, RegistryResponse } from './connection.js';
import { describeNetworkError } from './network-error.js';
import type { RetryPolicy } from './retry.js';
import { sendRetryingUnlessDown } from './retrying.js';

export interface PingContext {
  host: string;
  tlsVerify: boolean;
  send: RawSend;
  policy: RetryPolicy;
  failure(res: RegistryResponse, what: string): Promise<FerryError>;
}

/** What a ping tells: the base URL, and the challenges of a 401 (none for a 200). */
export interface PingAnswer {
  base: URL;
  challenges: AuthChallenge[];
}

/** `https://HOST` or `http://HOST`, whichever answers `/v2/` with 200 or 401. */
export async function pingBase(ctx: PingContext, signal?: AbortSignal): Promise<PingAnswer> {
  const schemes = ctx.tlsVerify ? ['https'] : ['https', 'http'];
  // Without verification, plain http is asked at the same time as https: its answer is used only
  // when https fails, but a failed TLS attempt no longer delays it.
  const attempts = schemes.map((scheme) =>
    sendRetryingUnlessDown(
      ctx.policy,
      () => ctx.send('GET', new URL(`${scheme}://${ctx.host}/v2/`), {}, undefined, signal),
      signal,
    ).then(
      (res) => ({ scheme, res }),
      (error: unknown) => ({ scheme, error }),
    ),
  );
  const discardFrom = (index: number): void => {
    for (const later of attempts.slice(index))
      void later.then((a) => ('res' in a ? a.res.body.dump().catch(() => {}) : undefined));
  };
  const failures: string[] = [];
  let lastError: unknown;
  for (const [index, attempt] of attempts.entries()) {
    const outcome = await attempt;
    if (!('res' in outcome)) {
      const e = outcome.error;
      if (signal?.aborted || e instanceof FerryError) discardFrom(index + 1);
      if (signal?.aborted) throw abortError(signal);
      if (e instanceof FerryError) throw e;
      failures.push(`${outcome.scheme}: ${describeNetworkError(e)}`);
      lastError = e;
      continue;
    }
    discardFrom(index + 1);
    const { scheme, res } = outcome;
    if (res.status === 200 || res.status === 401) {
      await res.body.dump();
      const challenges = res.status === 401 ? parseChallenges(res.headers['www-authenticate']) : [];
      return { base: new URL(`${scheme}://${ctx.host}`), challenges };
    }
    throw await ctx.failure(res, `pinging container registry ${ctx.host}`);
  }
  const hint = ctx.tlsVerify ? ' (plain http is only tried with tlsVerify: false)' : '';
  throw new FerryError(
    'REGISTRY_UNREACHABLE',
    `pinging container registry ${ctx.host} failed: ${failures.join('; ')}${hint}`,
    {
      cause: lastError,
      details: { host: ctx.host },
    },
  );
}

/**
 * Ping answers shared by every transport of this process with the same key (host, TLS settings,
 * proxy environment): one ping per registry per process, so a copy whose source and destination
 * are on one registry, or a sync of many images, pings it once. An answer that failed is forgotten
 * (the next transport pings again); a ping is anonymous, so credentials are not part of the key.
 */
const sharedAnswers = new Map<string, Promise<PingAnswer>>();

export function sharedPing(key: string, ping: () => Promise<PingAnswer>): Promise<PingAnswer> {
  let answer = sharedAnswers.get(key);
  if (answer === undefined) {
    const started = ping();
    answer = started;
    sharedAnswers.set(key, started);
    started.catch(() => {
      if (sharedAnswers.get(key) === started) sharedAnswers.delete(key);
    });
  }
  return answer;
}

/** Forgets every shared ping answer (a registry known to have moved to another scheme or auth). */
export function forgetRegistryPings(): void {
  sharedAnswers.clear();
}
