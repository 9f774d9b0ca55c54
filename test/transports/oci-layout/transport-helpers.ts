/**
 * Helpers for the on-disk transport tests: a minimal copy loop over the transport contract (the
 * real copy engine lives in src/copy/), a verifying drain, skopeo, and a FerryError matcher.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest } from '../../../src/digest/digest.js';
import { DigestVerifier } from '../../../src/digest/verify.js';
import { isFerryError } from '../../../src/errors.js';
import type { BlobInfo, ImageDestination, ImageSource } from '../../../src/transports/types.js';
import { run } from '../../helpers/run.js';

interface Descriptor {
  mediaType?: string;
  digest: Digest;
  size: number;
  urls?: string[];
}

async function copyBlobs(src: ImageSource, dest: ImageDestination, manifest: Buffer): Promise<void> {
  const parsed = JSON.parse(manifest.toString('utf8')) as { config?: Descriptor; layers?: Descriptor[] };
  const blobs: [Descriptor, boolean][] = [
    ...(parsed.config === undefined ? [] : [[parsed.config, true] as [Descriptor, boolean]]),
    ...(parsed.layers ?? []).map((l): [Descriptor, boolean] => [l, false]),
  ];
  for (const [d, isConfig] of blobs) {
    const info: BlobInfo = {
      digest: d.digest,
      size: d.size,
      ...(d.mediaType === undefined ? {} : { mediaType: d.mediaType }),
    };
    if ((await dest.tryReusingBlob(info, { isConfig })) !== undefined) continue;
    const { stream } = await src.getBlob(info);
    await dest.putBlob(stream, info, { isConfig });
  }
}

/**
 * Copies the source's image (all instances of an index) into `dest` and commits: every blob goes
 * through tryReusingBlob / getBlob → putBlob, then the manifests, the signatures, and commit.
 */
export async function copyImage(src: ImageSource, dest: ImageDestination): Promise<void> {
  const top = await src.getManifest();
  const parsed = JSON.parse(top.bytes.toString('utf8')) as { manifests?: Descriptor[] };
  if (Array.isArray(parsed.manifests)) {
    for (const m of parsed.manifests) {
      const instance = await src.getManifest(m.digest);
      await copyBlobs(src, dest, instance.bytes);
      await dest.putManifest(instance.bytes, m.digest);
      await dest.putSignatures(await src.getSignatures(m.digest), m.digest);
    }
  } else {
    await copyBlobs(src, dest, top.bytes);
  }
  await dest.putManifest(top.bytes);
  await dest.putSignatures(await src.getSignatures());
  await dest.commit();
}

/** Reads a blob stream to its end through a DigestVerifier (rejects on a mismatch). */
export async function drainVerified(stream: NodeJS.ReadableStream, digest: Digest, size = -1): Promise<void> {
  await pipeline(
    stream,
    new DigestVerifier(digest, size),
    new Writable({
      write(_chunk, _enc, cb) {
        cb();
      },
    }),
  );
}

/** Runs skopeo (policy checks off) and returns its stdout; fails the test on a non-zero exit. */
export async function skopeo(...args: string[]): Promise<string> {
  const r = await run('skopeo', ['--insecure-policy', ...args]);
  assert.equal(r.code, 0, `skopeo ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** An assert.rejects/throws matcher: a FerryError with this code (and message pattern). */
export function rejectsWith(code: string, pattern?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isFerryError(e), `expected a FerryError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (pattern !== undefined) assert.match(e.message, pattern);
    return true;
  };
}
