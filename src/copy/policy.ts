/**
 * The trust policy check of a copy (containers/image copy: IsRunningImageAllowed before anything about
 * the image is used): decided on the source's own manifest bytes, before the destination is opened, for
 * exactly the images the copy takes — the image; for a list, each instance copied (the list itself is
 * not decided, as upstream). A list copied without instances (`index-only`) has its own signatures
 * decided instead, where upstream decides nothing.
 */
import type { ListInstance } from '../manifest/index.js';
import { evaluateSourcePolicy, manifestListOf, policyRejection } from '../image/policy.js';
import { loadPolicy } from '../signature/policy/index.js';
import type { ImageReference, ImageSource, RawManifest } from '../transports/types.js';
import { selectInstances, systemInstance } from './list.js';
import type { CopyOptions } from './types.js';

/** Throws POLICY_REJECTED unless the policy of `options` allows what the copy of `ref` takes; no-op without a policy. */
export async function enforceCopyPolicy(
  ref: ImageReference,
  source: ImageSource,
  topLevel: RawManifest,
  options: CopyOptions,
  signal: AbortSignal,
): Promise<void> {
  if (options.policy === undefined || options.insecurePolicy === true) return;
  const policy =
    typeof options.policy === 'string' ? await loadPolicy({ path: options.policy, signal }) : options.policy;
  const list = manifestListOf(topLevel);
  let instances: ListInstance[] = [];
  if (list !== undefined) {
    const selection = options.imageListSelection ?? 'system';
    instances = selection === 'system' ? [systemInstance(list, options)] : selectInstances(list, selection);
  }
  const targets = { topLevel: instances.length === 0, instances };
  const verification = await evaluateSourcePolicy(ref, source, policy, topLevel, targets, { signal });
  options.onPolicyDecision?.(verification);
  if (!verification.allowed) throw policyRejection(verification);
}
