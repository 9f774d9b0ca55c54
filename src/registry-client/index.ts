/** The Distribution registry HTTP client (auth, retries, uploads, mounts, tags, catalog). */
export {
  type FetchedManifest,
  type ListOptions,
  type ManifestHead,
  RegistryClient,
  type RegistryClientOptions,
  registryAPIHost,
  type UploadBlobOptions,
  type UploadedBlob,
} from './client.js';
export { type AuthOptions, CATALOG_SCOPE, type Credentials, repositoryScope } from './auth.js';
export { type AuthChallenge, parseChallenges } from './challenge.js';
export { parseRegistryErrors, printableText, type RegistryErrorEntry } from './errors.js';
export { type ForeignURLOptions, openForeignURL } from './foreign-url.js';
export type { RetryOptions } from './retry.js';
