/**
 * `ferry standalone-sign MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT -o SIGNATURE`: a simple signature of a
 * manifest file, made by gpg with a key of the user's GnuPG home, as skopeo standalone-sign.
 */
import type { Command } from 'commander';

interface StandaloneSignFlags {
  output: string;
  passphraseFile?: string;
}

export function registerStandaloneSign(program: Command): void {
  program
    .command('standalone-sign')
    .summary('Create a signature using local files')
    .description('Create a simple (OpenPGP) signature of a manifest file, signed by a key of the GnuPG home')
    .argument('<manifest>', 'path to the manifest')
    .argument('<docker-reference>', 'the identity to sign the manifest as (e.g. quay.io/org/app:1)')
    .argument('<key-fingerprint>', 'fingerprint of a secret key in $GNUPGHOME (or ~/.gnupg)')
    .requiredOption('-o, --output <signature>', 'output the signature to SIGNATURE')
    .option('--passphrase-file <path>', 'file that contains a passphrase for the key')
    .addHelpText('after', '\nExample:\n  ferry standalone-sign manifest.json quay.io/org/app:1 3A1F…C0DE -o app.sig')
    .action(async (manifestPath: string, dockerReference: string, fingerprint: string, flags: StandaloneSignFlags) => {
      const { readFile, writeFile } = await import('node:fs/promises');
      const { FerryError, isFerryError, standaloneSign } = await import('../index.js');
      let manifest: Buffer;
      try {
        manifest = await readFile(manifestPath);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        throw new FerryError('INVALID_ARGUMENT', `cannot read manifest "${manifestPath}": ${reason}`, { cause: e });
      }
      let signature: Buffer;
      try {
        signature = await standaloneSign(manifest, dockerReference, fingerprint, {
          passphraseFile: flags.passphraseFile,
        });
      } catch (e) {
        if (!isFerryError(e)) throw e;
        throw new FerryError(e.code, `creating signature: ${e.message}`, { cause: e, details: e.details });
      }
      try {
        await writeFile(flags.output, signature, { mode: 0o644 });
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        throw new FerryError('INVALID_ARGUMENT', `writing signature to "${flags.output}": ${reason}`, { cause: e });
      }
    });
}
