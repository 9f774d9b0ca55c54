/**
 * signedIdentity rules: does the Docker reference a signature claims match the image being checked
 * (containers/image policy_reference_match.go)? A reference that does not parse never matches.
 */
import { type DockerReference, parseDockerReference, parseNamed } from '../../reference/reference.js';
import type { PolicyReferenceMatch } from './types.js';

function tryParse(
  s: string,
  parse: (s: string) => DockerReference = parseDockerReference,
): DockerReference | undefined {
  try {
    return parse(s);
  } catch {
    return undefined;
  }
}

/** matchRepoDigestOrExact's rule: a tag must match exactly; a digest (already checked) needs the same repository. */
function repoDigestOrExact(intended: DockerReference, signature: DockerReference): boolean {
  if (signature.isNameOnly()) return false;
  if (intended.tag !== undefined) return signature.toString() === intended.toString();
  if (intended.digest !== undefined) return signature.name === intended.name;
  return false;
}

/** Both carry a tag or digest, and are the same reference. */
function exact(intended: DockerReference, signature: DockerReference): boolean {
  return !intended.isNameOnly() && !signature.isNameOnly() && signature.toString() === intended.toString();
}

/** `ref` with `prefix` (a host or repository, matched at a `/` boundary) replaced by `signedPrefix`. */
export function remapIdentityPrefix(
  ref: DockerReference,
  prefix: string,
  signedPrefix: string,
): DockerReference | undefined {
  const name = ref.name;
  const matches = name === prefix || (name.startsWith(prefix) && name[prefix.length] === '/');
  if (!matches) return ref;
  // The rewritten reference must already be canonical, as containers/image's ParseNamed requires.
  return tryParse(signedPrefix + ref.toString().slice(prefix.length), parseNamed);
}

/**
 * True when `signatureReference` (the identity inside a signature) is acceptable for an image whose
 * Docker reference is `imageReference` (undefined when its transport has none) under `signedIdentity`.
 */
export function identityMatches(
  signedIdentity: PolicyReferenceMatch,
  imageReference: DockerReference | undefined,
  signatureReference: string,
): boolean {
  const signature = tryParse(signatureReference);
  if (signature === undefined) return false;
  switch (signedIdentity.type) {
    case 'exactReference': {
      const intended = tryParse(signedIdentity.dockerReference);
      return intended !== undefined && exact(intended, signature);
    }
    case 'exactRepository': {
      const intended = tryParse(signedIdentity.dockerRepository);
      return intended !== undefined && signature.name === intended.name;
    }
    default:
  }
  if (imageReference === undefined) return false;
  switch (signedIdentity.type) {
    case 'matchExact':
      return exact(imageReference, signature);
    case 'matchRepoDigestOrExact':
      return repoDigestOrExact(imageReference, signature);
    case 'matchRepository':
      return signature.name === imageReference.name;
    case 'remapIdentity': {
      const remapped = remapIdentityPrefix(imageReference, signedIdentity.prefix, signedIdentity.signedPrefix);
      return remapped !== undefined && repoDigestOrExact(remapped, signature);
    }
  }
}
