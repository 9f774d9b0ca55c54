/**
 * The registry's own words for a failed HEAD. A HEAD answer has no body (RFC 9110 §9.3.2), so a
 * 401 or 403 carries no `{"errors":[...]}`: the same request is sent once more as a GET, and its
 * error body is reported when it answers with the same status (a GET that succeeds is closed unread:
 * it may be a whole layer).
 */
import { abortError } from '../errors.js';
import type { RegistryResponse } from './connection.js';

/**
 * The answer whose body explains the failed HEAD `head`: the GET's (sent once, no retries) when
 * its status is the same, else `head` itself. A GET that cannot be sent leaves `head`.
 */
export async function explainedHeadFailure(
  head: RegistryResponse,
  getOnce: () => Promise<RegistryResponse>,
  signal?: AbortSignal,
): Promise<RegistryResponse> {
  let got: RegistryResponse;
  try {
    got = await getOnce();
  } catch {
    if (signal?.aborted) throw abortError(signal);
    return head;
  }
  if (got.status === head.status) return got;
  got.body.on('error', () => {}); // a body may report the abort that destroy() makes
  got.body.destroy();
  return head;
}
