/** Distribution API paths and token scopes, with the name grammar checked before anything is sent. */
import { type Digest, isDigest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { repositoryScope } from './auth.js';

// Distribution's repository-name grammar (reference/regexp.go): lower-case components joined by `/`.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[\w][\w.-]{0,127}$/;

export function pull(repository: string): string {
  return repositoryScope(checkRepository(repository), 'pull');
}

export function push(repository: string): string {
  return repositoryScope(checkRepository(repository), 'pull,push');
}

export function checkRepository(repository: string): string {
  if (!REPOSITORY_RE.test(repository)) {
    throw new FerryError(
      'INVALID_REFERENCE',
      `invalid repository name "${repository}": must be lower-case path components`,
      {
        details: { repository },
      },
    );
  }
  return repository;
}

export function repositoryPath(repository: string): string {
  return `/v2/${checkRepository(repository)}`;
}

export function manifestPath(repository: string, ref: string): string {
  if (!isDigest(ref) && !TAG_RE.test(ref)) {
    throw new FerryError('INVALID_REFERENCE', `invalid manifest reference "${ref}": neither a tag nor a digest`, {
      details: { ref },
    });
  }
  return `${repositoryPath(repository)}/manifests/${ref}`;
}

export function blobPath(repository: string, digest: Digest): string {
  if (!isDigest(digest))
    throw new FerryError('INVALID_DIGEST', `invalid blob digest "${digest}"`, { details: { digest } });
  return `${repositoryPath(repository)}/blobs/${digest}`;
}

export function pageQuery(pageSize: number | undefined): string {
  return pageSize === undefined ? '' : `?n=${Math.max(1, Math.trunc(pageSize))}`;
}
