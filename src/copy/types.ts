/** The copy engine's public options, result and progress events (containers/image copy.Options). */
import type { BlobInfoCache, BlobInfoCacheSpec } from '../blobinfocache/index.js';
import type { Digest } from '../digest/digest.js';
import type { ImagePolicyVerification } from '../image/policy.js';
import type { Policy } from '../signature/policy/index.js';
import type { BlobInfo, CompressionAlgorithmName, ImageOptions, Platform } from '../transports/types.js';

/**
 * Which images of a list/index to copy:
 * - 'system': the one instance matching the wanted platform (default); the destination gets a single image.
 * - 'all': every instance and the list itself.
 * - 'index-only': the list only, no instances (skopeo `--multi-arch index-only`).
 * - { platforms } / { instances }: those instances; the list written is sparse (only the copied ones)
 *   unless `sparse: false`, in which case the untouched list is kept (only allowed if unchanged).
 */
export type ImageListSelection = 'system' | 'all' | 'index-only' | { platforms?: Platform[]; instances?: Digest[] };

export interface DestinationCompressionOptions {
  /** Compress layers with this algorithm when the destination wants compression or when forced. */
  algorithm?: CompressionAlgorithmName;
  level?: number;
  /** Recompress even layers already compressed with another algorithm (`--dest-force-compress-format`). */
  force?: boolean;
  /** Store layers uncompressed (`--dest-decompress`). */
  decompress?: boolean;
}

export type ProgressEvent =
  | { kind: 'blob-started'; blob: BlobInfo; isConfig: boolean }
  | { kind: 'blob-bytes'; blob: BlobInfo; isConfig: boolean; bytes: number; total: number }
  | { kind: 'blob-done'; blob: BlobInfo; isConfig: boolean; written: BlobInfo }
  | { kind: 'blob-skipped'; blob: BlobInfo; isConfig: boolean; reason: 'already-exists' }
  | { kind: 'manifest-writing'; instanceDigest?: Digest }
  | { kind: 'signatures-getting' }
  | { kind: 'signatures-writing' }
  | { kind: 'message'; text: string };

export interface CopyOptions {
  signal?: AbortSignal;
  /**
   * Settings for opening the source, every concern at once (TLS, credentials, platform overrides,
   * tmpDir ...): the source's transport reads its part (see the options in transports/types.ts).
   */
  sourceOptions?: ImageOptions;
  /** Settings for opening the destination, read the same way. */
  destinationOptions?: ImageOptions;
  imageListSelection?: ImageListSelection;
  /** Force the written manifest's MIME type (`-f oci|v2s2|v2s1` → the matching MediaType). */
  forceManifestMIMEType?: string;
  /** Refuse any change that would alter the manifest digest. */
  preserveDigests?: boolean;
  destinationCompression?: DestinationCompressionOptions;
  /**
   * Also copy the image's OCI 1.1 referrers (signatures, attestations, SBOMs: manifests whose `subject`
   * is a copied manifest) and cosign's `<alg>-<hex>.sig`/`.att`/`.sbom` tags, recursively, unchanged.
   * Implies preserveDigests. Each end must be a registry (docker://) or an OCI layout (oci:, where
   * referrers are index.json entries, untagged, and cosign attachments entries named by their tag).
   */
  withReferrers?: boolean;
  /** Drop signatures instead of copying them (new ones asked for by `signing` are still added, as upstream). */
  removeSignatures?: boolean;
  /** Signatures to add to the written manifest (containers/image copy.Options SignBy…, SignIdentity). */
  signing?: SigningOptions;
  /** Layers copied at once (default 6; 1 unless both ends are thread-safe). */
  maxParallelBlobs?: number;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * The blob-info cache used for reuse (mounts, substitutes) and filled by this copy: an open cache
   * (the caller closes it) or a spec opened and closed by the copy: 'none', 'memory' or the path of
   * an SQLite file. Default: the default persistent cache (openBlobInfoCache()), or memory when it
   * cannot be opened.
   */
  blobInfoCache?: BlobInfoCache | BlobInfoCacheSpec;
  /**
   * Re-driving a blob transfer after a transient failure (reset, stall, 408/429/5xx, bytes damaged
   * in transit). Defaults: `retryTimes` of the source/destination options (else 4) + 1 tries per
   * blob; max(20, 4 × retries per blob) re-drives per copy; `retryDelayMs` as a fixed delay, else
   * exponential backoff with jitter from 1 s up to 30 s; a registry's Retry-After wins.
   */
  blobRetry?: { attemptsPerBlob?: number; retriesPerCopy?: number; initialDelayMs?: number; maxDelayMs?: number };
  /**
   * The trust policy the source image must satisfy (a parsed policy, or the path of a policy.json read
   * strictly), decided before anything is written; a refusal is POLICY_REJECTED. Without it the copy
   * checks nothing: pass `await loadPolicy()` for skopeo's default files (the CLI always does).
   */
  policy?: Policy | string;
  /** Skip the policy check even when `policy` is given (`--insecure-policy`). */
  insecurePolicy?: boolean;
  /** Told the policy's decision for every image decided (accepted or not), before a refusal is thrown. */
  onPolicyDecision?: (verification: ImagePolicyVerification) => void;
}

/**
 * Signing during a copy: each signer given adds one signature of the manifest written (of every image of
 * a list copy, and of the list itself, as containers/image does), after the source's signatures.
 */
export interface SigningOptions {
  /** Simple signing with a secret key of a GnuPG home, through the gpg binary (upstream SignBy). */
  gpg?: {
    fingerprint: string;
    /** The key's passphrase (upstream SignPassphrase); without it gpg's agent asks, if it must. */
    passphrase?: string;
    /** A file whose first line is the passphrase (instead of `passphrase`). */
    passphraseFile?: string;
    /** GnuPG home (default $GNUPGHOME, then ~/.gnupg). */
    gnupgHome?: string;
    /** The gpg program (default `gpg`). */
    gpgProgram?: string;
  };
  /** Simple signing with an OpenPGP private key (armored or binary), through openpgp.js; Ferry only. */
  openpgpKey?: { privateKey: Uint8Array | string; passphrase?: string };
  /**
   * Sigstore signing with a private key in cosign's encrypted format, from a file (upstream
   * SignBySigstorePrivateKeyFile) or PEM bytes; the passphrase is required (an empty one is a passphrase).
   */
  sigstoreKey?:
    | { privateKeyFile: string; passphrase: string | Uint8Array }
    | { privateKeyPEM: string | Uint8Array; passphrase: string | Uint8Array };
  /**
   * The identity signed: a docker reference with a tag or digest (upstream SignIdentity). Default: the
   * destination's docker reference; a destination without one (dir:, oci:) needs this.
   */
  identity?: string;
  /** optional.creator of the signatures (default `ferry`). */
  creator?: string;
}

export interface CopyResult {
  /** The top-level manifest written to the destination, exact bytes. */
  manifest: Buffer;
  manifestMIMEType: string;
  manifestDigest: Digest;
  /** True when the destination already held exactly this and nothing was written (copy/noop.ts). */
  alreadyPresent?: boolean;
}
