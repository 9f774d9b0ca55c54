/**
 * `ferry delete IMAGE`: deletes an image through its transport (`ImageReference.deleteImage`);
 * transports that cannot delete report their own error (skopeo's delete). For `docker://` a tag is
 * resolved to its digest and that manifest deleted (every tag naming it goes with it).
 */
import type { Command } from 'commander';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { globalOptions, imageOptionsFromGlobals } from './util.js';

export function registerDelete(program: Command): void {
  const cmd = program
    .command('delete')
    .summary('Delete image IMAGE-NAME')
    .description('Delete an "IMAGE-NAME" from a transport')
    .argument('<image-name>', 'image to delete, transport:details')
    .option('--shared-blob-dir <directory>', 'directory to use to share blobs across OCI repositories')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry delete oci:./layout:old\n  ferry delete docker://registry.example.com/app:old',
    );
  addRetryFlags(addRegistryFlags(cmd)).action(
    async (name: string, flags: { sharedBlobDir?: string }, command: Command) => {
      const { FerryError, parseImageReference } = await import('../index.js');
      const usage = (m: string): Error => new FerryError('INVALID_ARGUMENT', m);
      const options = {
        ...imageOptionsFromGlobals(globalOptions(command)),
        ...registryOptions(flags, '', usage),
        ...retryOptions(flags, usage),
      };
      if (flags.sharedBlobDir !== undefined) options.sharedBlobDir = flags.sharedBlobDir;
      await parseImageReference(name).deleteImage(options);
    },
  );
}
