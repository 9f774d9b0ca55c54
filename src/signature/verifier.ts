/**
 * The glue between policy requirements and the two signature libraries (containers/image
 * policy_eval_signedby.go, policy_eval_sigstore.go): load the keys a signedBy / sigstoreSigned
 * requirement names, try each signature of the matching kind, and accept when one verifies, signs this
 * manifest and names an identity the requirement's signedIdentity allows.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Digest } from '../digest/digest.js';
import { abortError, FerryError, isFerryError, throwIfAborted } from '../errors.js';
import { manifestMatchesDigest } from '../manifest/digest.js';
import { quoteInput } from '../util/quote.js';
import type {
  ImageToVerify,
  RequirementDecision,
  SignatureRequirementVerifier,
  UnverifiedSignature,
} from './policy/evaluate.js';
import { identityMatches } from './policy/identity.js';
import type { PolicyReferenceMatch, SignedByRequirement, SigstoreSignedRequirement } from './policy/types.js';
import { parsePublicKeyPEM } from './sigstore/keys.js';
import { type SigstoreTrust, verifySigstoreSignature } from './sigstore/verify.js';
import { readTrustedKeyring, type TrustedKeyring } from './simple/keys.js';
import { verifySignature } from './simple/verify.js';

export interface PolicySignatureVerifierOptions {
  /** Reads a key file a requirement names (default: the file system). */
  readKeyFile?: (path: string, signal?: AbortSignal) => Promise<Uint8Array>;
  /** Verification time for OpenPGP keys and signatures (default now). */
  date?: Date;
}

type Signed = { dockerManifestDigest: Digest; dockerReference: string };

/** A verifier for evaluatePolicy that checks signedBy (OpenPGP) and sigstoreSigned (cosign) requirements. */
export function createPolicySignatureVerifier(
  options: PolicySignatureVerifierOptions = {},
): SignatureRequirementVerifier {
  const read = options.readKeyFile ?? ((path, signal) => readFile(path, { signal }));
  return {
    async verify(requirement, image, opts = {}) {
      const load = (path: string) => readKeyPath(read, path, opts.signal);
      throwIfAborted(opts.signal);
      if (requirement.type === 'signedBy') return verifySignedBy(requirement, image, load, options.date, opts.signal);
      return verifySigstoreSigned(requirement, image, load, opts.signal);
    },
  };
}

