/**
 * Every error Ferry throws on purpose is a FerryError with a typed `code`.
 * Callers branch on `code`, never on message text. Messages name the input and the rule it broke.
 */
export type FerryErrorCode =
  // references
  | 'INVALID_REFERENCE'
  | 'UNKNOWN_TRANSPORT'
  | 'NOT_IMPLEMENTED'
  // digests and content
  | 'INVALID_DIGEST'
  | 'UNSUPPORTED_DIGEST_ALGORITHM'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'TOO_LARGE'
  // manifests
  | 'INVALID_MANIFEST'
  | 'UNSUPPORTED_MANIFEST_TYPE'
  | 'AMBIGUOUS_MANIFEST'
  | 'CONVERSION_UNSUPPORTED'
  | 'NO_MATCHING_PLATFORM'
  // compression
  | 'UNSUPPORTED_COMPRESSION'
  | 'CORRUPT_COMPRESSED_DATA'
  // transports and storage
  | 'IMAGE_NOT_FOUND'
  | 'BLOB_NOT_FOUND'
  | 'AMBIGUOUS_IMAGE'
  | 'INVALID_LAYOUT'
  | 'INVALID_ARCHIVE'
  | 'UNSAFE_PATH'
  | 'DESTINATION_NOT_EMPTY'
  | 'UNSUPPORTED_OPERATION'
  | 'MANIFEST_REJECTED'
  | 'PRESERVE_DIGESTS_VIOLATED'
  | 'ABORTED'
  | 'LOCKED'
  | 'CACHE_UNAVAILABLE'
  | 'INVALID_BOLTDB'
  // registries (the registry's own error code, when it sent one, is in details.registryCode)
  | 'MANIFEST_UNKNOWN'
  | 'NAME_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOOMANYREQUESTS'
  | 'REGISTRY_ERROR'
  | 'REGISTRY_UNREACHABLE'
  // a conditional write (If-Match) kept finding the resource changed by another writer
  | 'CONCURRENT_UPDATE'
  // Docker daemons (docker-daemon:)
  | 'DAEMON_UNREACHABLE'
  | 'DAEMON_ERROR'
  // CLI and configuration
  | 'INVALID_ARGUMENT'
  | 'INVALID_CONFIG'
  | 'SYNC_FAILED'
  // trust policy (policy.json)
  | 'INVALID_POLICY'
  | 'POLICY_NOT_FOUND'
  | 'POLICY_REJECTED'
  // configuration-driven refusals and credential helpers
  | 'REGISTRY_BLOCKED'
  | 'CREDENTIAL_HELPER_ERROR'
  // signatures (details.reason says which rule a signature broke)
  | 'INVALID_SIGNATURE'
  | 'SIGNING_FAILED';

export interface FerryErrorOptions {
  cause?: unknown;
  /** Structured facts about the failure (expected/actual digest, path, ...), for callers and tests. */
  details?: Record<string, unknown>;
}

export class FerryError extends Error {
  readonly code: FerryErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: FerryErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FerryError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isFerryError(e: unknown, code?: FerryErrorCode): e is FerryError {
  return e instanceof FerryError && (code === undefined || e.code === code);
}

/** Turns an AbortSignal that has fired into the error Ferry reports for it. */
export function abortError(signal: AbortSignal | undefined): FerryError {
  return new FerryError('ABORTED', 'operation aborted', { cause: signal?.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
