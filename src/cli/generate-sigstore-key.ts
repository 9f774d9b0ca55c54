/**
 * `ferry generate-sigstore-key --output-prefix PREFIX [--passphrase-file FILE]`: a sigstore key pair for
 * `copy --sign-by-sigstore-private-key`, as skopeo's command writes it (PREFIX.private, encrypted in
 * cosign's format, and PREFIX.pub), never over existing files.
 */
import type { Command } from 'commander';
import { writeStdout } from './output.js';

interface GenerateSigstoreKeyFlags {
  outputPrefix: string;
  passphraseFile?: string;
}

export function registerGenerateSigstoreKey(program: Command): void {
  program
    .command('generate-sigstore-key')
    .summary('Generate a sigstore public/private key pair')
    .description(
      'Generate a sigstore key pair: PREFIX.private (encrypted with a passphrase, cosign format) and PREFIX.pub',
    )
    .requiredOption('--output-prefix <prefix>', 'write the keys to PREFIX.pub and PREFIX.private')
    .option('--passphrase-file <path>', 'read a passphrase for the private key from PATH (else it is asked for)')
    .addHelpText('after', '\nExample:\n  ferry generate-sigstore-key --output-prefix my-key')
    .action(async (flags: GenerateSigstoreKeyFlags) => {
      const lib = await import('../index.js');
      const { promptPassphrase, readPassphraseFile } = await import('./passphrase.js');
      const paths = await lib.checkSigstoreKeyFilesAbsent(flags.outputPrefix);
      let passphrase: string;
      if (flags.passphraseFile !== undefined) {
        passphrase = await readPassphraseFile(lib, flags.passphraseFile);
      } else {
        const key = paths.privateKeyPath;
        passphrase = await promptPassphrase(lib, `Passphrase for key ${key}: `, key);
        // A typo here would lock the key away for good: ask twice (as cosign generate-key-pair does).
        const again = await promptPassphrase(lib, `Passphrase for key ${key} again: `, key);
        if (again !== passphrase) throw new lib.FerryError('INVALID_ARGUMENT', 'the passphrases do not match');
      }
      const written = await lib.writeSigstoreKeyFiles(flags.outputPrefix, passphrase);
      await writeStdout(`Key written to "${written.privateKeyPath}" and "${written.publicKeyPath}"\n`);
    });
}
