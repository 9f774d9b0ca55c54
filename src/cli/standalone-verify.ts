/**
 * `ferry standalone-verify MANIFEST DOCKER-REFERENCE KEY-FINGERPRINTS SIGNATURE`: checks a simple signature
 * of a manifest file, as skopeo standalone-verify, and prints the fingerprint and digest it verified.
 */
import type { Command } from 'commander';
import { writeStdout } from './output.js';

interface StandaloneVerifyFlags {
  publicKeyFile?: string;
}

export function registerStandaloneVerify(program: Command): void {
  program
    .command('standalone-verify')
    .summary('Verify a signature using local files')
    .description(
      'Verify a simple (OpenPGP) signature of a manifest file.\n\n' +
        'KEY-FINGERPRINTS can be a comma separated list of fingerprints, or "any" if you trust all the keys in the ' +
        'public key file.',
    )
    .argument('<manifest>', 'path to the manifest')
    .argument('<docker-reference>', 'the identity the signature must be for')
    .argument('<key-fingerprints>', 'accepted key fingerprints, comma separated, or "any" (with --public-key-file)')
    .argument('<signature>', 'path to the signature')
    .option('--public-key-file <file>', 'file containing public keys (default: the keys of the local GnuPG home)')
    .addHelpText(
      'after',
      '\nExample:\n  ferry standalone-verify manifest.json quay.io/org/app:1 any app.sig --public-key-file key.gpg',
    )
    .action(
      async (
        manifestPath: string,
        dockerReference: string,
        fingerprints: string,
        signaturePath: string,
        flags: StandaloneVerifyFlags,
      ) => {
        const { readFile } = await import('node:fs/promises');
        const { FerryError, isFerryError, exportGpgPublicKeys, standaloneVerify } = await import('../index.js');
        const expected = fingerprints.split(',');
        const any = expected.length === 1 && expected[0] === 'any';
        if (any && flags.publicKeyFile === undefined) {
          throw new FerryError('INVALID_ARGUMENT', 'cannot use any fingerprint without a public key file');
        }
        const read = async (path: string, what: string): Promise<Buffer> => {
          try {
            return await readFile(path);
          } catch (e) {
            const reason = e instanceof Error ? e.message : String(e);
            throw new FerryError('INVALID_ARGUMENT', `cannot read ${what} "${path}": ${reason}`, { cause: e });
          }
        };
        const manifest = await read(manifestPath, 'manifest');
        const signature = await read(signaturePath, 'signature');
        const keys =
          flags.publicKeyFile === undefined
            ? await exportGpgPublicKeys()
            : await read(flags.publicKeyFile, 'public key file');
        try {
          const v = await standaloneVerify(manifest, dockerReference, any ? 'any' : expected, signature, keys);
          await writeStdout(
            `Signature verified using fingerprint ${v.fingerprint}, digest ${v.dockerManifestDigest}\n`,
          );
        } catch (e) {
          if (!isFerryError(e)) throw e;
          throw new FerryError(e.code, `verifying signature: ${e.message}`, { cause: e, details: e.details });
        }
      },
    );
}
