/**
 * Signing during a copy (containers/image copy/sign.go): the signers are set up before anything is copied
 * (keys read and decrypted, the identity settled, the destination able to store signatures), then every
 * manifest written is signed by each signer and the new signatures follow the copied ones.
 */
import { readFile } from 'node:fs/promises';
import { FerryError, isFerryError } from '../errors.js';
import { parseDockerReference } from '../reference/reference.js';
import { checkGpgSecretKey, DEFAULT_CREATOR, payloadFor, signWithGpg, signWithKey } from '../signature/simple/index.js';
import { readSigningKey } from '../signature/simple/openpgp.js';
import { readSigstorePrivateKey, sigstoreBlob, sigstoreSign } from '../signature/sigstore/index.js';
import type { ImageDestination, ImageReference } from '../transports/types.js';
import { quoteInput } from '../util/quote.js';
import type { ProgressReporter } from './progress.js';
import type { SigningOptions } from './types.js';

/** One way of signing a manifest as an identity; the result is a signature blob as transports store it. */
interface ImageSigner {
  /** What the progress line says before signing (upstream's ProgressMessage). */
  readonly description: string;
  sign(manifest: Buffer, identity: string, signal: AbortSignal): Promise<Buffer>;
}

/** The signers of one copy and the identity they sign. */
export interface CopySigning {
  signers: readonly ImageSigner[];
  identity: string;
}

/**
 * Reads the keys and settles the identity of `options` for a copy to `dest`; undefined when no signature is
 * asked for. Fails (before anything is copied) on an identity that is missing, malformed or without a tag or
 * digest, an unreadable key, or a wrong passphrase.
 */
export async function prepareSigning(
  options: SigningOptions | undefined,
  dest: ImageReference,
): Promise<CopySigning | undefined> {
  if (options === undefined) return undefined;
  const { gpg, openpgpKey, sigstoreKey } = options;
  if (gpg === undefined && openpgpKey === undefined && sigstoreKey === undefined) return undefined;
  const identity = signingIdentity(options.identity, dest);
  const creator = options.creator ?? DEFAULT_CREATOR;
  const signers: ImageSigner[] = [];
  if (gpg !== undefined) {
    await checkGpgSecretKey(gpg.fingerprint, gpg);
    signers.push({
      description: 'Signing image using simple signing',
      sign: (manifest, identity, signal) =>
        signWithGpg(payloadFor(manifest, identity, { creator }), gpg.fingerprint, { ...gpg, signal }),
    });
  }
  if (openpgpKey !== undefined) {
    const key = await readSigningKey(openpgpKey.privateKey, openpgpKey.passphrase);
    signers.push({
      description: `Signing image using simple signing (key ${key.getFingerprint().toUpperCase()})`,
      sign: async (manifest, identity) =>
        Buffer.from(await signWithKey(payloadFor(manifest, identity, { creator }), key)),
    });
  }
  if (sigstoreKey !== undefined) {
    const what = 'privateKeyFile' in sigstoreKey ? sigstoreKey.privateKeyFile : 'privateKeyPEM';
    const pem =
      'privateKeyFile' in sigstoreKey ? await readKeyFile(sigstoreKey.privateKeyFile) : sigstoreKey.privateKeyPEM;
    const { privateKey } = await readSigstorePrivateKey(pem, sigstoreKey.passphrase, what);
    signers.push({
      description: 'Signing image using a sigstore signature',
      sign: async (manifest, identity) => sigstoreBlob(sigstoreSign(manifest, identity, privateKey, { creator })),
    });
  }
  return { signers, identity };
}

async function readKeyFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new FerryError('INVALID_ARGUMENT', `reading private key from ${quoteInput(path)}: ${reason}`, {
      cause: e,
      details: { path },
    });
  }
}

/** The identity to sign: the one given (with a tag or digest), else the destination's docker reference. */
function signingIdentity(given: string | undefined, dest: ImageReference): string {
  if (given !== undefined) {
    let ref: ReturnType<typeof parseDockerReference>;
    try {
      ref = parseDockerReference(given);
    } catch (e) {
      if (!isFerryError(e)) throw e;
      throw new FerryError('INVALID_ARGUMENT', `invalid signing identity ${quoteInput(given)}: ${e.message}`, {
        cause: e,
        details: { identity: given },
      });
    }
    if (ref.isNameOnly()) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `signing identity ${quoteInput(given)} must be a fully specified reference (with a tag or digest)`,
        { details: { identity: given } },
      );
    }
    return ref.toString();
  }
  const ref = dest.dockerReference();
  if (ref === undefined) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `cannot determine the docker reference to sign for destination ${dest.toString()}: give a signing identity`,
      { details: { destination: dest.toString() } },
    );
  }
  if (ref.isNameOnly()) {
    throw new FerryError(
      'INVALID_ARGUMENT',
      `destination ${dest.toString()} has no tag or digest to sign: give a signing identity`,
      { details: { destination: dest.toString() } },
    );
  }
  return ref.toString();
}

/** Refuses a destination that cannot store the signatures asked for (upstream finds out only after copying). */
export function checkSigningDestination(
  signing: CopySigning | undefined,
  destination: ImageDestination,
  destinationName: string,
): void {
  if (signing === undefined || destination.capabilities.supportsSignatures) return;
  throw new FerryError(
    'UNSUPPORTED_OPERATION',
    `cannot sign: destination ${destinationName} does not support signatures`,
    { details: { destination: destinationName } },
  );
}

/** The new signatures of `manifest` (the bytes written), one per signer, in order. */
export async function createSignatures(
  signing: CopySigning | undefined,
  manifest: Buffer,
  progress: ProgressReporter,
  signal: AbortSignal,
): Promise<Buffer[]> {
  if (signing === undefined) return [];
  const { signers, identity } = signing;
  const out: Buffer[] = [];
  for (const [i, signer] of signers.entries()) {
    const which = signers.length === 1 ? '' : ` ${i + 1}`;
    progress.emit({ kind: 'message', text: `Creating signature${which}: ${signer.description}` });
    try {
      out.push(await signer.sign(manifest, identity, signal));
    } catch (e) {
      if (!isFerryError(e)) throw e;
      throw new FerryError(e.code, `creating signature${which}: ${e.message}`, { cause: e, details: e.details });
    }
  }
  return out;
}
