/**
 * Sigstore signatures stored as cosign stores them in a registry. Tag scheme: cosign
 * specs/SIGNATURE_SPEC.md, section "Storage Specification": the signatures of manifest
 * `sha256:<hex>` live in the same repository under the tag `sha256-<hex>.sig` (`:` → `-`, then `.sig`).
 * That tag is an OCI image manifest whose layers are the signed payloads
 * (`application/vnd.dev.cosign.simplesigning.v1+json`, cosign pkg/types), each annotated with
 * `dev.cosignproject.cosign/signature` (and the certificate, chain and bundle ones, cosign pkg/oci/static).
 * Behaviour as containers/image docker/docker_image_src.go (appendSignaturesFromSigstoreAttachments)
 * and docker_image_dest.go (putSignaturesToSigstoreAttachments): every layer is returned (attestations
 * too: consumers go by MIME type); writes append, skipping a signature already there, and re-put the tag.
 */
import { Readable } from 'node:stream';
import { type Digest, digestAlgorithm, digestOf } from '../../digest/digest.js';
import { FerryError, isFerryError, throwIfAborted } from '../../errors.js';
import type { Descriptor } from '../../manifest/descriptor.js';
import { goMarshal, isJSONObject, type JSONObject } from '../../manifest/json.js';
import { MAX_CONFIG_SIZE, readAllLimited } from '../../manifest/limits.js';
import { MediaType } from '../../manifest/mediatypes.js';
import { OCIManifest } from '../../manifest/oci.js';
import { isManifestUnknown, type RegistryClient } from '../../registry-client/index.js';
import { cosignSignatureTag, type SigstoreSignature, sigstoreBlob } from '../../signature/sigstore/format.js';
import { MAX_SIGNATURE_SIZE } from './lookaside.js';

/**
 * More layers than this in one attachment manifest is taken as a broken or hostile registry (each
 * costs a request; upstream has no count limit, only the 4 MiB manifest one).
 */
export const MAX_SIGSTORE_ATTACHMENTS = 128;

/** The attachment manifest of `manifestDigest` in `repository`, or undefined when there is none. */
async function attachmentManifest(
  client: RegistryClient,
  repository: string,
  manifestDigest: Digest,
  signal: AbortSignal | undefined,
): Promise<OCIManifest | undefined> {
  const tag = cosignSignatureTag(manifestDigest);
  const where = `${client.host}/${repository}:${tag}`;
  let fetched: Awaited<ReturnType<RegistryClient['getManifest']>>;
  try {
    fetched = await client.getManifest(repository, tag, signal);
  } catch (e) {
    if (isManifestUnknown(e)) return undefined;
    throw e;
  }
  if (fetched.mimeType !== MediaType.OCI_MANIFEST) {
    throw new FerryError(
      'UNSUPPORTED_MANIFEST_TYPE',
      `sigstore attachment manifest ${where} has MIME type ${JSON.stringify(fetched.mimeType)}, not ${MediaType.OCI_MANIFEST}`,
      { details: { mimeType: fetched.mimeType } },
    );
  }
  let manifest: OCIManifest;
  try {
    manifest = new OCIManifest(fetched.bytes);
  } catch (e) {
    if (!isFerryError(e)) throw e;
    throw new FerryError(e.code, `parsing sigstore attachment manifest ${where}: ${e.message}`, { cause: e });
  }
  if (manifest.layers.length > MAX_SIGSTORE_ATTACHMENTS) {
    throw new FerryError(
      'TOO_LARGE',
      `sigstore attachment manifest ${where} has ${manifest.layers.length} layers, over the limit of ${MAX_SIGSTORE_ATTACHMENTS}`,
      { details: { layers: manifest.layers.length, limit: MAX_SIGSTORE_ATTACHMENTS } },
    );
  }
  return manifest;
}

/** A small blob a descriptor names, checked against its size and digest (upstream getOCIDescriptorContents). */
async function descriptorContents(
  client: RegistryClient,
  repository: string,
  desc: Descriptor,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const what = `blob ${desc.digest} in ${client.host}/${repository}`;
  if (desc.size > limit) {
    throw new FerryError('TOO_LARGE', `${what}: ${desc.size} bytes, over the ${limit}-byte limit`, {
      details: { size: desc.size, limit },
    });
  }
  const { stream } = await client.getBlob(repository, desc.digest, signal);
  let bytes: Buffer;
  try {
    bytes = await readAllLimited(stream, limit, what);
  } finally {
    stream.destroy();
  }
  const actual = digestOf(bytes, digestAlgorithm(desc.digest));
  if (actual !== desc.digest) {
    throw new FerryError('DIGEST_MISMATCH', `${what}: the registry sent content with digest ${actual}`, {
      details: { expected: desc.digest, actual },
    });
  }
  if (bytes.length !== desc.size) {
    throw new FerryError('SIZE_MISMATCH', `${what}: ${bytes.length} bytes, the manifest says ${desc.size}`, {
      details: { expected: desc.size, actual: bytes.length },
    });
  }
  return bytes;
}

/**
 * Every attachment of `manifestDigest` (the `sha256-<hex>.sig` tag), in layer order, each in the
 * `\0sigstore-json\n` signature form; [] when the tag does not exist.
 */
export async function readSigstoreAttachments(
  client: RegistryClient,
  repository: string,
  manifestDigest: Digest,
  signal?: AbortSignal,
): Promise<Buffer[]> {
  const manifest = await attachmentManifest(client, repository, manifestDigest, signal);
  if (manifest === undefined) return [];
  const out: Buffer[] = [];
  for (const layer of manifest.layers) {
    throwIfAborted(signal);
    const payload = await descriptorContents(client, repository, layer, MAX_SIGNATURE_SIZE, signal);
    out.push(sigstoreBlob({ mimeType: layer.mediaType, payload, annotations: layer.annotations ?? {} }));
  }
  return out;
}

