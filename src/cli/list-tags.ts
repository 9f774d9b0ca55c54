/**
 * `ferry list-tags SOURCE`: skopeo's list-tags. `docker://NAME` (no tag or digest) lists the
 * repository's tags in the registry's order; `docker-archive:PATH` lists every image's tags
 * (`@N` for an untagged one). Output is `{"Repository": NAME, "Tags": [...]}` indented with
 * 4 spaces plus a newline; `Repository` is left out for archives, as skopeo does.
 */
import type { Command } from 'commander';
import { goIndentedJSON } from './inspect.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { writeStdout } from './output.js';
import { globalOptions, imageOptionsFromGlobals, stopSignal } from './util.js';

const SUPPORTED = ['docker', 'docker-archive'];

export function registerListTags(program: Command): void {
  const cmd = program
    .command('list-tags')
    .summary('List tags in the transport/repository specified by the SOURCE-IMAGE')
    .description(
      'Return the list of tags from the transport/repository "SOURCE-IMAGE"\n\nSupported transports:\n' +
        `${SUPPORTED.join(' ')}\n\nA docker:// SOURCE-IMAGE names a repository, without a tag or digest.`,
    )
    .argument('<source-image>', 'repository to list, transport:details')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry list-tags docker://docker.io/fedora\n  ferry list-tags docker-archive:./images.tar',
    );
  addRetryFlags(addRegistryFlags(cmd)).action(
    async (name: string, flags: Record<string, unknown>, command: Command) => {
      const {
        DockerArchiveReference,
        FerryError,
        getRepositoryTags,
        listArchiveTags,
        parseDockerReference,
        parseImageReference,
        transportNames,
      } = await import('../index.js');
      const usage = (m: string): Error => new FerryError('INVALID_ARGUMENT', m);
      const colon = name.indexOf(':');
      const transport = colon <= 0 ? undefined : name.slice(0, colon);
      if (transport === undefined || !transportNames().includes(transport)) {
        throw new FerryError('INVALID_REFERENCE', `Invalid "${name}": does not specify a transport`);
      }
      if (!SUPPORTED.includes(transport)) {
        throw usage(`Unsupported transport '${transport}' for tag listing. Only supported: ${SUPPORTED.join(', ')}`);
      }
      const options = {
        ...imageOptionsFromGlobals(globalOptions(command)),
        ...registryOptions(flags, '', usage),
        ...retryOptions(flags, usage),
      };

      let output: { Repository?: string; Tags: string[] };
      if (transport === 'docker') {
        const within = name.slice(colon + 1);
        if (!within.startsWith('//')) {
          throw new FerryError('INVALID_REFERENCE', `docker: image reference ${name} does not start with docker://`);
        }
        const named = parseDockerReference(within.slice(2));
        if (named.tag !== undefined || named.digest !== undefined) {
          throw new FerryError('INVALID_REFERENCE', `No tag or digest allowed in reference ${name}`);
        }
        const tags = await getRepositoryTags(parseImageReference(name), options);
        output = { Repository: named.name, Tags: tags };
      } else {
        const ref = parseImageReference(name);
        if (!(ref instanceof DockerArchiveReference)) throw usage(`${name} is not a docker-archive reference`);
        const tags = await listArchiveTags(ref.path, {
          ...(options.tmpDir === undefined ? {} : { tmpDir: options.tmpDir }),
          signal: stopSignal(),
        });
        // skopeo prints an archive's tags fully qualified (`docker.io/library/busybox:latest`); `@N` stays.
        const qualified = (tag: string): string => {
          if (/^@[0-9]+$/.test(tag)) return tag;
          try {
            const named = parseDockerReference(tag);
            if (named.tag !== undefined && named.digest === undefined) return named.toString();
          } catch {
            // reported below
          }
          throw new FerryError('INVALID_ARGUMENT', `invalid tag "${tag}" in docker archive "${ref.path}"`);
        };
        output = { Tags: tags.map(qualified) };
      }
      await writeStdout(`${goIndentedJSON(output)}\n`);
    },
  );
}
