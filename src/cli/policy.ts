/**
 * The trust policy a command enforces, as skopeo finds it: `--policy FILE`, else
 * `$HOME/.config/containers/policy.json`, else `/etc/containers/policy.json`; none found is an error
 * naming the paths tried (POLICY_NOT_FOUND). `--insecure-policy` is the only way around it, and wins
 * over `--policy`. With `--debug`, each decision is written to stderr.
 */
import type { ImagePolicyVerification, Policy } from '../index.js';
import { printStderr } from './output.js';
import type { GlobalOptions } from './util.js';

/** The policy to enforce, or undefined under `--insecure-policy`. */
export async function commandPolicy(globals: GlobalOptions, signal?: AbortSignal): Promise<Policy | undefined> {
  if (globals.insecurePolicy) return undefined;
  const { loadPolicy } = await import('../index.js');
  return loadPolicy({
    ...(globals.policy === undefined ? {} : { path: globals.policy }),
    ...(signal ? { signal } : {}),
  });
}

/** `--debug`: which requirement accepted or rejected each image decided. */
export async function debugPolicyDecisions(
  globals: GlobalOptions,
): Promise<((v: ImagePolicyVerification) => void) | undefined> {
  if (!globals.debug) return undefined;
  const { describePolicyDecision } = await import('../index.js');
  return (v) => {
    for (const d of v.decisions) printStderr(`ferry: debug: policy: ${v.reference}: ${describePolicyDecision(d)}\n`);
  };
}
