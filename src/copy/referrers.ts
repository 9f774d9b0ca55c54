/**
 * `withReferrers`: after an image is copied, the manifests attached to it travel along, unchanged.
 * - OCI 1.1 referrers (distribution-spec v1.1 "Listing Referrers"; image-spec v1.1 `subject`): the
 *   manifests whose `subject` is a copied manifest's digest, as the source lists them (its referrers
 *   API, or the referrers tag schema), written by digest; the destination keeps its referrers index
 *   (a registry without the API gets the `<alg>-<hex>` tag index maintained by the registry client).
 * - cosign's tag scheme (cosign specs/SIGNATURE_SPEC.md "Storage Specification", and its attestation
 *   and SBOM attachments): the tags `<alg>-<hex>.sig`, `.att`, `.sbom` next to the image, copied
 *   under the same tags.
 * Recursively: referrers of referrers (a signature of an SBOM) come too, and so do the referrers of the
 * manifests inside an attached index (an attestation index whose per-platform manifest is signed).
 * Every attached manifest and its blobs are copied as-is, byte for byte (no conversion, no compression
 * change), so digests stay equal: a referrer names its subject by digest, and a cosign tag by the
 * digest in its name.
 */
import { type Digest, digestAlgorithm, digestHex, parseDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { field, isJSONObject } from '../manifest/json.js';
import { parseJSONObject } from '../manifest/json.js';
import { manifestDigest, manifestMatchesDigest, parseManifest } from '../manifest/index.js';
import type { BlobInfo } from '../manifest/blob-info.js';
import type { RawManifest } from '../transports/types.js';
import { quoteInput } from '../util/quote.js';
import { type BlobContext, copyBlobAsIs } from './blob.js';
import { blobContext, type CopySession } from './session.js';
import type { CopyOptions, CopyResult } from './types.js';

/** cosign's attachment tag suffixes (signatures, attestations, SBOMs). */
const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const;
/** Most manifests carried along for one copy: a registry cannot make a copy run forever. */
const MAX_ATTACHED = 10_000;
/** Deepest nesting of indexes inside an attached index. */
const MAX_NESTING = 8;

/**
 * The options a copy with `withReferrers` runs with: digests preserved, since every referrer names
 * its subject by digest (a converted image would leave its referrers pointing at nothing).
 */
export function referrersCopyOptions(options: CopyOptions): CopyOptions {
  return options.withReferrers === true ? { ...options, preserveDigests: true } : options;
}

/** After the image is copied (copy.ts): its referrers and cosign attachments, when `withReferrers` is set. */
export async function carryReferrers(session: CopySession, signal: AbortSignal, result: CopyResult): Promise<void> {
  if (session.options.withReferrers !== true) return;
  const ctx = blobContext(session, signal);
  const selection = session.options.imageListSelection ?? 'system';
  await copyReferrers(session, ctx, copiedSubjects(result.manifest, selection !== 'index-only'));
}

/** Refuses `withReferrers` before anything is copied when either end cannot take part. */
export function checkReferrersSupport(session: CopySession): void {
  const { source, destination } = session;
  if (source.listReferrers === undefined || source.getTaggedManifest === undefined) {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `withReferrers: source ${source.reference.toString()} cannot list referrers (only docker:// and oci: can)`,
    );
  }
  if (destination.putReferrerManifest === undefined || destination.putTaggedManifest === undefined) {
    throw new FerryError(
      'UNSUPPORTED_OPERATION',
      `withReferrers: destination ${session.destinationName} cannot hold referrers or cosign attachment tags (only docker:// and oci: can)`,
    );
  }
}

/** The manifests the referrers are looked up for: the copied top-level manifest, and the instances of a copied list. */
export function copiedSubjects(written: Buffer, copiedInstances: boolean): Digest[] {
  const top = manifestDigest(written);
  const parsed = parseManifest(written);
  if (parsed.kind !== 'list' || !copiedInstances) return [top];
  return [top, ...parsed.instances().map((i) => i.digest)];
}

/** The `subject` digest a manifest names, if any. */
function subjectOf(bytes: Buffer): string | undefined {
  const obj = parseJSONObject(bytes, 'referrer manifest');
  const subject = field(obj, 'subject');
  return isJSONObject(subject) && typeof subject.digest === 'string' ? subject.digest : undefined;
}

/**
 * Copies the referrers and cosign attachment tags of `subjects`, recursively, as-is. Returns how many
 * manifests were carried (the manifests inside an attached index included).
 */
