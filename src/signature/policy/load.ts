/** Finding and reading policy.json as skopeo does: `--policy`, else the user's file, else the system's. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { abortError, FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import { parsePolicy } from './parse.js';
import type { Policy } from './types.js';

export const SYSTEM_POLICY_PATH = '/etc/containers/policy.json';

export interface LoadPolicyOptions {
  /** An explicit file (`--policy`): used alone, and its absence is an error. */
  path?: string;
  /** The environment (for HOME); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

/** The files tried in order: the explicit one, or `$HOME/.config/containers/policy.json` then the system one. */
export function policyPathCandidates(options: LoadPolicyOptions = {}): string[] {
  if (options.path !== undefined) return [options.path];
  const home = (options.env ?? process.env).HOME;
  const user = home === undefined || home === '' ? [] : [join(home, '.config', 'containers', 'policy.json')];
  return [...user, SYSTEM_POLICY_PATH];
}

/** The policy from the first file that exists; POLICY_NOT_FOUND names every path tried. */
export async function loadPolicy(options: LoadPolicyOptions = {}): Promise<Policy & { path: string }> {
  const tried = policyPathCandidates(options);
  for (const path of tried) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path, { signal: options.signal });
    } catch (e) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && options.path === undefined) continue;
      if (code === 'ENOENT' || code === 'ENOTDIR') break;
      throw new FerryError('INVALID_POLICY', `cannot read policy ${quoteInput(path)}: ${code ?? String(e)}`, {
        cause: e,
        details: { path },
      });
    }
    return { ...parsePolicy(bytes, path), path };
  }
  throw new FerryError(
    'POLICY_NOT_FOUND',
    `no policy.json file found at any of the following: ${tried.map(quoteInput).join(', ')}`,
    { details: { tried } },
  );
}
