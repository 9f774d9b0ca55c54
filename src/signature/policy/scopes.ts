/**
 * Which requirements apply to an image: the most specific scope of its transport that the policy
 * names, then the transport's `""`, then the global default (containers/image requirementsForImageRef).
 * A transport supplies its policy identity and its namespaces (from most to least specific).
 */
import { isDigest } from '../../digest/digest.js';
import { dockerReferenceNamespaces } from '../../reference/namespaces.js';
import type { Policy, PolicyRequirements } from './types.js';

/** Transports whose scopes are absolute paths (the image's directory or file, then its parents). */
const PATH_TRANSPORTS = new Set(['dir', 'oci', 'oci-archive']);
/** Transports whose only scope is `""` (their images have no identity to scope by). */
const DEFAULT_ONLY_TRANSPORTS = new Set(['docker-archive', 'tarball']);

/**
 * Why `scope` cannot be a key under `transports[transport]`, or undefined when it can. `""` is always
 * valid; scopes of transports Ferry does not know are kept (a policy is shared between tools).
 */
export function validatePolicyScope(transport: string, scope: string): string | undefined {
  if (scope === '') return undefined;
  if (DEFAULT_ONLY_TRANSPORTS.has(transport)) return `${transport}: supports no scope except the default ""`;
  // docker-daemon: scopes like docker: (a named image); image IDs only by "" (containers/image daemon transport).
  if (transport === 'docker-daemon' && isDigest(scope)) return 'can not use an algo:digest value as a namespace';
  if (transport === 'containers-storage') return storageScopeProblem(scope);
  if (PATH_TRANSPORTS.has(transport)) {
    if (!scope.startsWith('/')) return 'must be an absolute path';
    if (scope === '/') return 'use the transport default "" instead of "/"';
    if (cleanPath(scope) !== scope) return `not in canonical form (did you mean ${JSON.stringify(cleanPath(scope))}?)`;
  }
  return undefined;
}

const IMAGE_ID = /^[a-f0-9]{64}$/;

/**
 * containers-storage: scopes as containers/image's storage transport checks them
 * (ValidatePolicyConfigurationScope): `[DRIVER@GRAPHROOT]` or `[GRAPHROOT]` with an absolute graph
 * root, then nothing, `NAME[:TAG]`, `NAME[:TAG]@ID`, `NAME[:TAG]@DIGEST` or `NAME[:TAG]@DIGEST@ID`.
 */
function storageScopeProblem(scope: string): string | undefined {
  if (!scope.startsWith('[')) return 'must start with a store specifier, [DRIVER@GRAPHROOT] or [GRAPHROOT]';
  const close = scope.indexOf(']');
  if (close < 1) return 'the store specifier [ ... ] does not end';
  const store = scope.slice(1, close);
  const rest = scope.slice(close + 1);
  const at = store.indexOf('@');
  const graphRoot = at === -1 ? store : store.slice(at + 1);
  if (graphRoot === '' || (at !== -1 && at === 0))
    return 'the store specifier must be [DRIVER@GRAPHROOT] or [GRAPHROOT]';
  if (!graphRoot.startsWith('/')) return `the graph root ${JSON.stringify(graphRoot)} is not an absolute path`;
  if (rest === '') return undefined;
  const first = rest.indexOf('@');
  if (first === -1) return undefined;
  const second = rest.indexOf('@', first + 1);
  if (second === -1) {
    const last = rest.slice(first + 1);
    if (!IMAGE_ID.test(last) && !isDigest(last))
      return `${JSON.stringify(last)} is neither a valid digest nor a valid image ID`;
    return undefined;
  }
  const digest = rest.slice(first + 1, second);
  const id = rest.slice(second + 1);
  if (!isDigest(digest)) return `${JSON.stringify(digest)} is not a valid digest`;
  if (!IMAGE_ID.test(id)) return `${JSON.stringify(id)} is not a valid image ID`;
  return undefined;
}

/** An absolute path with `.`, `..`, repeated and trailing slashes removed (Go's filepath.Clean, absolute only). */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}

/**
 * The namespaces of an image at absolute `path` in a path transport: each parent directory, nearest
 * first, without `/` (the transport's `""` covers it). The image's own path is its identity.
 */
export function pathPolicyNamespaces(path: string): string[] {
  const namespaces: string[] = [];
  for (let p = path, slash = p.lastIndexOf('/'); slash > 0; slash = p.lastIndexOf('/')) {
    p = p.slice(0, slash);
    namespaces.push(p);
  }
  return namespaces;
}

/** The namespaces of a Docker repository `name` (shared with registries.d; see src/reference/namespaces.ts). */
export const dockerPolicyNamespaces = dockerReferenceNamespaces;

/** What decided the requirements: the scope that matched, or the global default. */
export interface PolicyRequirementsChoice {
  requirements: PolicyRequirements;
  /** `transports.<name>["<scope>"]` or `default`, for messages. */
  scope: string;
}

/** The requirements for an image of `transportName` with this identity and namespaces. */
export function policyRequirementsFor(
  policy: Policy,
  transportName: string,
  policyConfigurationIdentity: string,
  namespaces: readonly string[],
): PolicyRequirementsChoice {
  const scopes = policy.transports.get(transportName);
  if (scopes !== undefined) {
    for (const scope of [policyConfigurationIdentity, ...namespaces, '']) {
      const requirements = scopes.get(scope);
      if (requirements !== undefined)
        return { requirements, scope: `transports[${JSON.stringify(transportName)}][${JSON.stringify(scope)}]` };
    }
  }
  return { requirements: policy.default, scope: 'default' };
}

/**
 * What an image reference provides for the choice of scope (containers/image ImageReference's
 * PolicyConfigurationIdentity and PolicyConfigurationNamespaces).
 */
export interface PolicyScopedReference {
  readonly transport: { readonly name: string };
  policyConfigurationIdentity(): string;
  policyConfigurationNamespaces(): readonly string[];
}

/**
 * The requirements for the image `ref` names. Without scopes for its transport the default decides,
 * and the reference's identity and namespaces (containers-storage reads its store for them) are not
 * worked out.
 */
export function policyRequirementsForReference(policy: Policy, ref: PolicyScopedReference): PolicyRequirementsChoice {
  if (!policy.transports.has(ref.transport.name)) return { requirements: policy.default, scope: 'default' };
  return policyRequirementsFor(
    policy,
    ref.transport.name,
    ref.policyConfigurationIdentity(),
    ref.policyConfigurationNamespaces(),
  );
}
