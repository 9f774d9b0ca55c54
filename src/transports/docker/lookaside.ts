/**
 * Lookaside signature storage of registry images (containers/image docs/signature-protocols.md,
 * "docker/distribution registries — separate storage"; docker/docker_image_src.go and
 * docker_image_dest.go): signature N of a manifest is `<base>/<repository>@<algorithm>=<hex>/signature-N`,
 * N = 1.. until one is missing. Reads take file: and http(s): URLs (http(s) with the registry's TLS
 * settings and never its credentials); writes take file: URLs only.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lookasideSignatureURL } from '../../config/registries-d.js';
import type { TLSFiles } from '../../config/certs.js';
import type { Digest } from '../../digest/digest.js';
import { FerryError, isFerryError, throwIfAborted } from '../../errors.js';
import { readAllLimited } from '../../manifest/limits.js';
import { openForeignURL } from '../../registry-client/index.js';
import { isSigstoreBlob, parseSigstoreBlob } from '../../signature/sigstore/format.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { readFileLimited } from '../shared/files.js';

/** Largest signature read into memory (containers/image iolimits.MaxSignatureBodySize). */
export const MAX_SIGNATURE_SIZE = 4 * 1024 * 1024;
/** More signatures than this for one manifest is taken as a broken or hostile server (upstream maxLookasideSignatures). */
export const MAX_LOOKASIDE_SIGNATURES = 128;

/** How http(s) lookaside URLs are read: the TLS settings of the registry the image is in. */
export interface LookasideHTTPSettings {
  /** false: accept any certificate (`--tls-verify=false`, or an `insecure` registry). */
  tlsVerify?: boolean;
  /** The registry's certs.d (or `--cert-dir`) files, loaded when an https lookaside is first read. */
  tls(): Promise<TLSFiles>;
}

/** A URL safe to name in a message (no user info, no query). */
function printable(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Checks a signature blob the way containers/image's signature.FromBlob does: bytes starting with
 * 0x00 must be a known format (`\0sigstore-json\n` + its JSON); anything else is a simple signature.
 */
function checkSignatureBlob(blob: Buffer, where: string): Buffer {
  if (blob.length > 0 && blob[0] === 0) {
    if (!isSigstoreBlob(blob)) {
      throw new FerryError('INVALID_SIGNATURE', `parsing signature ${where}: unknown signature format`, {
        details: { url: where },
      });
    }
    try {
      parseSigstoreBlob(blob);
    } catch (e) {
      throw new FerryError('INVALID_SIGNATURE', `parsing signature ${where}: ${(e as Error).message}`, {
        cause: e,
        details: { url: where },
      });
    }
  }
  return blob;
}

/** One signature, or undefined when it does not exist (a missing file, an HTTP 404). */
async function readOne(
  url: URL,
  http: LookasideHTTPSettings,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  const where = printable(url);
  if (url.protocol === 'file:') {
    const blob = await readFileLimited(fileURLToPath(url), MAX_SIGNATURE_SIZE, `signature ${where}`);
    return blob === undefined ? undefined : checkSignatureBlob(blob, where);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FerryError('INVALID_CONFIG', `unsupported scheme when reading signature from ${where}`, {
      details: { url: where },
    });
  }
  let opened: Awaited<ReturnType<typeof openForeignURL>>;
  try {
    opened = await openForeignURL(url, {
      ...(http.tlsVerify === undefined ? {} : { tlsVerify: http.tlsVerify }),
      ...(url.protocol === 'https:' ? { tls: await http.tls() } : {}),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (e) {
    // 404 is the end of the list (docs/signature-protocols.md); any other answer is an error.
    if (isFerryError(e, 'REGISTRY_ERROR') && e.details.status === 404) return undefined;
    // The message names the URL already.
    if (isFerryError(e))
      throw new FerryError(e.code, `reading signature: ${e.message}`, { cause: e, details: e.details });
    throw e;
  }
  if (opened.size > MAX_SIGNATURE_SIZE) {
    opened.stream.destroy();
    throw new FerryError(
      'TOO_LARGE',
      `reading signature from ${where}: ${opened.size} bytes, over the ${MAX_SIGNATURE_SIZE}-byte limit`,
      { details: { url: where, size: opened.size, limit: MAX_SIGNATURE_SIZE } },
    );
  }
  try {
    return checkSignatureBlob(await readAllLimited(opened.stream, MAX_SIGNATURE_SIZE, `signature ${where}`), where);
  } finally {
    opened.stream.destroy();
  }
}

/** Every lookaside signature of `manifestDigest` under `repositoryBase` (lookasideBaseURL), in order. */
export async function readLookasideSignatures(
  repositoryBase: string,
  manifestDigest: Digest,
  http: LookasideHTTPSettings,
  signal?: AbortSignal,
): Promise<Buffer[]> {
  const signatures: Buffer[] = [];
  for (let i = 0; ; i++) {
    throwIfAborted(signal);
    if (i >= MAX_LOOKASIDE_SIGNATURES) {
      throw new FerryError(
        'TOO_LARGE',
        `the lookaside storage ${printable(new URL(repositoryBase))} has more than ${MAX_LOOKASIDE_SIGNATURES} signatures for ${manifestDigest}; assuming a server error`,
        { details: { limit: MAX_LOOKASIDE_SIGNATURES } },
      );
    }
    const sig = await readOne(new URL(lookasideSignatureURL(repositoryBase, manifestDigest, i)), http, signal);
    if (sig === undefined) return signatures;
    signatures.push(sig);
  }
}

/** The local path of a lookaside URL to write; http(s) cannot be written (upstream's message names the fix). */
function writablePath(url: URL): string {
  if (url.protocol === 'file:') return fileURLToPath(url);
  const where = printable(url);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `writing directly to a ${url.protocol.slice(0, -1)} lookaside ${where} is not supported; configure a lookaside-staging: location in registries.d`,
      { details: { url: where } },
    );
  }
  throw new FerryError('INVALID_CONFIG', `unsupported scheme when writing signature to ${where}`, {
    details: { url: where },
  });
}

/**
 * Stores `signatures` as signature-1..N of `manifestDigest` (each file written atomically), then
 * removes signature-N+1.. up to the first missing one, so a reader sees exactly these. Nothing is
 * done for no signatures (as upstream: earlier ones stay).
 */
export async function writeLookasideSignatures(
  repositoryBase: string,
  manifestDigest: Digest,
  signatures: readonly Buffer[],
  signal?: AbortSignal,
): Promise<void> {
  if (signatures.length === 0) return;
  for (const [i, sig] of signatures.entries()) {
    throwIfAborted(signal);
    const path = writablePath(new URL(lookasideSignatureURL(repositoryBase, manifestDigest, i)));
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFileAtomic(path, sig, 0o644);
  }
  await removeLookasideSignatures(repositoryBase, manifestDigest, signatures.length, signal);
}

/**
 * Removes signature-(from+1).. of `manifestDigest` up to the first missing one (a reader stops there
 * anyway); an http(s) location cannot be written, so it is an error as for writes.
 */
export async function removeLookasideSignatures(
  repositoryBase: string,
  manifestDigest: Digest,
  from: number,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = from; ; i++) {
    throwIfAborted(signal);
    const path = writablePath(new URL(lookasideSignatureURL(repositoryBase, manifestDigest, i)));
    try {
      await rm(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
  }
}
