/**
 * Registry error responses → FerryError. Distribution answers `{"errors":[{"code","message","detail"}]}`
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes); the first
 * entry decides the code, the registry's own code stays in `details.registryCode`.
 * Messages name the operation and the URL path only: never headers, never query strings
 * (a redirect's query may hold a signed storage credential).
 */
import { isDigest } from '../digest/digest.js';
import { FerryError, type FerryErrorCode, isFerryError } from '../errors.js';

export interface RegistryErrorEntry {
  code: string;
  message: string;
  /** The entry's `detail` when it is a digest (MANIFEST_BLOB_UNKNOWN names the blob so). */
  digest?: string;
}

/** The registry's error entries, or [] when the body is not the Distribution error shape. */
export function parseRegistryErrors(body: Buffer): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const errors = (parsed as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorEntry[] = [];
  for (const e of errors) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message, detail } = e as { code?: unknown; message?: unknown; detail?: unknown };
    if (typeof code !== 'string') continue;
    out.push({
      code: printableText(code, MAX_CODE_LENGTH),
      message: typeof message === 'string' ? printableText(message, MAX_MESSAGE_LENGTH) : '',
      ...(typeof detail === 'string' && isDigest(detail) ? { digest: detail } : {}),
    });
    if (out.length >= MAX_ENTRIES) break;
  }
  return out;
}

const MAX_CODE_LENGTH = 64;
const MAX_MESSAGE_LENGTH = 512;
const MAX_ENTRIES = 8;

/**
 * Text a server sent, made safe to print: control characters (terminal escapes, `\r`, bidi
 * overrides) become spaces, and past `max` characters it is cut with an ellipsis.
 */
export function printableText(text: string, max: number): string {
  // C0, DEL, C1, and the Unicode bidi controls that can reorder what a terminal shows.
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max)}…`;
}

// A Map: the registry's code is untrusted and must never reach Object.prototype ("constructor", "__proto__").
const CODE_MAP: ReadonlyMap<string, FerryErrorCode> = new Map([
  ['MANIFEST_UNKNOWN', 'MANIFEST_UNKNOWN'],
  ['NAME_UNKNOWN', 'NAME_UNKNOWN'],
  ['BLOB_UNKNOWN', 'BLOB_UNKNOWN'],
  ['BLOB_UPLOAD_UNKNOWN', 'BLOB_UNKNOWN'],
  ['UNAUTHORIZED', 'UNAUTHORIZED'],
  ['DENIED', 'DENIED'],
  ['TOOMANYREQUESTS', 'TOOMANYREQUESTS'],
]);

/** What a request was for, so a bare status can be given a meaningful code. */
export type RegistryOperation = 'manifest' | 'blob' | 'other';

function codeForStatus(status: number, operation: RegistryOperation): FerryErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 429) return 'TOOMANYREQUESTS';
  if (status === 404 && operation === 'manifest') return 'MANIFEST_UNKNOWN';
  if (status === 404 && operation === 'blob') return 'BLOB_UNKNOWN';
  return 'REGISTRY_ERROR';
}

export interface RegistryErrorInput {
  /** e.g. `GET /v2/x/y/manifests/t`. */
  what: string;
  status: number;
  body: Buffer;
  operation: RegistryOperation;
}

/** The FerryError for a registry response with an unexpected status. */
export function registryError(input: RegistryErrorInput): FerryError {
  const entries = parseRegistryErrors(input.body);
  const first = entries[0];
  const code =
    (first !== undefined ? CODE_MAP.get(first.code) : undefined) ?? codeForStatus(input.status, input.operation);
  const reason =
    first !== undefined ? entries.map(entryText).join('; ') : bodySnippet(input.body) || statusText(input.status);
  return new FerryError(code, `${input.what}: HTTP ${input.status}: ${reason}`, {
    details: {
      status: input.status,
      ...(first === undefined ? {} : { registryCode: first.code, registryErrors: entries }),
    },
  });
}

/**
 * One error entry as containers/image prints it (Distribution's errcode.Error): the code in words,
 * lower case with spaces (`MANIFEST_UNKNOWN` → `manifest unknown`), then the registry's message.
 */
function entryText(e: RegistryErrorEntry): string {
  const words = e.code.toLowerCase().replaceAll('_', ' ');
  const text = e.message === '' ? words : `${words}: ${e.message}`;
  return e.digest === undefined ? text : `${text} (${e.digest})`;
}

/**
 * What an answer without a body means (a HEAD answer never has one): a push with wrong
 * credentials used to read "HTTP 401: status 401".
 */
const STATUS_TEXT: ReadonlyMap<number, string> = new Map([
  [400, 'bad request'],
  [401, 'unauthorized (the registry wants other credentials, or some)'],
  [403, 'forbidden (the credentials do not allow this)'],
  [404, 'not found'],
  [405, 'method not allowed (the registry does not support this operation)'],
  [409, 'conflict'],
  [413, 'request too large'],
  [416, 'range not satisfiable'],
  [429, 'too many requests'],
  [500, 'internal server error'],
  [502, 'bad gateway'],
  [503, 'service unavailable'],
  [504, 'gateway timeout'],
]);

function statusText(status: number): string {
  return `${STATUS_TEXT.get(status) ?? 'no details'}, without a message from the registry`;
}

// A short, printable piece of a non-JSON error body (proxies answer HTML).
function bodySnippet(body: Buffer): string {
  const text = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
  return /^[\x20-\x7e]*$/.test(text) ? text : '';
}

/** The path of a URL without its query: safe to print. */
export function printableURL(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** A small JSON body (token answer, tags page) that must be an object, else REGISTRY_ERROR naming `what`. */
export function parseJSONObjectBody(body: Buffer, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new FerryError('REGISTRY_ERROR', `${what}: the answer is not JSON`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FerryError('REGISTRY_ERROR', `${what}: the answer is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** Whether a manifest fetch failed because there is no such manifest (containers/image isManifestUnknownError). */
export function isManifestUnknown(e: unknown): boolean {
  if (!isFerryError(e)) return false;
  if (e.code === 'MANIFEST_UNKNOWN' || e.details.status === 404) return true;
  // registry.redhat.io and Harbor answer "UNKNOWN" with a "not found" message.
  return e.details.registryCode === 'UNKNOWN' && /not found/i.test(e.message);
}
