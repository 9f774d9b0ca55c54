/**
 * Finding a registry's base URL by pinging `/v2/`: https, and plain http only when TLS verification
 * is off (used when https fails, or, on an explicit port, when it answers as a registry first: below).
 * A 401 answer's challenges are the registry's own, adopted by the auth layer.
 *
 * Without verification and with an explicit port, both schemes reach the same port, and a port that
 * answers a plain-http `/v2/` as an open registry does (200) is not speaking TLS: plain http is asked
 * first, and https only when that answer is anything else (a TLS server answers plain http with 400),
 * or after HTTPS_HEAD_START_MS. A local insecure registry is then found without loading TLS at all.
 * A 401 (credentials would follow) still has https asked and preferred, as upstream does, in case
 * the port serves both. This gives an attacker nothing: with verification off, whoever can answer on
 * the port can already make the https attempt fail. Without a port, https (443) and http (80) are
 * two servers: both are asked at once, https preferred.
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

/** How long a plain-http ping of an explicit port may run before https is asked too. */
export const HTTPS_HEAD_START_MS = 50;

type PingOutcome = { scheme: string; res: RegistryResponse } | { scheme: string; error: unknown };

/** `https://HOST` or `http://HOST`, whichever answers `/v2/` with 200 or 401. */
export async function pingBase(ctx: PingContext, signal?: AbortSignal): Promise<PingAnswer> {
  // Once plain http has answered as a registry, a failed https try is not retried: the plain answer
  // stands (upstream tries https once, then http).
  const plainAnswered = new AbortController();
  const ask = (scheme: string): Promise<PingOutcome> =>
    sendRetryingUnlessDown(
      ctx.policy,
      () => ctx.send('GET', new URL(`${scheme}://${ctx.host}/v2/`), {}, undefined, signal),
      signal,
      scheme === 'https' ? plainAnswered.signal : undefined,
    ).then(
      (res) => {
        if (scheme === 'http' && isRegistryAnswer(res.status)) plainAnswered.abort();
        return { scheme, res };
      },
      (error: unknown) => ({ scheme, error }),
    );
  let attempts: Promise<PingOutcome>[];
  if (ctx.tlsVerify) attempts = [ask('https')];
  else if (!hasExplicitPort(ctx.host)) attempts = [ask('https'), ask('http')];
  else {
    const plain = ask('http');
    let startHttps = (): void => {};
    const headStart = new Promise<undefined>((resolve) => {
      startHttps = () => resolve(undefined);
    });
    const timer = setTimeout(startHttps, HTTPS_HEAD_START_MS);
    const first = await Promise.race([plain, headStart]);
    clearTimeout(timer);
    if (signal?.aborted) throw abortError(signal);
    if (first !== undefined && 'res' in first && first.res.status === 200) return pingAnswer(ctx, first);
    attempts = [ask('https'), plain];
  }
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
    if (isRegistryAnswer(outcome.res.status)) return pingAnswer(ctx, outcome);
    throw await ctx.failure(outcome.res, `pinging container registry ${ctx.host}`);
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

/** What a registry answers `/v2/` with: 200, or 401 and how to authenticate. */
function isRegistryAnswer(status: number): boolean {
  return status === 200 || status === 401;
}

async function pingAnswer(ctx: PingContext, outcome: { scheme: string; res: RegistryResponse }): Promise<PingAnswer> {
  const { scheme, res } = outcome;
  await res.body.dump();
  const challenges = res.status === 401 ? parseChallenges(res.headers['www-authenticate']) : [];
  return { base: new URL(`${scheme}://${ctx.host}`), challenges };
}

/** `HOST:PORT` or `[IPv6]:PORT`: then https and http reach the same port. */
function hasExplicitPort(host: string): boolean {
  return /^(?:\[[^\]]*\]|[^:[\]]+):\d+$/.test(host);
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
