/**
 * The key files of `skopeo generate-sigstore-key --output-prefix PREFIX`: PREFIX.private (cosign's
 * encrypted private key, mode 0600) and PREFIX.pub (PEM public key), never over an existing file.
 */
import { lstat } from 'node:fs/promises';
import { FerryError } from '../../errors.js';
import { writeNewFileAtomic } from '../../util/atomic.js';
import { quoteInput } from '../../util/quote.js';
import { generateSigstoreKeyPair } from './private-key.js';

export interface SigstoreKeyFiles {
  privateKeyPath: string;
  publicKeyPath: string;
}

/** The two paths skopeo writes for `outputPrefix`. */
export function sigstoreKeyFilePaths(outputPrefix: string): SigstoreKeyFiles {
  if (outputPrefix === '') throw new FerryError('INVALID_ARGUMENT', 'the output prefix of the key files is empty');
  return { privateKeyPath: `${outputPrefix}.private`, publicKeyPath: `${outputPrefix}.pub` };
}

/** Refuses (DESTINATION_NOT_EMPTY) when either key file exists already, as skopeo does before it asks for a passphrase. */
export async function checkSigstoreKeyFilesAbsent(outputPrefix: string): Promise<SigstoreKeyFiles> {
  const paths = sigstoreKeyFilePaths(outputPrefix);
  for (const path of [paths.publicKeyPath, paths.privateKeyPath]) {
    let exists = true;
    try {
      await lstat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new FerryError(
          'INVALID_ARGUMENT',
          `cannot check whether ${quoteInput(path)} exists: ${(e as Error).message}`,
          {
            cause: e,
            details: { path },
          },
        );
      }
      exists = false;
    }
    if (exists) throw refuseOverwrite(path);
  }
  return paths;
}

function refuseOverwrite(path: string): FerryError {
  return new FerryError('DESTINATION_NOT_EMPTY', `refusing to overwrite existing ${quoteInput(path)}`, {
    details: { path },
  });
}

async function writeNew(path: string, data: string, mode: number): Promise<void> {
  try {
    await writeNewFileAtomic(path, data, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw refuseOverwrite(path);
    throw new FerryError('INVALID_ARGUMENT', `cannot write ${quoteInput(path)}: ${(e as Error).message}`, {
      cause: e,
      details: { path },
    });
  }
}

/**
 * Generates a sigstore key pair (generateSigstoreKeyPair) and writes it to `outputPrefix`.private and
 * `outputPrefix`.pub; neither may exist. Returns the paths written.
 */
export async function writeSigstoreKeyFiles(
  outputPrefix: string,
  passphrase: string | Uint8Array,
): Promise<SigstoreKeyFiles> {
  const paths = await checkSigstoreKeyFilesAbsent(outputPrefix);
  const pair = await generateSigstoreKeyPair(passphrase);
  await writeNew(paths.privateKeyPath, pair.privateKeyPEM, 0o600);
  await writeNew(paths.publicKeyPath, pair.publicKeyPEM, 0o644);
  return paths;
}
