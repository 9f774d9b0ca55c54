/**
 * Deciding whether an image may be used: every requirement of the chosen list must accept it
 * (containers/image PolicyContext.IsRunningImageAllowed). Signature checks are delegated to a verifier.
 */
import { isFerryError } from '../../errors.js';
import type { DockerReference } from '../../reference/reference.js';
import type { PolicyRequirement, PolicyRequirements, SignedByRequirement, SigstoreSignedRequirement } from './types.js';

/** A signature as stored beside an image, before any verification (containers/image internal/signature). */
export type UnverifiedSignature =
  | { kind: 'simpleSigning' /** The OpenPGP message, as stored. */; blob: Uint8Array }
  | {
      kind: 'sigstore';
      /** The layer's media type, as the registry claims it (untrusted). */
      mimeType: string;
      payload: Uint8Array;
      annotations: Readonly<Record<string, string>>;
    };

/** What a requirement is checked against: one image instance (per instance for a list). */
export interface ImageToVerify {
  /** The unparsed manifest bytes: signatures name their digest, so the bytes are the truth. */
  manifest: Uint8Array;
  /** The image's Docker reference, when its transport has one (identity rules need it). */
  dockerReference: DockerReference | undefined;
  signatures: readonly UnverifiedSignature[];
}

/** A requirement that needs a signature check. */
export type SignatureRequirement = SignedByRequirement | SigstoreSignedRequirement;

export interface RequirementDecision {
  accepted: boolean;
  /** Why, in one line: the key or identity that accepted, or what was wrong with each signature. */
  reason: string;
}

/**
 * Checks signedBy / sigstoreSigned requirements: accepts when at least one of the image's signatures
 * is made by a trusted key for the manifest and an identity the requirement's signedIdentity allows.
 * It should resolve (not throw) with a rejection for a bad, missing or foreign signature.
 */
export interface SignatureRequirementVerifier {
  verify(
    requirement: SignatureRequirement,
    image: ImageToVerify,
    options?: { signal?: AbortSignal },
  ): Promise<RequirementDecision>;
}

export interface RequirementOutcome extends RequirementDecision {
  /** Position in the requirement list. */
  index: number;
  type: PolicyRequirement['type'];
}

export interface PolicyDecision {
  allowed: boolean;
  /** One outcome per requirement, in order. */
  reasons: RequirementOutcome[];
}

export interface EvaluatePolicyOptions {
  verifier?: SignatureRequirementVerifier;
  signal?: AbortSignal;
}

/** Evaluates every requirement (so a report names all that failed); the image is allowed when all accept. */
export async function evaluatePolicy(
  requirements: PolicyRequirements,
  image: ImageToVerify,
  options: EvaluatePolicyOptions = {},
): Promise<PolicyDecision> {
  const reasons: RequirementOutcome[] = [];
  for (const [index, requirement] of requirements.entries()) {
    const decision = await evaluateRequirement(requirement, image, options);
    reasons.push({ index, type: requirement.type, ...decision });
  }
  return { allowed: reasons.length > 0 && reasons.every((r) => r.accepted), reasons };
}

async function evaluateRequirement(
  requirement: PolicyRequirement,
  image: ImageToVerify,
  options: EvaluatePolicyOptions,
): Promise<RequirementDecision> {
  switch (requirement.type) {
    case 'insecureAcceptAnything':
      return { accepted: true, reason: 'insecureAcceptAnything accepts any image' };
    case 'reject':
      return { accepted: false, reason: 'the policy rejects images in this scope (reject)' };
    case 'signedBaseLayer':
      return {
        accepted: false,
        reason: 'signedBaseLayer is not implemented (as in containers/image); it never accepts',
      };
    case 'signedBy':
    case 'sigstoreSigned': {
      if (requirement.type === 'signedBy' && requirement.keyType !== 'GPGKeys')
        return { accepted: false, reason: `signedBy keyType "${requirement.keyType}" is not implemented` };
      if (options.verifier === undefined)
        return { accepted: false, reason: `${requirement.type}: signature verification is not available` };
      try {
        return await options.verifier.verify(requirement, image, { signal: options.signal });
      } catch (e) {
        if (isFerryError(e, 'ABORTED')) throw e;
        return { accepted: false, reason: `${requirement.type}: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
  }
}
