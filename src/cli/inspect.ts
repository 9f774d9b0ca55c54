/**
 * `ferry inspect IMAGE`: skopeo's inspect. Default output is skopeo's inspect Output struct
 * indented with 4 spaces plus a newline (Go's json.MarshalIndent, HTML characters escaped);
 * `--raw` prints the exact top-level manifest bytes (no newline added), `--config` the config
 * through the OCI `Image` struct, indented (`--raw`: exact bytes), `--format` a Go template
 * (src/cli/template.ts) whose output always ends with a newline.
 */
import type { Command } from 'commander';
import type { InspectInfo } from '../index.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { printStderr, writeStdout } from './output.js';
import { globalOptions, imageOptionsFromGlobals } from './util.js';

interface InspectFlags {
  raw?: boolean;
  config?: boolean;
  format?: string;
  tags: boolean;
  sharedBlobDir?: string;
  daemonHost?: string;
}

/** Go's json.MarshalIndent with 4 spaces: `<`, `>`, `&`, U+2028/9 escaped (only ever inside strings). */
export function goIndentedJSON(value: unknown): string {
  return JSON.stringify(value, null, 4).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * skopeo's inspect Output struct, in its field order: Name and Tag (a schema1 manifest's) only when
 * set, and no Variant (skopeo prints none, though containers/image's ImageInspectInfo has one).
 * Upstream prints LayersData.
 */
function skopeoOutput(info: InspectInfo, repoTags: string[] | null): Record<string, unknown> {
  return {
    ...(info.Name === undefined ? {} : { Name: info.Name }),
    ...(info.Tag === undefined ? {} : { Tag: info.Tag }),
    Digest: info.Digest,
    RepoTags: repoTags,
    Created: info.Created,
    DockerVersion: info.DockerVersion,
    Labels: info.Labels,
    Architecture: info.Architecture,
    Os: info.Os,
    Layers: info.Layers,
    LayersData: info.LayersData,
    Env: info.Env,
  };
}

/** The inspect data as Go templates see it: every field present, nil maps/slices as empty ones. */
function templateView(
  info: InspectInfo,
  goTimeString: (s: string) => string,
  maps: WeakSet<object>,
): Record<string, unknown> {
  const labels = info.Labels ?? {};
  maps.add(labels);
  const created = info.Created;
  return {
    Name: info.Name ?? '',
    Tag: info.Tag ?? '',
    Digest: info.Digest,
    RepoTags: info.RepoTags,
    Created: created === null ? null : { goString: () => goTimeString(created), toJSON: () => created },
    DockerVersion: info.DockerVersion,
    Labels: labels,
    Architecture: info.Architecture,
    Variant: info.Variant ?? '',
    Os: info.Os,
    Layers: info.Layers,
    LayersData: info.LayersData.map((l) => {
      const annotations = l.Annotations ?? {};
      maps.add(annotations);
      return { ...l, Annotations: annotations };
    }),
    Env: info.Env ?? [],
  };
}

export function registerInspect(program: Command): void {
  const cmd = program
    .command('inspect')
    .summary('Inspect image IMAGE-NAME')
    .description('Return low-level information about "IMAGE-NAME" in a registry/transport')
    .argument('<image-name>', 'image to inspect, transport:details')
    .option('--raw', 'output raw manifest or configuration')
    .option('--config', 'output configuration')
    .option('-f, --format <template>', 'format the output to a Go template')
    .option('-n, --no-tags', 'do not list the available tags from the repository in the output')
    .option('--shared-blob-dir <directory>', 'directory to use to share blobs across OCI repositories')
    .option('--daemon-host <host>', 'use docker daemon host at HOST (docker-daemon: only)')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry inspect oci:./layout:latest\n  ferry inspect --config oci:./layout:latest\n  ferry inspect --format "{{.Digest}}" dir:./image',
    );
  addRetryFlags(addRegistryFlags(cmd)).action(async (name: string, flags: InspectFlags, command: Command) => {
    const {
      FerryError,
      getRepositoryTags,
      goTimeString,
      isFerryError,
      ociImageConfig,
      openImage,
      parseImageConfig,
      parseImageReference,
    } = await import('../index.js');
    const { Template, isWholeJSONFormat, normalizeFormat } = await import('./template.js');
    const wholeJSON = flags.format !== undefined && isWholeJSONFormat(flags.format);
    // Parse the template before any I/O, so a bad one fails fast.
    const template =
      flags.format === undefined || wholeJSON || flags.raw === true || flags.config === true
        ? undefined
        : new Template(normalizeFormat(flags.format));

    const options = {
      ...imageOptionsFromGlobals(globalOptions(command)),
      ...registryOptions(flags as unknown as Record<string, unknown>, '', (m) => new FerryError('INVALID_ARGUMENT', m)),
      ...retryOptions(flags as unknown as Record<string, unknown>, (m) => new FerryError('INVALID_ARGUMENT', m)),
    };
    if (flags.sharedBlobDir !== undefined) options.sharedBlobDir = flags.sharedBlobDir;
    if (flags.daemonHost !== undefined) options.daemonHost = flags.daemonHost;
    const ref = parseImageReference(name);
    const image = await openImage(ref, options);
    try {
      if (flags.config === true) {
        const config = flags.raw === true ? await image.rawConfig() : await image.config();
        if (config === undefined) {
          throw new FerryError('INVALID_MANIFEST', `image ${ref.toString()} has no config`);
        }
        if (flags.raw === true) {
          await writeStdout(config);
          return;
        }
        await image.assertNotArtifact();
        await writeStdout(
          `${goIndentedJSON(ociImageConfig(parseImageConfig(config, `config of ${ref.toString()}`)))}\n`,
        );
        return;
      }
      if (flags.raw === true) {
        const raw = await image.manifest();
        await writeStdout(raw.bytes);
        return;
      }
      // A registry's tags; null (as skopeo prints it) when the registry refuses to list them.
      let repoTags: string[] | null = [];
      if (flags.tags && ref.transport.name === 'docker') {
        try {
          repoTags = await getRepositoryTags(ref, options);
        } catch (e) {
          if (!isFerryError(e, 'UNAUTHORIZED') && !isFerryError(e, 'DENIED')) {
            const message = e instanceof Error ? e.message : String(e);
            throw new FerryError(
              isFerryError(e) ? e.code : 'REGISTRY_ERROR',
              `determining repository tags: ${message}`,
              { cause: e },
            );
          }
          printStderr('ferry: warning: registry disallows tag list retrieval; skipping\n');
          repoTags = null;
        }
      }
      const info = await image.inspect({ repoTags: repoTags ?? [] });
      if (template === undefined) {
        await writeStdout(`${goIndentedJSON(skopeoOutput(info, repoTags === null ? null : info.RepoTags))}\n`);
        return;
      }
      const maps = new WeakSet<object>();
      await writeStdout(template.execute(templateView(info, goTimeString, maps), { maps }));
    } finally {
      await image.close();
    }
  });
}