async function readKeyPath(
  read: (path: string, signal?: AbortSignal) => Promise<Uint8Array>,
  path: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  try {
    return await read(path, signal);
  } catch (e) {
    if (isFerryError(e, 'ABORTED')) throw e;
    if (signal?.aborted) throw abortError(signal);
    throw new FerryError('INVALID_CONFIG', `key file ${quoteInput(path)} cannot be read: ${errorText(e)}`, {
      cause: e,
    });
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The outcome of the checks every signature kind shares: digest, then identity. */
function checkSigned(signed: Signed, image: ImageToVerify, identity: PolicyReferenceMatch): string | undefined {
  let matches: boolean;
  try {
    matches = manifestMatchesDigest(Buffer.from(image.manifest), signed.dockerManifestDigest);
  } catch (e) {
    if (!isFerryError(e)) throw e;
    return `the image's manifest digest cannot be computed: ${e.message}`;
  }
  if (!matches) return `signature is for manifest ${signed.dockerManifestDigest}, not this image's`;
  if (!identityMatches(identity, image.dockerReference, signed.dockerReference)) {
    return `signed identity ${quoteInput(signed.dockerReference)} is not accepted for ${describeImage(image)} (${identity.type})`;
  }
  return undefined;
}

function describeImage(image: ImageToVerify): string {
  return image.dockerReference === undefined ? 'an image without a Docker reference' : image.dockerReference.toString();
}

/** Summarises the per-signature reasons into one rejection. */
function rejectAll(kind: string, reasons: string[]): RequirementDecision {
  if (reasons.length === 0) return { accepted: false, reason: `the image has no ${kind} signatures` };
  const list = reasons.map((r, i) => `signature ${i + 1}: ${r}`).join('; ');
  return { accepted: false, reason: `no ${kind} signature was accepted (${list})` };
}

async function signedByKeyring(
  req: SignedByRequirement,
  load: (path: string) => Promise<Uint8Array>,
): Promise<TrustedKeyring> {
  const sources = [req.keyPath !== undefined, req.keyPaths !== undefined, req.keyData !== undefined].filter(Boolean);
  if (sources.length !== 1) {
    throw new FerryError('INVALID_CONFIG', 'signedBy needs exactly one of keyPath, keyPaths, keyData');
  }
  let blobs: Uint8Array[];
  if (req.keyData !== undefined) blobs = [req.keyData];
  else blobs = await Promise.all((req.keyPaths ?? [req.keyPath as string]).map(load));
  return readTrustedKeyring(blobs);
}

async function verifySignedBy(
  req: SignedByRequirement,
  image: ImageToVerify,
  load: (path: string) => Promise<Uint8Array>,
  date: Date | undefined,
  signal: AbortSignal | undefined,
): Promise<RequirementDecision> {
  if (req.keyType !== 'GPGKeys') {
    return { accepted: false, reason: `signedBy keyType "${req.keyType}" is not implemented` };
  }
  const keyring = await signedByKeyring(req, load);
  if (keyring.keys.length === 0)
    return { accepted: false, reason: 'signedBy: the trusted keyring holds no public keys' };
  const reasons: string[] = [];
  for (const sig of image.signatures) {
    if (sig.kind !== 'simpleSigning') continue; // sigstore signatures are for sigstoreSigned requirements
    throwIfAborted(signal);
    try {
      const verified = await verifySignature(sig.blob, keyring, date === undefined ? {} : { date });
      const refused = checkSigned(verified, image, req.signedIdentity);
      if (refused === undefined) {
        return { accepted: true, reason: `signed by key ${verified.fingerprint} as ${verified.dockerReference}` };
      }
      reasons.push(refused);
    } catch (e) {
      if (!isFerryError(e) || e.code === 'ABORTED') throw e;
      reasons.push(e.message);
    }
  }
  return rejectAll('simple-signing', reasons);
}

async function pemKeys(
  what: string,
  one: { path?: string; paths?: string[]; data?: Uint8Array; datas?: Uint8Array[] },
  load: (path: string) => Promise<Uint8Array>,
): Promise<KeyObject[] | undefined> {
  const set = [one.path, one.paths, one.data, one.datas].filter((v) => v !== undefined);
  if (set.length === 0) return undefined;
  if (set.length > 1) throw new FerryError('INVALID_CONFIG', `sigstoreSigned: ${what} is given more than one way`);
  let blobs: Uint8Array[];
  if (one.data !== undefined) blobs = [one.data];
  else if (one.datas !== undefined) blobs = one.datas;
  else blobs = await Promise.all((one.paths ?? [one.path as string]).map(load));
  if (blobs.length === 0) throw new FerryError('INVALID_CONFIG', `sigstoreSigned: ${what} is an empty list`);
  return blobs.map((b, i) => parsePublicKeyPEM(b, `${what} ${i + 1}`));
}

async function pemText(
  what: string,
  path: string | undefined,
  data: Uint8Array | undefined,
  load: (path: string) => Promise<Uint8Array>,
): Promise<string | undefined> {
  if (path !== undefined && data !== undefined) {
    throw new FerryError('INVALID_CONFIG', `sigstoreSigned: ${what} is given both as a path and as data`);
  }
  const bytes = data ?? (path === undefined ? undefined : await load(path));
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

async function sigstoreTrust(
  req: SigstoreSignedRequirement,
  load: (path: string) => Promise<Uint8Array>,
): Promise<SigstoreTrust> {
  const keys = await pemKeys(
    'public key',
    { path: req.keyPath, paths: req.keyPaths, data: req.keyData, datas: req.keyDatas },
    load,
  );
  const rekor = await pemKeys(
    'Rekor public key',
    {
      path: req.rekorPublicKeyPath,
      paths: req.rekorPublicKeyPaths,
      data: req.rekorPublicKeyData,
      datas: req.rekorPublicKeyDatas,
    },
    load,
  );
  const sources = [keys, req.fulcio, req.pki].filter((v) => v !== undefined).length;
  if (sources !== 1) {
    throw new FerryError('INVALID_CONFIG', 'sigstoreSigned needs exactly one of public keys, fulcio, pki');
  }
  if (keys !== undefined)
    return rekor === undefined ? { publicKeys: keys } : { publicKeys: keys, rekorPublicKeys: rekor };
  if (req.fulcio !== undefined) {
    const ca = await pemText('fulcio CA', req.fulcio.caPath, req.fulcio.caData, load);
    if (ca === undefined) throw new FerryError('INVALID_CONFIG', 'sigstoreSigned: fulcio needs caPath or caData');
    if (rekor === undefined) throw new FerryError('INVALID_CONFIG', 'sigstoreSigned: fulcio needs a Rekor public key');
    const fulcio = { caCertificates: ca, oidcIssuer: req.fulcio.oidcIssuer, subjectEmail: req.fulcio.subjectEmail };
    return { fulcio, rekorPublicKeys: rekor };
  }
  const pki = req.pki as NonNullable<SigstoreSignedRequirement['pki']>;
  if (rekor !== undefined) throw new FerryError('INVALID_CONFIG', 'sigstoreSigned: pki does not use Rekor keys');
  const caRoots = await pemText('PKI roots', pki.caRootsPath, pki.caRootsData, load);
  if (caRoots === undefined)
    throw new FerryError('INVALID_CONFIG', 'sigstoreSigned: pki needs caRootsPath or caRootsData');
  const caIntermediates = await pemText('PKI intermediates', pki.caIntermediatesPath, pki.caIntermediatesData, load);
  return {
    pki: {
      caRoots,
      ...(caIntermediates === undefined ? {} : { caIntermediates }),
      ...(pki.subjectEmail === undefined ? {} : { subjectEmail: pki.subjectEmail }),
      ...(pki.subjectHostname === undefined ? {} : { subjectHostname: pki.subjectHostname }),
    },
  };
}

async function verifySigstoreSigned(
  req: SigstoreSignedRequirement,
  image: ImageToVerify,
  load: (path: string) => Promise<Uint8Array>,
  signal: AbortSignal | undefined,
): Promise<RequirementDecision> {
  const trust = await sigstoreTrust(req, load);
  const reasons: string[] = [];
  for (const sig of image.signatures) {
    if (sig.kind !== 'sigstore') continue; // simple signatures are for signedBy requirements
    throwIfAborted(signal);
    const outcome = checkSigstore(sig, image, trust, req.signedIdentity);
    if (outcome.accepted) return { accepted: true, reason: `sigstore signature accepted for ${outcome.identity}` };
    const refused = outcome.reason;
    reasons.push(refused);
  }
  return rejectAll('sigstore', reasons);
}

function checkSigstore(
  sig: Extract<UnverifiedSignature, { kind: 'sigstore' }>,
  image: ImageToVerify,
  trust: SigstoreTrust,
  identity: PolicyReferenceMatch,
): { accepted: true; identity: string } | { accepted: false; reason: string } {
  try {
    const parsed = { mimeType: sig.mimeType, payload: Buffer.from(sig.payload), annotations: { ...sig.annotations } };
    const verified = verifySigstoreSignature(parsed, Buffer.from(image.manifest), trust);
    const refused = checkSigned(verified, image, identity);
    return refused === undefined
      ? { accepted: true, identity: verified.dockerReference }
      : { accepted: false, reason: refused };
  } catch (e) {
    if (!isFerryError(e)) throw e;
    return { accepted: false, reason: e.message };
  }
}
