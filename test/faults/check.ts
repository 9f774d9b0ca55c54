/**
 * What the fault tests and the soak check after each copy: the copy ended within its hard timeout,
 * with the exact digests or a FerryError; what a registry or an OCI layout holds afterwards is whole
 * (every blob read back and hashed), and images that were there before are still there.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyImage, type CopyOptions, type CopyResult, FerryError, parseImageReference } from '../../src/index.js';
import { runSkopeo } from '../helpers/run.js';

export type CopyOutcome =
  | { kind: 'ok'; result: CopyResult; ms: number }
  | { kind: 'error'; error: unknown; ms: number }
  /** Did not settle within the hard timeout (plus a grace period after the abort). */
  | { kind: 'hang'; ms: number };

/** Copies with a hard timeout: the copy is aborted at `timeoutMs` and counted a hang if it is still running 5 s later. */
export async function copyWithin(
  source: string,
  destination: string,
  options: CopyOptions,
  timeoutMs: number,
): Promise<CopyOutcome> {
  const started = Date.now();
  const abort = new AbortController();
  const copy = copyImage(parseImageReference(source), parseImageReference(destination), {
    blobInfoCache: 'none',
    ...options,
    signal: abort.signal,
  }).then(
    (result): CopyOutcome => ({ kind: 'ok', result, ms: Date.now() - started }),
    (error: unknown): CopyOutcome => ({ kind: 'error', error, ms: Date.now() - started }),
  );
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<CopyOutcome>((resolve) => {
    timer = setTimeout(() => {
      abort.abort(new Error(`copy ${source} → ${destination} took over ${timeoutMs} ms`));
      timer = setTimeout(() => resolve({ kind: 'hang', ms: Date.now() - started }), 5000);
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([copy, hang]);
    // An abort at the deadline that made the copy fail is a hang too: it would not have ended by itself.
    if (outcome.kind === 'error' && abort.signal.aborted) return { kind: 'hang', ms: outcome.ms };
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

/** A failure is clean when it is a FerryError with a code (not a raw socket error or TypeError). */
export function isTypedFailure(e: unknown): e is FerryError {
  return e instanceof FerryError && typeof e.code === 'string' && e.code.length > 0;
}

export function describeError(e: unknown): string {
  if (e instanceof FerryError) return `${e.code}: ${e.message}`;
  if (e instanceof Error)
    return `untyped ${e.name}${'code' in e ? ` (${String((e as { code: unknown }).code)})` : ''}: ${e.message}`;
  return `untyped ${String(e)}`;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

interface ManifestLike {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Reads a blob or manifest by digest, returning the problems found (missing, wrong size, wrong hash). */
type Fetcher = (
  kind: 'manifests' | 'blobs',
  d: Descriptor,
) => Promise<{ digest: string; size: number; bytes?: Buffer } | string>;

/** Walks a manifest or index from `top` down to every config and layer; returns the problems found. */
async function walk(fetch: Fetcher, top: Descriptor, problems: string[]): Promise<void> {
  const got = await fetch('manifests', top);
  if (typeof got === 'string') {
    problems.push(got);
    return;
  }
  if (got.digest !== top.digest || got.size !== top.size) {
    problems.push(`manifest ${top.digest}: read back ${got.digest} (${got.size} bytes, want ${top.size})`);
    return;
  }
  let m: ManifestLike;
  try {
    m = JSON.parse((got.bytes ?? Buffer.alloc(0)).toString('utf8')) as ManifestLike;
  } catch {
    problems.push(`manifest ${top.digest}: not JSON`);
    return;
  }
  for (const child of m.manifests ?? []) await walk(fetch, child, problems);
  for (const blob of [...(m.config === undefined ? [] : [m.config]), ...(m.layers ?? [])]) {
    const b = await fetch('blobs', blob);
    if (typeof b === 'string') problems.push(b);
    else if (b.digest !== blob.digest || b.size !== blob.size) {
      problems.push(`blob ${blob.digest}: read back ${b.digest} (${b.size} bytes, want ${blob.size})`);
    }
  }
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

async function hashResponse(res: Response): Promise<{ digest: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  if (res.body !== null) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      size += chunk.length;
    }
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

/** The tag's manifest digest in a registry (asked directly, not through a proxy), or undefined when absent. */
export async function registryTag(
  url: string,
  repo: string,
  tag: string,
): Promise<{ digest: string; bytes: Buffer; mediaType: string } | undefined> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, {
    headers: { accept: MANIFEST_ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status === 404) {
    await res.arrayBuffer();
    return undefined;
  }
  if (res.status !== 200) throw new Error(`GET ${repo}:${tag}: status ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { digest: sha256(bytes), bytes, mediaType: res.headers.get('content-type') ?? '' };
}

/** Reads every manifest and blob of `repo@digest` back from a registry and hashes it. */
export async function checkRegistryImage(url: string, repo: string, top: Descriptor): Promise<string[]> {
  const problems: string[] = [];
  const fetcher: Fetcher = async (kind, d) => {
    const res = await fetch(`${url}/v2/${repo}/${kind}/${d.digest}`, {
      headers: kind === 'manifests' ? { accept: MANIFEST_ACCEPT } : {},
      signal: AbortSignal.timeout(10_000),
    });
    if (res.status !== 200) {
      await res.arrayBuffer();
      return `${kind} ${d.digest} in ${repo}: status ${res.status}`;
    }
    if (kind === 'blobs') return hashResponse(res);
    const bytes = Buffer.from(await res.arrayBuffer());
    return { digest: sha256(bytes), size: bytes.length, bytes };
  };
  await walk(fetcher, top, problems);
  return problems;
}

/**
 * A registry tag after a copy: absent (a failed copy), or pointing at a whole image; with `want`,
 * a present tag must be exactly that digest.
 */
export async function checkRegistryTag(
  url: string,
  repo: string,
  tag: string,
  want?: string,
): Promise<{ present: boolean; problems: string[] }> {
  const got = await registryTag(url, repo, tag);
  if (got === undefined) return { present: false, problems: [] };
  const problems: string[] = [];
  if (want !== undefined && got.digest !== want) problems.push(`${repo}:${tag} is ${got.digest}, want ${want}`);
  problems.push(...(await checkRegistryImage(url, repo, { digest: got.digest, size: got.bytes.length })));
  return { present: true, problems };
}

async function hashFile(path: string): Promise<{ digest: string; size: number } | undefined> {
  const h = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      h.update(chunk);
      size += chunk.length;
    }
  } catch {
    return undefined;
  }
  return { digest: `sha256:${h.digest('hex')}`, size };
}

export interface LayoutState {
  /** Tag (org.opencontainers.image.ref.name) → digest, for the entries of index.json. */
  tags: Map<string, string>;
  problems: string[];
}

/** Reads an OCI layout's oci-layout, index.json and every blob they reference, hashing each. */
export async function checkLayout(dir: string): Promise<LayoutState> {
  const problems: string[] = [];
  const tags = new Map<string, string>();
  try {
    const marker = JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8')) as { imageLayoutVersion?: unknown };
    if (marker.imageLayoutVersion !== '1.0.0') problems.push('oci-layout: imageLayoutVersion is not 1.0.0');
  } catch (e) {
    problems.push(`oci-layout: ${(e as Error).message}`);
  }
  let index: { manifests?: (Descriptor & { annotations?: Record<string, string> })[] };
  try {
    index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as typeof index;
  } catch (e) {
    problems.push(`index.json: ${(e as Error).message}`);
    return { tags, problems };
  }
  const fetcher: Fetcher = async (kind, d) => {
    const [alg, hex] = d.digest.split(':');
    const path = join(dir, 'blobs', alg ?? '', hex ?? '');
    if (kind === 'blobs') return (await hashFile(path)) ?? `blob ${d.digest}: missing`;
    try {
      const bytes = await readFile(path);
      return { digest: sha256(bytes), size: bytes.length, bytes };
    } catch {
      return `manifest ${d.digest}: missing`;
    }
  };
  for (const entry of index.manifests ?? []) {
    const name = entry.annotations?.['org.opencontainers.image.ref.name'];
    if (name !== undefined) tags.set(name, entry.digest);
    await walk(fetcher, entry, problems);
  }
  problems.push(...(await strayOrDamagedFiles(dir)));
  return { tags, problems };
}

const LAYOUT_ROOT = new Set(['oci-layout', 'index.json', 'blobs']);

/**
 * Files a copy must not leave: anything beside oci-layout, index.json and blobs/ (temp files), and
 * any blob, referenced or not, whose bytes do not match its name (a later copy would reuse it).
 */
async function strayOrDamagedFiles(dir: string): Promise<string[]> {
  const problems: string[] = [];
  for (const name of await readdir(dir)) if (!LAYOUT_ROOT.has(name)) problems.push(`stray file ${name}`);
  const blobs = join(dir, 'blobs');
  for (const alg of await readdir(blobs).catch(() => [])) {
    for (const name of await readdir(join(blobs, alg)).catch(() => [])) {
      if (alg !== 'sha256' || !/^[0-9a-f]{64}$/.test(name)) {
        problems.push(`stray file blobs/${alg}/${name}`);
        continue;
      }
      const got = await hashFile(join(blobs, alg, name));
      if (got?.digest !== `sha256:${name}`)
        problems.push(`blob file ${name} holds ${got?.digest ?? 'unreadable bytes'}`);
    }
  }
  return problems;
}

/** skopeo's view of an image: the digest of its raw manifest, or the error it printed. */
export async function skopeoDigest(ref: string): Promise<string> {
  const r = await runSkopeo(['inspect', '--raw', '--tls-verify=false', ref], { timeoutMs: 30_000 });
  if (r.code !== 0) return `skopeo failed: ${r.stderr.trim()}`;
  return sha256(Buffer.from(r.stdout, 'utf8'));
}

/** Has skopeo copy every image of `from` (it verifies each blob's digest); the error it printed, or undefined. */
export async function skopeoCopyProblem(from: string, to: string): Promise<string | undefined> {
  const r = await runSkopeo(['copy', '--all', '--quiet', '--src-tls-verify=false', from, to], { timeoutMs: 60_000 });
  return r.code === 0 ? undefined : `skopeo copy ${from}: ${r.stderr.trim()}`;
}
