/** Network failures below HTTP (resets, refusals, timeouts): how they read, and which are worth a retry. */
import { FerryError } from '../errors.js';
import { BODY_TIMEOUT, CONNECT_TIMEOUT, HEADERS_TIMEOUT } from '../util/network.js';

export { BODY_TIMEOUT, CONNECT_TIMEOUT, HEADERS_TIMEOUT };

/** A streamed request body that did not have the length its Content-Length announced. */
export const REQUEST_LENGTH_MISMATCH = 'FERRY_REQUEST_LENGTH_MISMATCH';

const DOWN_OR_SILENT = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  CONNECT_TIMEOUT,
  HEADERS_TIMEOUT,
  BODY_TIMEOUT,
  // undici's, on the proxy path
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** A refused or timed-out connection: nothing listening, or nothing answering. */
export function isDownOrSilent(e: unknown): boolean {
  const err = e as { code?: unknown; cause?: { code?: unknown } };
  return DOWN_OR_SILENT.has(String(err.code)) || DOWN_OR_SILENT.has(String(err.cause?.code));
}

export function describeNetworkError(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code =
    typeof err.code === 'string' ? err.code : typeof err.cause?.code === 'string' ? err.cause.code : undefined;
  const message =
    typeof err.cause?.message === 'string' && err.cause.message !== '' ? err.cause.message : String(err.message ?? e);
  return code === undefined ? message : `${message} (${code})`;
}

export function networkError(what: string, e: unknown): FerryError {
  const code = (e as { code?: unknown }).code;
  if (code === REQUEST_LENGTH_MISMATCH || code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') {
    return new FerryError('SIZE_MISMATCH', `${what}: the blob stream did not have the announced size`, { cause: e });
  }
  return new FerryError('REGISTRY_UNREACHABLE', `${what}: ${describeNetworkError(e)}`, { cause: e });
}
