/**
 * Is this image trusted? The policy.json decision for an image over its source, as containers/image's
 * PolicyContext.IsRunningImageAllowed makes it: the requirements of the most specific scope of the
 * reference's transport, checked against the manifest bytes and the signatures the source stores for
 * them. A list is decided per instance (each instance has its own digest and signatures).
 */
import type { Digest } from '../digest/digest.js';
import { FerryError, throwIfAborted } from '../errors.js';
import { guessMIMETypeLenient } from '../manifest/guess.js';
import {
  isKnownManifestMIMEType,
  isListMIMEType,
  manifestDigest,
  manifestMatchesDigest,
  parseManifest,
} from '../manifest/index.js';
import type { ListInstance, ListManifest } from '../manifest/types.js';
import {
  evaluatePolicy,
  loadPolicy,
  type Policy,
  policyRequirementsForReference,
  type RequirementOutcome,
  type SignatureRequirementVerifier,
} from '../signature/policy/index.js';
import { describeStoredSignature, parseStoredSignature, type SignatureDescription } from '../signature/stored.js';
import { createPolicySignatureVerifier } from '../signature/verifier.js';
import { parseImageReference } from '../transports/registry.js';
import type { ImageOptions, ImageReference, ImageSource, Platform, RawManifest } from '../transports/types.js';
import { quoteInput } from '../util/quote.js';

/** The decision for one manifest: the top-level one, or an instance of a list. */
export interface ManifestPolicyDecision {
  /** Undefined only for a top-level manifest whose digest cannot be computed (such a manifest is never signed for). */
  digest: Digest | undefined;
  mimeType: string;
  /** True for an instance of a list; false for the top-level manifest (an image or the list itself). */
  instance: boolean;
  /** The platform the list gives for an instance. */
  platform?: Platform;
  allowed: boolean;
  /** The scope that chose the requirements: `transports["docker"]["quay.io/org"]`, or `default`. */
  scope: string;
  /** Every requirement's outcome, in the policy's order: all must accept. */
  requirements: RequirementOutcome[];
  /** The signatures stored for this manifest, as they describe themselves (unverified). */
  signatures: SignatureDescription[];
}

export interface ImagePolicyVerification {
  /** The image, `transport:within`. */
  reference: string;
  /** True when every decided manifest is allowed. */
  allowed: boolean;
  decisions: ManifestPolicyDecision[];
}

export interface PolicyEvaluationOptions {
  signal?: AbortSignal;
  /** Checks signedBy / sigstoreSigned requirements; default createPolicySignatureVerifier(). */
  verifier?: SignatureRequirementVerifier;
}

/** Which manifests of an open image to decide. */
export interface PolicyTargets {
  /** Decide the top-level manifest (for a list: the list's own signatures). */
  topLevel: boolean;
  /** Decide these instances of the top-level list. */
  instances: readonly ListInstance[];
}

/**
 * Decides `targets` of the image `ref` over its open `source`, whose top-level manifest is `topLevel`
 * (the bytes the caller goes on to use: what is decided is what is copied). Instance manifests are
 * fetched and checked against the digest the list names.
 */
export async function evaluateSourcePolicy(
  ref: ImageReference,
  source: ImageSource,
  policy: Policy,
  topLevel: RawManifest,
  targets: PolicyTargets,
  options: PolicyEvaluationOptions = {},
): Promise<ImagePolicyVerification> {
  const { signal } = options;
  const verifier = options.verifier ?? createPolicySignatureVerifier();
  const choice = policyRequirementsForReference(policy, ref);
  const decide = async (raw: RawManifest, instance: ListInstance | undefined): Promise<ManifestPolicyDecision> => {
    throwIfAborted(signal);
    const blobs = await source.getSignatures(instance?.digest, signal);
    const signatures = await Promise.all(blobs.map((b) => describeStoredSignature(b)));
    const unverified = [];
    for (const b of blobs) {
      try {
        unverified.push(parseStoredSignature(b));
      } catch {
        // A sigstore blob that does not parse satisfies no requirement; its description says why.
      }
    }
    const decision = await evaluatePolicy(
      choice.requirements,
      { manifest: raw.bytes, dockerReference: ref.dockerReference(), signatures: unverified },
      { verifier, signal },
    );
    return {
      digest: instance?.digest ?? digestOrUndefined(raw),
      mimeType: instance?.mediaType ?? raw.mimeType,
      instance: instance !== undefined,
      ...(instance?.platform === undefined ? {} : { platform: instance.platform }),
      allowed: decision.allowed,
      scope: choice.scope,
      requirements: decision.reasons,
      signatures,
    };
  };
  const decisions: ManifestPolicyDecision[] = [];
  if (targets.topLevel) decisions.push(await decide(topLevel, undefined));
  for (const instance of targets.instances) {
    const raw = await source.getManifest(instance.digest, signal);
    if (!manifestMatchesDigest(raw.bytes, instance.digest)) {
      throw new FerryError(
        'DIGEST_MISMATCH',
        `${ref.toString()}: manifest of instance ${instance.digest} does not match its digest`,
        {
          details: { expected: instance.digest, actual: manifestDigest(raw.bytes) },
        },
      );
    }
    decisions.push(await decide(raw, instance));
  }
  return { reference: ref.toString(), allowed: decisions.length > 0 && decisions.every((d) => d.allowed), decisions };
}

