/** Sigstore (cosign) signatures: the stored format, the payload, public keys, Rekor SETs, verification. */
export {
  cosignSignatureTag,
  isSigstoreBlob,
  isSigstoreSignatureAttachment,
  parseSigstoreBlob,
  SIGSTORE_BUNDLE_ANNOTATION,
  SIGSTORE_CERTIFICATE_ANNOTATION,
  SIGSTORE_CHAIN_ANNOTATION,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_SIGNATURE_MIME_TYPE,
  type SigstoreSignature,
  sigstoreBlob,
} from './format.js';
export { type FulcioTrust, fulcioIssuer } from './fulcio.js';
export { parsePublicKeyPEM } from './keys.js';
export {
  parseSigstorePayload,
  SIGSTORE_SIGNATURE_TYPE,
  type SigstorePayload,
  sigstorePayloadBytes,
} from './payload.js';
export { type PKITrust, verifyPKICertificate } from './pki.js';
export { type RekorSETInput, verifyRekorSET } from './rekor-set.js';
export {
  type SigstoreFulcioTrust,
  type SigstoreKeyTrust,
  type SigstorePKITrust,
  type SigstoreTrust,
  type VerifiedSigstoreSignature,
  verifySigstoreSignature,
} from './verify.js';
export {
  COSIGN_PRIVATE_KEY_PEM_LABEL,
  encryptSigstorePrivateKey,
  generateSigstoreKeyPair,
  readSigstorePrivateKey,
  SIGSTORE_PRIVATE_KEY_PEM_LABEL,
  type SigstoreKeyPair,
  type SigstorePrivateKey,
} from './private-key.js';
export { type SigstoreSignOptions, sigstoreSign, signWithSigstoreKey } from './sign.js';
export {
  checkSigstoreKeyFilesAbsent,
  type SigstoreKeyFiles,
  sigstoreKeyFilePaths,
  writeSigstoreKeyFiles,
} from './key-files.js';
