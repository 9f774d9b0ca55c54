/**
 * `ferry verify IMAGE` (beyond skopeo): decides the trust policy for an image without copying it, and
 * prints per manifest (the image; for a list, the list and every instance) the decision, the scope and
 * requirements that made it, and the signatures found. Exit 0 only when every manifest is accepted;
 * a rejection prints the report, then fails with POLICY_REJECTED (exit 1).
 */
import type { Command } from 'commander';
import type { ImagePolicyVerification, ManifestPolicyDecision, SignatureDescription } from '../index.js';
import { commandPolicy } from './policy.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { writeStdout } from './output.js';
import { globalOptions, imageOptionsFromGlobals, stopSignal } from './util.js';

interface VerifyFlags {
  format?: string;
  sharedBlobDir?: string;
}

export function registerVerify(program: Command): void {
  const cmd = program
    .command('verify')
    .summary('Check IMAGE-NAME against the trust policy without copying it')
    .description(
      'Evaluate the trust policy (--policy, else the default policy.json) for IMAGE-NAME and, for a list, every instance',
    )
    .argument('<image-name>', 'image to verify, transport:details')
    .option('--format <format>', 'output format: text (default) or json')
    .option('--shared-blob-dir <directory>', 'directory to use to share blobs across OCI repositories')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry verify --policy ./policy.json dir:./signed\n  ferry verify --format json docker://quay.io/org/app:1.0',
    );
  addRetryFlags(addRegistryFlags(cmd)).action(async (name: string, flags: VerifyFlags, command: Command) => {
    const { FerryError, parseImageReference, policyRejection, verifyImage } = await import('../index.js');
    const usage = (m: string) => new FerryError('INVALID_ARGUMENT', m);
    const format = flags.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw usage(`--format: unknown format "${format}" (text, json)`);
    const globals = globalOptions(command);
    if (globals.insecurePolicy)
      throw usage('verify evaluates the trust policy: --insecure-policy cannot be used with it');
    const policy = await commandPolicy(globals, stopSignal());
    if (policy === undefined) throw usage('no trust policy to verify with');
    const all = flags as unknown as Record<string, unknown>;
    const sourceOptions = {
      ...imageOptionsFromGlobals(globals),
      ...registryOptions(all, '', usage),
      ...retryOptions(all, usage),
    };
    if (flags.sharedBlobDir !== undefined) sourceOptions.sharedBlobDir = flags.sharedBlobDir;
    const ref = parseImageReference(name);
    const verification = await verifyImage(ref, policy, { sourceOptions, signal: stopSignal() });
    await writeStdout(format === 'json' ? `${JSON.stringify(verification, null, 2)}\n` : textReport(verification));
    if (!verification.allowed) throw policyRejection(verification);
  });
}

function textReport(v: ImagePolicyVerification): string {
  const lines = [`${v.reference}: ${v.allowed ? 'accepted' : 'rejected'}`];
  for (const d of v.decisions) lines.push(...decisionLines(d));
  return `${lines.join('\n')}\n`;
}

function decisionLines(d: ManifestPolicyDecision): string[] {
  const platform =
    d.platform === undefined
      ? ''
      : ` ${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}`;
  const lines = [
    `  ${d.instance ? 'instance' : 'manifest'} ${d.digest ?? '(digest cannot be computed)'}${platform}: ${d.allowed ? 'accepted' : 'rejected'} (policy ${d.scope})`,
  ];
  for (const r of d.requirements) {
    lines.push(`    requirement ${r.index + 1} ${r.type}: ${r.accepted ? 'accepted' : 'rejected'}: ${r.reason}`);
  }
  if (d.signatures.length === 0) lines.push('    signatures: none');
  for (const [i, s] of d.signatures.entries()) lines.push(`    signature ${i + 1}: ${signatureText(s)}`);
  return lines;
}

/** A signature as it describes itself (not verified: the requirements above say what was trusted). */
function signatureText(s: SignatureDescription): string {
  const parts: string[] = [s.kind];
  if (s.keyIDs !== undefined) parts.push(`key ID ${s.keyIDs.join(', ') || 'none'}`);
  if (s.certificate !== undefined) parts.push(s.certificate ? 'certificate' : 'public key');
  if (s.identity !== undefined) parts.push(`identity ${s.identity}`);
  if (s.manifestDigest !== undefined) parts.push(`for ${s.manifestDigest}`);
  if (s.unreadable !== undefined) parts.push(`unreadable: ${s.unreadable}`);
  return parts.join(', ');
}
