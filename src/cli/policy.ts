/**
 * Trust policies (containers-policy.json) are not enforced yet (issue 12). Until they are, a command that would
 * check one refuses `--policy FILE` rather than copy an image the user asked to be checked. `--insecure-policy`
 * asks for no check and wins over `--policy`, as in skopeo. Without either flag the default policy file
 * (/etc/containers/policy.json) is not read: copies proceed as with `--insecure-policy` (the README says so).
 */
import type { GlobalOptions } from './util.js';

/** Why this command line cannot run without policy enforcement, or undefined when it asks for no check. */
export function unenforcedPolicy(globals: GlobalOptions): string | undefined {
  if (globals.policy === undefined || globals.insecurePolicy) return undefined;
  return (
    `--policy ${globals.policy}: trust policy checks are not supported yet, so nothing was copied ` +
    '(--insecure-policy copies without a check)'
  );
}
