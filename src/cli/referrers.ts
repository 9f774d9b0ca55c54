/**
 * `ferry referrers IMAGE`: the OCI 1.1 referrers of a docker:// image (distribution-spec v1.1
 * "Listing Referrers"; the referrers tag schema when the registry has no referrers API), or of an oci:
 * layout image (the index.json manifests whose `subject` is the image). No skopeo
 * counterpart (skopeo 1.9.3 has none); the output follows what the API returns:
 * - default: a table, one referrer a line: DIGEST, ARTIFACT TYPE, SIZE, ANNOTATIONS (`k=v` joined by `,`,
 *   cut to 60 characters), control characters escaped;
 * - `--format json`: the OCI image index the referrers API answers (`schemaVersion`, `mediaType`,
 *   `manifests`), indented by 4 spaces.
 */
import type { Command } from 'commander';
import type { ReferrersListing } from '../index.js';
import { goIndentedJSON } from './inspect.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { writeStdout } from './output.js';
import { globalOptions, imageOptionsFromGlobals } from './util.js';

const MAX_ANNOTATIONS_SHOWN = 60;

/** Text from a registry, one line, no terminal controls. */
function cell(s: string): string {
  return s.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function referrersTable(listing: ReferrersListing): string {
  const rows = [['DIGEST', 'ARTIFACT TYPE', 'SIZE', 'ANNOTATIONS']];
  for (const d of listing.manifests) {
    const annotations = Object.entries(d.annotations ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const shown =
      annotations.length > MAX_ANNOTATIONS_SHOWN ? `${annotations.slice(0, MAX_ANNOTATIONS_SHOWN - 1)}…` : annotations;
    rows.push([d.digest, cell(d.artifactType ?? ''), String(d.size), cell(shown)]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** The listing as the referrers API's OCI image index. */
export function referrersIndex(listing: ReferrersListing): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: listing.manifests.map((d) => ({
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.artifactType === undefined ? {} : { artifactType: d.artifactType }),
      ...(d.annotations === undefined ? {} : { annotations: d.annotations }),
    })),
  };
}

export function registerReferrers(program: Command): void {
  const cmd = program
    .command('referrers')
    .summary('List the OCI referrers (signatures, attestations, SBOMs) of IMAGE-NAME')
    .description(
      'List the manifests whose subject is "IMAGE-NAME" (a docker:// image by tag or digest): the registry\'s\n' +
        'referrers API, or the referrers tag schema (sha256-<hex> tag) when the registry has none;\n' +
        'or an oci: layout image: the index.json manifests whose subject it is',
    )
    .argument('<image-name>', 'image whose referrers to list, docker://NAME[:TAG|@DIGEST] or oci:DIR:NAME')
    .option('--artifact-type <type>', 'only referrers of this artifact type')
    .option('--format <format>', 'output format: table or json', 'table')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry referrers docker://quay.io/org/app:1.2\n  ferry referrers --format json --artifact-type application/spdx+json docker://localhost:5000/app@sha256:...',
    );
  addRetryFlags(addRegistryFlags(cmd)).action(
    async (name: string, flags: Record<string, unknown>, command: Command) => {
      const { FerryError, listReferrers, parseImageReference } = await import('../index.js');
      const usage = (m: string): Error => new FerryError('INVALID_ARGUMENT', m);
      const format = flags['format'];
      if (format !== 'table' && format !== 'json')
        throw usage(`--format must be table or json, not ${JSON.stringify(format)}`);
      // A transport that holds no referrers is refused by listReferrers, before anything is opened.
      const ref = parseImageReference(name);
      const artifactType = flags['artifactType'];
      const listing = await listReferrers(ref, {
        ...imageOptionsFromGlobals(globalOptions(command)),
        ...registryOptions(flags, '', usage),
        ...retryOptions(flags, usage),
        ...(typeof artifactType === 'string' ? { artifactType } : {}),
      });
      await writeStdout(format === 'json' ? `${goIndentedJSON(referrersIndex(listing))}\n` : referrersTable(listing));
    },
  );
}