function digestOrUndefined(raw: RawManifest): Digest | undefined {
  try {
    return manifestDigest(raw.bytes);
  } catch {
    return undefined;
  }
}

/**
 * The list `raw` is, or undefined for anything else. Only a list is parsed before its policy is decided:
 * as upstream, nothing else about an image is read before the decision (a manifest that does not parse is
 * decided, and rejected, on its bytes).
 */
export function manifestListOf(raw: RawManifest): ListManifest | undefined {
  const mimeType = isKnownManifestMIMEType(raw.mimeType) ? raw.mimeType : guessMIMETypeLenient(raw.bytes);
  if (!isListMIMEType(mimeType)) return undefined;
  const parsed = parseManifest(raw.bytes, mimeType);
  return parsed.kind === 'list' ? parsed : undefined;
}

export interface VerifyImageOptions extends PolicyEvaluationOptions {
  /** Settings for opening the image (registry TLS, credentials, ...), read by its transport. */
  sourceOptions?: ImageOptions;
}

/**
 * The policy decision for an image (Ferry's `evaluatePolicy(image, policy)`): `policy` is a parsed
 * policy or the path of a policy.json (read strictly). Decides the top-level manifest and, for a list,
 * every instance too; opens nothing but the image's source and never writes.
 */
export async function verifyImage(
  image: ImageReference | string,
  policy: Policy | string,
  options: VerifyImageOptions = {},
): Promise<ImagePolicyVerification> {
  const ref = typeof image === 'string' ? parseImageReference(image) : image;
  const { signal } = options;
  const resolved =
    typeof policy === 'string' ? await loadPolicy({ path: policy, ...(signal ? { signal } : {}) }) : policy;
  const source = await ref.newImageSource({ ...options.sourceOptions, ...(signal ? { signal } : {}) });
  try {
    const topLevel = await source.getManifest(undefined, signal);
    const instances = manifestListOf(topLevel)?.instances() ?? [];
    return await evaluateSourcePolicy(ref, source, resolved, topLevel, { topLevel: true, instances }, options);
  } finally {
    await source.close();
  }
}

/** One line for a decided manifest: which manifest, allowed or not, the scope, and each requirement's outcome. */
export function describePolicyDecision(d: ManifestPolicyDecision): string {
  const what = d.instance
    ? `instance ${d.digest}${d.platform === undefined ? '' : ` (${platformText(d.platform)})`}`
    : `manifest ${d.digest ?? '(digest cannot be computed)'}`;
  const outcomes = d.requirements
    .map((r) => `requirement ${r.index + 1} (${r.type}) ${r.accepted ? 'accepted' : 'rejected'}: ${r.reason}`)
    .join('; ');
  return `${what} ${d.allowed ? 'accepted' : 'rejected'} by ${d.scope}: ${outcomes}`;
}

function platformText(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** POLICY_REJECTED for a verification that is not allowed: names the image, the scope and each failed requirement. */
export function policyRejection(v: ImagePolicyVerification): FerryError {
  const rejected = v.decisions.filter((d) => !d.allowed);
  const lines = rejected.map((d) => {
    const failed = d.requirements
      .filter((r) => !r.accepted)
      .map((r) => `requirement ${r.index + 1} (${r.type}): ${r.reason}`)
      .join('; ');
    const what = d.instance
      ? `instance ${d.digest}${d.platform ? ` (${platformText(d.platform)})` : ''}`
      : `manifest ${d.digest ?? '(digest cannot be computed)'}`;
    return `${what} by ${d.scope}: ${failed === '' ? 'no requirement accepted it' : failed}`;
  });
  return new FerryError(
    'POLICY_REJECTED',
    `source image ${quoteInput(v.reference)} rejected by the trust policy: ${lines.join(' | ')}`,
    { details: { reference: v.reference, decisions: rejected } },
  );
}
