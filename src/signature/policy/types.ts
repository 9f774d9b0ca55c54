/**
 * The model of containers-policy.json(5): a global default, and per transport, requirement lists by
 * scope. Every requirement in a list must accept an image for the list to accept it.
 */

/** How the Docker reference in a signature must relate to the image's (containers-policy.json(5) signedIdentity). */
export type PolicyReferenceMatch =
  | { type: 'matchRepoDigestOrExact' }
  | { type: 'matchExact' }
  | { type: 'matchRepository' }
  | { type: 'exactReference'; dockerReference: string }
  | { type: 'exactRepository'; dockerRepository: string }
  | { type: 'remapIdentity'; prefix: string; signedPrefix: string };

/** The keyType values containers/image accepts in a file; only GPGKeys is implemented when verifying. */
export type SignedByKeyType = 'GPGKeys' | 'signedByGPGKeys' | 'X509Certificates' | 'signedByX509CAs';

export interface InsecureAcceptAnythingRequirement {
  type: 'insecureAcceptAnything';
}

export interface RejectRequirement {
  type: 'reject';
}

/** Simple signing (OpenPGP): exactly one of keyPath, keyPaths, keyData is set. */
export interface SignedByRequirement {
  type: 'signedBy';
  keyType: SignedByKeyType;
  keyPath?: string;
  keyPaths?: string[];
  /** The keyring itself (base64 in the file). */
  keyData?: Uint8Array;
  signedIdentity: PolicyReferenceMatch;
}

/** Fulcio-issued certificates: the CA, and the identity the certificate must name. */
export interface FulcioRequirement {
  caPath?: string;
  caData?: Uint8Array;
  oidcIssuer: string;
  subjectEmail: string;
}

/** Certificates from a private PKI: roots, optional intermediates, and the subject to match. */
export interface PKIRequirement {
  caRootsPath?: string;
  caRootsData?: Uint8Array;
  caIntermediatesPath?: string;
  caIntermediatesData?: Uint8Array;
  subjectEmail?: string;
  subjectHostname?: string;
}

/** Sigstore (cosign) signatures: exactly one of the key sources, fulcio or pki; Rekor keys at most one way. */
export interface SigstoreSignedRequirement {
  type: 'sigstoreSigned';
  keyPath?: string;
  keyPaths?: string[];
  keyData?: Uint8Array;
  keyDatas?: Uint8Array[];
  fulcio?: FulcioRequirement;
  pki?: PKIRequirement;
  rekorPublicKeyPath?: string;
  rekorPublicKeyPaths?: string[];
  rekorPublicKeyData?: Uint8Array;
  rekorPublicKeyDatas?: Uint8Array[];
  signedIdentity: PolicyReferenceMatch;
}

/** Parsed for compatibility; never accepts an image (containers/image does not implement it either). */
export interface SignedBaseLayerRequirement {
  type: 'signedBaseLayer';
  baseLayerIdentity: PolicyReferenceMatch;
}

export type PolicyRequirement =
  | InsecureAcceptAnythingRequirement
  | RejectRequirement
  | SignedByRequirement
  | SigstoreSignedRequirement
  | SignedBaseLayerRequirement;

/** A non-empty list: all of its requirements must accept. */
export type PolicyRequirements = readonly PolicyRequirement[];

export interface Policy {
  default: PolicyRequirements;
  /** Transport name → scope → requirements; the scope `""` is the transport's default. */
  transports: ReadonlyMap<string, ReadonlyMap<string, PolicyRequirements>>;
}
