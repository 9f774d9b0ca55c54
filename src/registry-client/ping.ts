/**
 * Finding a registry's base URL by pinging `/v2/`: https, and plain http only when TLS verification
 * is off (asked at the same time, used only when https fails). A 401 answer's challenges are the
 * registry's own, adopted by the auth layer.
 */
import { abortError, FerryError } from '../errors.js';
import type { Authenticator } from './auth.js';
import { parseChallenges } from './challenge.js';
import type { RawSend, RegistryResponse } from './connection.js';
import { describeNetworkError } from './network-error.js';
import type { RetryPolicy } from './retry.js';
import { sendRetryingUnlessDown } from './retrying.js';

export interface PingContext {
  host: string;
  tlsVerify: boolean;
  send: RawSend;
  policy: RetryPolicy;
  auth: Authenticator;
  failure(res: RegistryResponse, what: string): Promise<FerryError>;
}

/** `https://HOST` or `http://HOST`, whichever answers `/v2/` with 200 or 401. */
export async function pingBase(ctx: PingContext, signal?: AbortSignal): Promise<URL> {
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
      if (res.status === 401) ctx.auth.setChallenges(parseChallenges(res.headers['www-authenticate']));
      return new URL(`${scheme}://${ctx.host}`);
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
