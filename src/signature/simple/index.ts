export type { SignatureRejection } from './errors.js';
export {
  checkGpgSecretKey,
  exportGpgPublicKeys,
  type GpgOptions,
  type GpgSignOptions,
  signWithGpg,
} from './gpg.js';
export { type KeyringInput, readTrustedKeyring, type TrustedKeyring } from './keys.js';
export { type SignWithKeyOptions, signWithKey, type VerifiedMessage, verifySignedMessage } from './openpgp.js';
export { parsePayload, SIGNATURE_TYPE, type SimpleSigningPayload, serializePayload } from './payload.js';
export {
  DEFAULT_CREATOR,
  payloadFor,
  type StandaloneSignOptions,
  standaloneSign,
  standaloneVerify,
  type VerifiedSimpleSignature,
} from './standalone.js';
export { signPayload, type VerifiedSignature, type VerifySignatureOptions, verifySignature } from './verify.js';
