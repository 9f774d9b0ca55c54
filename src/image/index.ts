/** The typed view of an image over a source: manifest, instance choice, config, layers, inspect. */
export { Image, openImage } from './image.js';
export type { InspectInfo, InspectLayer, InspectOptions, ResolvedImage } from './image.js';
export {
  describePolicyDecision,
  evaluateSourcePolicy,
  policyRejection,
  verifyImage,
} from './policy.js';
export type {
  ImagePolicyVerification,
  ManifestPolicyDecision,
  PolicyEvaluationOptions,
  PolicyTargets,
  VerifyImageOptions,
} from './policy.js';
export { listReferrers } from './referrers.js';
export type { ListReferrersOptions } from './referrers.js';
