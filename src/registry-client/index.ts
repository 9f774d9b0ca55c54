/**
 * The Distribution registry HTTP client, in layers; each file has one job, so a fix lands in one:
 *   1. connection.ts — the pool: keep-alive node:http/https Agents (direct.ts), undici only behind a
 *      proxy (proxied.ts, loaded lazily), shared TLS context (tls-options.ts), timeouts.
 *   2. auth.ts, challenge.ts, auth-round.ts — challenges (from the registry's own origin only), tokens, scopes, redaction.
 *   3. redirects.ts, retrying.ts (+ retry.ts policy) — redirects without credentials to other origins; retries, Retry-After.
 *   transport.ts composes 1–3 (with ping.ts, response.ts) into a `RegistryTransport`;
 *   4. manifests.ts, blobs.ts, uploads.ts (+ upload-patch.ts), listing.ts — the distribution API over that interface.
 *   client.ts is the facade; foreign-url.ts uses layers 1 and 3 only (no credentials at all).
 */
export { RegistryClient } from './client.js';
export type { FetchedManifest, ManifestHead } from './manifests.js';
export type { ListOptions } from './listing.js';
export { type ListReferrersOptions, type ReferrersList, type ReferrersSource, referrersTag } from './referrers.js';
export { type RegistryClientOptions, registryAPIHost } from './options.js';
export type { UploadBlobOptions, UploadedBlob } from './uploads.js';
export { type AuthOptions, CATALOG_SCOPE, type Credentials, repositoryScope } from './auth.js';
export { type AuthChallenge, parseChallenges } from './challenge.js';
export { isManifestUnknown, parseRegistryErrors, printableText, type RegistryErrorEntry } from './errors.js';
export { type ForeignURLOptions, openForeignURL } from './foreign-url.js';
export type { RetryOptions } from './retry.js';
export { forgetRegistryPings } from './ping.js';