function sameAnnotations(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && b[k] === a?.[k]);
}

/** Whether `layer` already holds `sig` (upstream layerMatchesSigstoreSignature: type, size, sha256, annotations). */
function layerHolds(layer: Descriptor, sig: SigstoreSignature): boolean {
  return (
    layer.mediaType === sig.mimeType &&
    layer.size === sig.payload.length &&
    layer.digest === digestOf(sig.payload) &&
    sameAnnotations(layer.annotations, sig.annotations)
  );
}

/**
 * The attachment image config, as upstream re-serialises its imgspecv1.Image: the fields of that
 * struct in its order (unknown ones dropped), `rootfs.diff_ids` naming every layer.
 */
function attachmentConfig(existing: JSONObject | undefined, diffIDs: readonly Digest[]): Buffer {
  const e = existing ?? {};
  const str = (k: string): string | undefined => (typeof e[k] === 'string' ? (e[k] as string) : undefined);
  const rootfs = isJSONObject(e.rootfs) ? e.rootfs : {};
  const features = Array.isArray(e['os.features']) && e['os.features'].length > 0 ? e['os.features'] : undefined;
  const config: JSONObject = {
    ...(str('created') ? { created: str('created') } : {}),
    ...(str('author') ? { author: str('author') } : {}),
    architecture: str('architecture') ?? '',
    os: str('os') ?? '',
    ...(str('os.version') ? { 'os.version': str('os.version') } : {}),
    ...(features ? { 'os.features': features } : {}),
    ...(str('variant') ? { variant: str('variant') } : {}),
    config: isJSONObject(e.config) ? e.config : {},
    rootfs: { type: typeof rootfs.type === 'string' ? rootfs.type : existing ? '' : 'layers', diff_ids: diffIDs },
    ...(Array.isArray(e.history) && e.history.length > 0 ? { history: e.history } : {}),
  };
  return goMarshal(config);
}

/** The diff IDs an existing attachment config lists (layers it cannot name make the config invalid). */
function existingDiffIDs(config: JSONObject, where: string): Digest[] {
  const rootfs = config.rootfs;
  if (rootfs === undefined || rootfs === null) return [];
  const ids = isJSONObject(rootfs) ? rootfs.diff_ids : undefined;
  if (ids === undefined || ids === null) return [];
  if (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string')) {
    throw new FerryError(
      'INVALID_MANIFEST',
      `sigstore attachment config ${where}: rootfs.diff_ids is not a list of digests`,
    );
  }
  return ids as Digest[];
}

async function putBytes(
  client: RegistryClient,
  repository: string,
  bytes: Buffer,
  signal: AbortSignal | undefined,
): Promise<{ digest: Digest; size: number }> {
  const digest = digestOf(bytes);
  const uploaded = await client.uploadBlob(repository, Readable.from([bytes]), {
    digest,
    size: bytes.length,
    ...(signal === undefined ? {} : { signal }),
  });
  return { digest: uploaded.digest, size: bytes.length };
}

/**
 * Adds `signatures` to the attachment manifest of `manifestDigest` (creating it when absent):
 * each not already there becomes a layer (its payload a blob, its annotations the layer's), the
 * config's diff_ids grow with it, and the `sha256-<hex>.sig` tag is put again. Nothing is written
 * when every signature is already there.
 */
export async function writeSigstoreAttachments(
  client: RegistryClient,
  repository: string,
  manifestDigest: Digest,
  signatures: readonly SigstoreSignature[],
  signal?: AbortSignal,
): Promise<void> {
  if (signatures.length === 0) return;
  const tag = cosignSignatureTag(manifestDigest);
  const existing = await attachmentManifest(client, repository, manifestDigest, signal);
  let config: JSONObject | undefined;
  if (existing !== undefined) {
    const where = `${client.host}/${repository}:${tag}`;
    const bytes = await descriptorContents(client, repository, existing.config, MAX_CONFIG_SIZE, signal);
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    if (!isJSONObject(parsed)) {
      throw new FerryError('INVALID_MANIFEST', `sigstore attachment config ${where}: not a JSON object`);
    }
    config = parsed;
  }
  const layers: Descriptor[] = [...(existing?.layers ?? [])];
  const diffIDs: Digest[] = config === undefined ? [] : existingDiffIDs(config, `${client.host}/${repository}:${tag}`);
  let added = 0;
  for (const sig of signatures) {
    throwIfAborted(signal);
    if (layers.some((layer) => layerHolds(layer, sig))) continue;
    const blob = await putBytes(client, repository, sig.payload, signal);
    layers.push({
      mediaType: sig.mimeType,
      ...blob,
      ...(Object.keys(sig.annotations).length > 0 ? { annotations: sig.annotations } : {}),
    });
    diffIDs.push(blob.digest);
    added++;
  }
  if (added === 0) return;
  const configBytes = attachmentConfig(config, diffIDs);
  const configBlob = await putBytes(client, repository, configBytes, signal);
  const manifest = OCIManifest.fromComponents({
    config: { mediaType: MediaType.OCI_CONFIG, ...configBlob },
    layers,
    ...(existing?.artifactType === undefined ? {} : { artifactType: existing.artifactType }),
    ...(existing?.subject === undefined ? {} : { subject: existing.subject }),
    ...(existing?.annotations === undefined ? {} : { annotations: existing.annotations }),
  });
  await client.putManifest(repository, tag, manifest.bytes, MediaType.OCI_MANIFEST, signal);
}
