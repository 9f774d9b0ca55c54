/**
 * `ferry sync --src docker|dir|yaml --dest docker|dir SOURCE DESTINATION`: skopeo sync's interface
 * (same flags, same YAML file, same destination names), plus Ferry's: `--shard INDEX/COUNT`,
 * `--include-tag`/`--exclude-tag`, `--parallel-images`, and `--summary-format json` (skopeo's `-f`
 * is already the manifest format, so the summary's format has its own flag).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { SyncImageResult, SyncOptions, SyncResult } from '../index.js';
import {
  addBlobCacheFlag,
  addSigningFlags,
  manifestFormat,
  parseIntegerFlag,
  type SigningFlags,
  signingOptions,
} from './copy.js';
import { commandPolicy, debugPolicyDecisions } from './policy.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { printStderr, printStdout, writeStdout } from './output.js';
import { collect, globalOptions, imageOptionsFromGlobals, stopSignal } from './util.js';

interface SyncFlags extends SigningFlags {
  src?: string;
  dest?: string;
  all?: boolean;
  scoped?: boolean;
  appendSuffix?: string;
  dryRun?: boolean;
  keepGoing?: boolean;
  format?: string;
  preserveDigests?: boolean;
  removeSignatures?: boolean;
  blobCache?: string;
  withReferrers?: boolean;
  digestfile?: string;
  shard?: string;
  includeTag: string[];
  excludeTag: string[];
  parallelImages?: string;
  summaryFormat?: string;
}

export function registerSync(program: Command): void {
  const cmd = program
    .command('sync')
    .summary('Synchronize one or more images from one location to another')
    .description(
      'Copy all the images from a SOURCE to a DESTINATION.\n\nAllowed SOURCE transports (--src): docker, dir, yaml.\nAllowed DESTINATION transports (--dest): docker, dir.',
    )
    .argument('<source>', 'a docker repository or image, a directory, or a YAML file')
    .argument('<destination>', 'a docker registry/namespace, or a directory')
    .addOption(new Option('-s, --src <transport>', 'SOURCE transport type').choices(['docker', 'dir', 'yaml']))
    .addOption(new Option('-d, --dest <transport>', 'DESTINATION transport type').choices(['docker', 'dir']))
    .option('-a, --all', 'copy all images if SOURCE-IMAGE is a list')
    .option('--scoped', 'images at DESTINATION are prefixed using the full source image path as scope')
    .option('--append-suffix <suffix>', 'string to append to DESTINATION tags')
    .option('--dry-run', 'run without copying anything: print what would be copied')
    .option('--keep-going', 'do not abort the sync if any image copy fails')
    .option(
      '-f, --format <manifest-type>',
      'MANIFEST TYPE (oci, v2s1, or v2s2) to use when syncing image(s) to a destination',
    )
    .option('--preserve-digests', 'preserve digests of images and lists')
    .option('--remove-signatures', 'do not copy signatures from SOURCE images')
    .option(
      '--with-referrers',
      "also copy each image's OCI referrers and cosign signature/attestation/SBOM tags (Ferry only)",
    )
    .option('--digestfile <file>', 'write the digests and references of the resulting images to FILE, one per line')
    .option('--authfile <path>', 'path of the authentication file (both sides)')
    .option('--shard <index/count>', 'sync only this share of the images (INDEX from 0), split by repository and tag')
    .option('--include-tag <regex>', 'only tags matching REGEX (repeatable; any one matches)', collect, [])
    .option('--exclude-tag <regex>', 'never tags matching REGEX (repeatable)', collect, [])
    .option(
      '--parallel-images <n>',
      'images copied at once per registry, one at a time per destination repository (default 4)',
    )
    .addOption(
      new Option('--summary-format <format>', 'print a summary at the end in FORMAT').choices(['text', 'json']),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  ferry sync --src docker --dest dir --scoped registry.example.com/busybox /media/usb\n  ferry sync --src yaml --dest docker sync.yaml my-registry.local.lan/repo',
    );
  addSigningFlags(cmd, 'identity of the signed images, a fully specified docker reference');
  addBlobCacheFlag(cmd);
  addRegistryFlags(cmd, 'src-', true);
  addRegistryFlags(cmd, 'dest-', true);
  addRetryFlags(cmd);
  cmd.action(async (source: string, destination: string, flags: SyncFlags, command: Command) => {
    const { FerryError, MediaType, parseShard, syncImages } = await import('../index.js');
    const usage = (message: string): Error => new FerryError('INVALID_ARGUMENT', message);
    if (flags.src === undefined) throw usage('a source transport must be specified (--src docker|dir|yaml)');
    if (flags.dest === undefined) throw usage('a destination transport must be specified (--dest docker|dir)');
    const policy = await commandPolicy(globalOptions(command), stopSignal());

    const forceManifestMIMEType = manifestFormat(flags.format, MediaType, usage);
    const parallel = parseIntegerFlag('--parallel-images', flags.parallelImages, usage);
    if (parallel !== undefined && parallel < 1) throw usage('--parallel-images must be at least 1');

    const globals = imageOptionsFromGlobals(globalOptions(command));
    const all = flags as unknown as Record<string, unknown>;
    const authfile = typeof all['authfile'] === 'string' ? all['authfile'] : undefined;
    const retry = retryOptions(all, usage);
    const sourceOptions = { ...globals, ...registryOptions(all, 'src-', usage, authfile), ...retry };
    const destinationOptions = { ...globals, ...registryOptions(all, 'dest-', usage, authfile), ...retry };
    const signal = stopSignal();

    const options: SyncOptions = {
      sourceKind: flags.src as SyncOptions['sourceKind'],
      source,
      destinationKind: flags.dest as SyncOptions['destinationKind'],
      destination,
      sourceOptions,
      signal,
      includeTags: flags.includeTag,
      excludeTags: flags.excludeTag,
      copy: {
        destinationOptions,
        imageListSelection: flags.all === true ? 'all' : 'system',
        ...(policy === undefined ? { insecurePolicy: true } : { policy }),
      },
    };
    const copy = options.copy as NonNullable<SyncOptions['copy']>;
    const onPolicyDecision = await debugPolicyDecisions(globalOptions(command));
    if (onPolicyDecision !== undefined) copy.onPolicyDecision = onPolicyDecision;
    if (forceManifestMIMEType !== undefined) copy.forceManifestMIMEType = forceManifestMIMEType;
    if (flags.preserveDigests === true) copy.preserveDigests = true;
    if (flags.removeSignatures === true) copy.removeSignatures = true;
    if (flags.blobCache !== undefined && flags.blobCache !== '') copy.blobInfoCache = flags.blobCache;
    if (flags.withReferrers === true) {
      copy.withReferrers = true;
      options.withReferrers = true;
    }
    const signing = await signingOptions(flags, usage);
    if (signing !== undefined) copy.signing = signing;
    if (flags.scoped === true) options.scoped = true;
    if (flags.appendSuffix !== undefined) options.appendSuffix = flags.appendSuffix;
    if (flags.dryRun === true) options.dryRun = true;
    if (flags.keepGoing === true) options.keepGoing = true;
    if (flags.shard !== undefined) options.shard = parseShard(flags.shard);
    if (parallel !== undefined) options.parallelPerRegistry = parallel;
    const json = flags.summaryFormat === 'json';
    // With a JSON summary, stdout holds the summary only; the per-image lines go to stderr.
    const printLine = json ? printStderr : printStdout;
    options.onImage = (r) => (r.status === 'failed' ? printStderr : printLine)(`${imageLine(r)}\n`);

    const result = await syncImages(options);
    // Stopped as the last images finished (a reader gone at the last line): no digest file, no summary.
    signal.throwIfAborted();
    if (flags.digestfile !== undefined && flags.dryRun !== true) {
      const { writeFile } = await import('node:fs/promises');
      const text = result.images
        .filter((r) => r.digest !== undefined && r.status !== 'would-copy')
        .map((r) => `${r.digest} ${r.destination}\n`)
        .join('');
      await writeFile(flags.digestfile, text, { mode: 0o644 });
    }
    if (json) await writeStdout(`${JSON.stringify(summaryJSON(result, flags.dryRun === true), null, 2)}\n`);
    else if (flags.summaryFormat === 'text' || flags.dryRun === true)
      await writeStdout(`${summaryLine(result, flags.dryRun === true)}\n`);
    if (result.failed > 0) {
      const first = result.images.find((r) => r.status === 'failed');
      const why = result.stopped ? ` (stopped at the first failure; --keep-going goes on): ${first?.error}` : '';
      throw new FerryError('SYNC_FAILED', `sync failed: ${result.failed} image(s) could not be copied${why}`);
    }
  });
}

function imageLine(r: SyncImageResult): string {
  switch (r.status) {
    case 'copied':
      return `Copied ${r.source} to ${r.destination} (${r.digest}, ${r.bytes} bytes)`;
    case 'skipped':
      return `Skipped ${r.source}: ${r.destination} is up to date (${r.digest})`;
    case 'would-copy':
      return `Would copy ${r.source} to ${r.destination}`;
    case 'failed':
      return `Failed ${r.source} to ${r.destination}: ${r.error}`;
  }
}

function summaryLine(result: SyncResult, dryRun: boolean): string {
  if (dryRun) {
    return `Dry run: ${result.wouldCopy} image(s) would be copied, ${result.skipped} up to date, ${result.failed} failed`;
  }
  return `Synced ${result.copied + result.skipped} image(s): ${result.copied} copied, ${result.skipped} up to date, ${result.failed} failed, ${result.bytes} bytes moved`;
}

function summaryJSON(result: SyncResult, dryRun: boolean): unknown {
  return {
    dryRun,
    found: result.found,
    copied: result.copied,
    skipped: result.skipped,
    wouldCopy: result.wouldCopy,
    failed: result.failed,
    bytes: result.bytes,
    stopped: result.stopped,
    images: result.images,
  };
}