export async function copyReferrers(session: CopySession, ctx: BlobContext, subjects: Digest[]): Promise<number> {
  checkReferrersSupport(session);
  const { source, destination, progress } = session;
  const signal = ctx.signal;
  const seen = new Set<string>(subjects);
  const queue = [...subjects];
  let carried = 0;
  const count = (): void => {
    carried++;
    if (carried > MAX_ATTACHED) {
      throw new FerryError('TOO_LARGE', `withReferrers: more than ${MAX_ATTACHED} attached manifests`, {
        details: { limit: MAX_ATTACHED },
      });
    }
  };
  // The manifests inside an attached index are subjects too: looked up once each, counted against the same limit.
  const lookUpInside = (inside: Digest[]): void => {
    for (const digest of inside) {
      if (seen.has(digest)) continue;
      seen.add(digest);
      count();
      queue.push(digest);
    }
  };
  for (let subject = queue.shift(); subject !== undefined; subject = queue.shift()) {
    const listing = await (source.listReferrers as NonNullable<typeof source.listReferrers>)(subject, { signal });
    for (const d of listing.manifests) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      const raw = await source.getManifest(d.digest, signal);
      // A listing is the registry's word; the manifest itself must name the subject (a hostile or stale
      // tag index could list anything).
      const named = subjectOf(raw.bytes);
      if (named !== subject) {
        progress.emit({
          kind: 'message',
          text: `referrer ${d.digest} of ${subject} skipped: its subject is ${named === undefined ? 'missing' : quoteInput(named)}`,
        });
        continue;
      }
      count();
      progress.emit({
        kind: 'message',
        text: `Copying referrer ${d.digest} (${printable(d.artifactType)}) of ${subject}`,
      });
      const inside = await copyManifestAsIs(session, ctx, raw, d.digest, 0);
      await (destination.putReferrerManifest as NonNullable<typeof destination.putReferrerManifest>)(
        raw.bytes,
        d.digest,
        signal,
      );
      queue.push(d.digest);
      lookUpInside(inside);
    }
    const parsed = parseDigest(subject);
    for (const suffix of COSIGN_SUFFIXES) {
      const tag = `${digestAlgorithm(parsed)}-${digestHex(parsed)}.${suffix}`;
      const tagged = await (source.getTaggedManifest as NonNullable<typeof source.getTaggedManifest>)(tag, signal);
      if (tagged === undefined) continue;
      count();
      progress.emit({ kind: 'message', text: `Copying cosign attachment ${tag}` });
      const inside = await copyManifestAsIs(session, ctx, tagged, tagged.digest, 0);
      await (destination.putTaggedManifest as NonNullable<typeof destination.putTaggedManifest>)(
        tagged.bytes,
        tag,
        signal,
      );
      if (!seen.has(tagged.digest)) {
        seen.add(tagged.digest);
        queue.push(tagged.digest);
      }
      lookUpInside(inside);
    }
  }
  return carried;
}

function printable(artifactType: string | undefined): string {
  return artifactType === undefined ? 'no artifactType' : quoteInput(artifactType);
}

/**
 * Copies what a manifest names, unchanged: an image manifest's config and layers (any media type,
 * streamed, digest-verified, never recompressed); an index's manifests (each put by digest) and theirs.
 * The manifest itself is put by the caller. Returns the digests of the manifests put inside it, nested ones included.
 */
async function copyManifestAsIs(
  session: CopySession,
  ctx: BlobContext,
  raw: RawManifest,
  digest: Digest,
  depth: number,
): Promise<Digest[]> {
  if (!manifestMatchesDigest(raw.bytes, digest)) {
    throw new FerryError('DIGEST_MISMATCH', `attached manifest ${digest}: its bytes have another digest`, {
      details: { expected: digest },
    });
  }
  const parsed = parseManifest(raw.bytes, raw.mimeType);
  if (parsed.kind === 'list') {
    if (depth >= MAX_NESTING) {
      throw new FerryError('TOO_LARGE', `attached index ${digest}: nested more than ${MAX_NESTING} deep`);
    }
    const inside: Digest[] = [];
    for (const instance of parsed.instances()) {
      const child = await session.source.getManifest(instance.digest, ctx.signal);
      inside.push(...(await copyManifestAsIs(session, ctx, child, instance.digest, depth + 1)));
      await session.destination.putManifest(child.bytes, instance.digest, ctx.signal);
      inside.push(instance.digest);
    }
    return inside;
  }
  const config = parsed.configInfo();
  const blobs: { info: BlobInfo; isConfig: boolean }[] = [
    ...(config === undefined ? [] : [{ info: config, isConfig: true }]),
    ...parsed.layerInfos().map((info) => ({ info, isConfig: false })),
  ];
  for (const { info, isConfig } of blobs) await copyBlobAsIs(ctx, info, isConfig);
  return [];
}
