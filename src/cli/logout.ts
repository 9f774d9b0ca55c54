/**
 * `ferry logout REGISTRY` / `ferry logout --all`: skopeo's logout, removing credentials from the
 * auth.json podman and skopeo use (and from a credential helper named in its `credHelpers`).
 */
import type { Command } from 'commander';
import { credentialStore, credentialsKey } from './login.js';
import { parseBool } from './registry-flags.js';
import { writeStdout } from './output.js';

export function registerLogout(program: Command): void {
  program
    .command('logout')
    .summary('Logout of a container registry')
    .description('Logout of a container registry on a specified server')
    .argument('[registry]', 'registry host[:port], or host[:port]/namespace/repository')
    .option('-a, --all', 'remove the cached credentials for all registries in the auth file')
    .option(
      '--authfile <path>',
      'path of the authentication file. Use REGISTRY_AUTH_FILE environment variable to override',
    )
    .option('--tls-verify [bool]', 'require HTTPS and verify certificates when accessing the registry', parseBool)
    .addHelpText('after', '\nExamples:\n  ferry logout quay.io\n  ferry logout --all')
    .action(async (arg: string | undefined, flags: { all?: boolean; authfile?: string }) => {
      const { FerryError, removeAllCredentials, removeCredentials } = await import('../index.js');
      const { fileOptions } = await credentialStore(flags.authfile);
      if (flags.authfile !== undefined) {
        const { stat } = await import('node:fs/promises');
        try {
          await stat(flags.authfile);
        } catch (e) {
          throw new FerryError('INVALID_ARGUMENT', `checking authfile: ${(e as Error).message}`, { cause: e });
        }
      }
      if (flags.all === true) {
        if (arg !== undefined) throw new FerryError('INVALID_ARGUMENT', '--all takes no arguments');
        await removeAllCredentials(fileOptions);
        await writeStdout('Removed login credentials for all registries\n');
        return;
      }
      if (arg === undefined) throw new FerryError('INVALID_ARGUMENT', 'please provide a registry to logout from');
      const { key } = await credentialsKey(arg);
      if (!(await removeCredentials(key, fileOptions))) throw new FerryError('UNAUTHORIZED', `not logged into ${key}`);
      await writeStdout(`Removed login credentials for ${key}\n`);
    });
}
