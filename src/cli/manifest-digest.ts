/**
 * `ferry manifest-digest FILE`: prints the digest of a manifest file, as skopeo does (digest +
 * newline). A signed Docker schema1 manifest's digest is over its payload without the signatures.
 */
import type { Command } from 'commander';
import { writeStdout } from './output.js';

export function registerManifestDigest(program: Command): void {
  program
    .command('manifest-digest')
    .summary('Compute a manifest digest of a file')
    .description('Compute a manifest digest of a file (the digest a registry would give it)')
    .argument('<manifest-file>', 'path to the manifest')
    .addHelpText('after', '\nExample:\n  ferry manifest-digest manifest.json')
    .action(async (file: string) => {
      const { readFile } = await import('node:fs/promises');
      const { FerryError, isFerryError, manifestDigest } = await import('../index.js');
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        throw new FerryError('INVALID_ARGUMENT', `cannot read manifest file "${file}": ${reason}`, { cause: e });
      }
      let digest: string;
      try {
        digest = manifestDigest(bytes);
      } catch (e) {
        if (isFerryError(e)) {
          throw new FerryError(e.code, `computing the digest of "${file}": ${e.message}`, {
            cause: e,
            details: e.details,
          });
        }
        throw e;
      }
      await writeStdout(`${digest}\n`);
    });
}
