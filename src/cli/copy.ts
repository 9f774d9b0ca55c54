/**
 * `ferry copy SOURCE DESTINATION`: skopeo's copy for on-disk transports (and any other registered
 * one): list selection, manifest format, digest preservation, layer compression, extra tags,
 * digest file and skopeo-style progress lines.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { CopyOptions, ImageListSelection, SigningOptions } from '../index.js';
import { commandPolicy, debugPolicyDecisions } from './policy.js';
import { addRegistryFlags, addRetryFlags, registryOptions, retryOptions } from './registry-flags.js';
import { collect, globalOptions, imageOptionsFromGlobals, stopSignal } from './util.js';

interface CopyFlags {
  all?: boolean;
  multiArch?: string;
  format?: string;
  preserveDigests?: boolean;
  withReferrers?: boolean;
  destCompress?: boolean;
  destCompressFormat?: string;
  destCompressLevel?: string;
  destDecompress?: boolean;
  destForceCompressFormat?: boolean;
  digestfile?: string;
  additionalTag: string[];
  quiet?: boolean;
  removeSignatures?: boolean;
  srcSharedBlobDir?: string;
  destSharedBlobDir?: string;
  srcDaemonHost?: string;
  destDaemonHost?: string;
  destOciAcceptUncompressedLayers?: boolean;
  imageParallelCopies?: string;
  blobCache?: string;
  signBy?: string;
  signByKeyFile?: string;
  signBySigstorePrivateKey?: string;
  signPassphraseFile?: string;
  signIdentity?: string;
}

export function registerCopy(program: Command): void {
  const cmd = program
    .command('copy')
    .summary('Copy an IMAGE-NAME from one location to another')
    .description(
      'Copy an image from one location to another (SOURCE-IMAGE and DESTINATION-IMAGE are transport:details)',
    )
    .argument('<source-image>', 'image to copy from')
    .argument('<destination-image>', 'image to copy to')
    .option('-a, --all', 'copy all images if SOURCE-IMAGE is a list')
    .addOption(
      new Option('--multi-arch <which>', 'how to handle multi-architecture images').choices([
        'system',
        'all',
        'index-only',
      ]),
    )
    .option('-f, --format <manifest-type>', 'MANIFEST TYPE (oci, v2s1, or v2s2) to use in the destination')
    .option('--preserve-digests', 'preserve digests of images and lists')
    .option(
      '--with-referrers',
      'also copy the OCI referrers (signatures, attestations, SBOMs) and cosign .sig/.att/.sbom tags of the image, unchanged',
    )
    .option('--dest-compress', 'compress tarball image layers when saving to the destination')
    .option('--dest-compress-format <format>', 'FORMAT to use for the compression (gzip, zstd)')
    .option('--dest-compress-level <level>', 'LEVEL to use for the compression')
    .option('--dest-decompress', 'decompress tarball image layers when saving to the destination')
    .option('--dest-force-compress-format', 'recompress layers already compressed with another format')
    .option('--digestfile <file>', 'write the digest of the written manifest to FILE')
    .option('--additional-tag <name:tag>', 'additional tags (supports docker-archive)', collect, [])
    .option('-q, --quiet', 'suppress output information when copying images')
    .option('--remove-signatures', 'do not copy signatures from SOURCE-IMAGE')
    .option('--src-shared-blob-dir <directory>', 'DIRECTORY to use to share blobs across OCI repositories')
    .option('--dest-shared-blob-dir <directory>', 'DIRECTORY to use to share blobs across OCI repositories')
    .option('--src-daemon-host <host>', 'use docker daemon host at HOST (docker-daemon: only)')
    .option('--dest-daemon-host <host>', 'use docker daemon host at HOST (docker-daemon: only)')
    .option('--dest-oci-accept-uncompressed-layers', 'allow uncompressed image layers when saving to an OCI image')
    .option('--image-parallel-copies <n>', 'maximum number of layers copied at once')
    .option('--authfile <path>', 'path of the authentication file (both images)')
    .addHelpText(
      'after',
      '\nExamples:\n  ferry copy oci:./layout:latest dir:./out\n  ferry copy --all oci:./multi:v1 oci-archive:./multi.tar:v1',
    );
  addSigningFlags(
    cmd,
    'identity of the signed image, a fully specified docker reference (default: the destination reference)',
  );
  addBlobCacheFlag(cmd);
  addRegistryFlags(cmd, 'src-');
  addRegistryFlags(cmd, 'dest-');
  addRetryFlags(cmd);
  cmd.action(async (srcName: string, destName: string, flags: CopyFlags, command: Command) => {
    const { FerryError, MediaType, copyImage, parseImageReference } = await import('../index.js');
    const { createCopyProgress } = await import('./progress.js');
    const usage = (message: string): Error => new FerryError('INVALID_ARGUMENT', message);
    // skopeo reads the policy first: a missing or invalid one stops the command before anything else.
    const policy = await commandPolicy(globalOptions(command), stopSignal());

    let selection: ImageListSelection = 'system';
    if (flags.all === true && flags.multiArch !== undefined) throw usage('cannot use --all and --multi-arch together');
    if (flags.all === true) selection = 'all';
    if (flags.multiArch !== undefined) selection = flags.multiArch as ImageListSelection;

    const forceManifestMIMEType = manifestFormat(flags.format, MediaType, usage);

    if (flags.destCompress === true && flags.destDecompress === true) {
      throw usage('--dest-compress and --dest-decompress cannot be used together');
    }
    const algorithm = flags.destCompressFormat;
    if (algorithm !== undefined && algorithm !== 'gzip' && algorithm !== 'zstd') {
      throw usage(`unsupported compression format "${algorithm}" (gzip, zstd)`);
    }
    const level = parseIntegerFlag('--dest-compress-level', flags.destCompressLevel, usage);
    const parallel = parseIntegerFlag('--image-parallel-copies', flags.imageParallelCopies, usage);
    if (parallel !== undefined && parallel < 1) throw usage('--image-parallel-copies must be at least 1');

    const globals = imageOptionsFromGlobals(globalOptions(command));
    const all = flags as unknown as Record<string, unknown>;
    const authfile = typeof all['authfile'] === 'string' ? all['authfile'] : undefined;
    const retry = retryOptions(all, usage);
    const sourceOptions = { ...globals, ...registryOptions(all, 'src-', usage, authfile), ...retry };
    if (flags.srcSharedBlobDir !== undefined) sourceOptions.sharedBlobDir = flags.srcSharedBlobDir;
    const destinationOptions = { ...globals, ...registryOptions(all, 'dest-', usage, authfile), ...retry };
    if (flags.destSharedBlobDir !== undefined) destinationOptions.sharedBlobDir = flags.destSharedBlobDir;
    if (flags.srcDaemonHost !== undefined) sourceOptions.daemonHost = flags.srcDaemonHost;
    if (flags.destDaemonHost !== undefined) destinationOptions.daemonHost = flags.destDaemonHost;
    if (flags.additionalTag.length > 0) destinationOptions.additionalTags = flags.additionalTag;
    if (flags.destOciAcceptUncompressedLayers === true) destinationOptions.ociAcceptUncompressedLayers = true;

    const src = parseImageReference(srcName);
    const dest = parseImageReference(destName);

    const options: CopyOptions = {
      signal: stopSignal(),
      sourceOptions,
      destinationOptions,
      imageListSelection: selection,
      destinationCompression: {
        ...(algorithm === undefined ? {} : { algorithm }),
        ...(level === undefined ? {} : { level }),
        ...(flags.destForceCompressFormat === true ? { force: true } : {}),
        ...(flags.destDecompress === true ? { decompress: true } : {}),
      },
    };
    if (policy !== undefined) options.policy = policy;
    else options.insecurePolicy = true;
    const onPolicyDecision = await debugPolicyDecisions(globalOptions(command));
    if (onPolicyDecision !== undefined) options.onPolicyDecision = onPolicyDecision;
    if (forceManifestMIMEType !== undefined) options.forceManifestMIMEType = forceManifestMIMEType;
    if (flags.preserveDigests === true) options.preserveDigests = true;
    if (flags.withReferrers === true) options.withReferrers = true;
    if (flags.removeSignatures === true) options.removeSignatures = true;
    const signing = await signingOptions(flags, usage);
    if (signing !== undefined) options.signing = signing;
    if (parallel !== undefined) options.maxParallelBlobs = parallel;
    // Without the flag the library's default applies (FERRY_BLOB_CACHE, else the persistent cache).
    if (flags.blobCache !== undefined && flags.blobCache !== '') options.blobInfoCache = flags.blobCache;
    const progress = flags.quiet === true ? undefined : await createCopyProgress({ signing: signing !== undefined });
    if (progress !== undefined) options.onProgress = (event) => progress.onProgress(event);

    let result: Awaited<ReturnType<typeof copyImage>>;
    try {
      result = await copyImage(src, dest, options);
    } catch (e) {
      progress?.fail();
      throw e;
    }
    progress?.finish();
    if (flags.digestfile !== undefined) {
      const { writeFile } = await import('node:fs/promises');
      // skopeo writes the bare digest, without a newline.
      await writeFile(flags.digestfile, result.manifestDigest, { mode: 0o644 });
    }
  });
}

/** Adds the signing flags of copy and sync (skopeo's, plus Ferry's --sign-by-key-file). */
export function addSigningFlags(cmd: Command, identityHelp: string): void {
  cmd
    .option('--sign-by <fingerprint>', 'sign the image using a GPG key with the specified FINGERPRINT')
    .option('--sign-by-key-file <path>', 'sign the image using the OpenPGP private key in PATH (Ferry only)')
    .option('--sign-by-sigstore-private-key <path>', 'sign the image using a sigstore private key at PATH')
    .option('--sign-passphrase-file <path>', 'read a passphrase for signing an image from PATH')
    .option('--sign-identity <reference>', identityHelp);
}

/** Adds the hidden --blob-cache flag of copy and sync (the blob-info cache the copies use). */
export function addBlobCacheFlag(cmd: Command): void {
  cmd.addOption(
    new Option(
      '--blob-cache <spec>',
      'blob-info cache: none, memory or the PATH of an SQLite file (also FERRY_BLOB_CACHE)',
    ).hideHelp(),
  );
}

/** `-f/--format` of copy and sync (oci, v2s1, v2s2) as the manifest MIME type to write, or undefined. */
export function manifestFormat(
  format: string | undefined,
  mediaType: typeof import('../index.js').MediaType,
  usage: (m: string) => Error,
): string | undefined {
  if (format === undefined) return undefined;
  const formats: Record<string, string> = {
    oci: mediaType.OCI_MANIFEST,
    v2s1: mediaType.DOCKER_V2_SCHEMA1_SIGNED,
    v2s2: mediaType.DOCKER_V2_SCHEMA2,
  };
  const mimeType = formats[format];
  if (mimeType === undefined) {
    throw usage(`unknown format "${format}"; choose one of the supported formats: oci, v2s1, v2s2`);
  }
  return mimeType;
}

/** The signing flags of copy and sync. */
export type SigningFlags = Pick<
  CopyFlags,
  'signBy' | 'signByKeyFile' | 'signBySigstorePrivateKey' | 'signPassphraseFile' | 'signIdentity'
>;

/** The signing flags as library options, with skopeo's rules (one signer per passphrase file, a canonical identity). */
export async function signingOptions(
  flags: SigningFlags,
  usage: (m: string) => Error,
): Promise<SigningOptions | undefined> {
  const signers = [flags.signBy, flags.signByKeyFile, flags.signBySigstorePrivateKey].filter((f) => f !== undefined);
  if (signers.length === 0) {
    if (flags.signIdentity !== undefined) throw usage('--sign-identity needs a signing flag (--sign-by…)');
    if (flags.signPassphraseFile !== undefined) throw usage('--sign-passphrase-file needs a signing flag (--sign-by…)');
    return undefined;
  }
  if (flags.signPassphraseFile !== undefined && signers.length > 1) {
    throw usage(
      'only one of --sign-by, --sign-by-key-file and --sign-by-sigstore-private-key can be used with --sign-passphrase-file',
    );
  }
  const lib = await import('../index.js');
  const { promptPassphrase, readPassphraseFile } = await import('./passphrase.js');
  const signing: SigningOptions = {};
  if (flags.signIdentity !== undefined) {
    try {
      signing.identity = lib.parseNamed(flags.signIdentity).toString();
    } catch (e) {
      throw usage(`could not parse --sign-identity: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const passphrase =
    flags.signPassphraseFile === undefined ? undefined : await readPassphraseFile(lib, flags.signPassphraseFile);
  // Without a passphrase file, gpg's agent asks for a gpg key's passphrase itself (as in skopeo).
  if (flags.signBy !== undefined)
    signing.gpg = { fingerprint: flags.signBy, ...(passphrase === undefined ? {} : { passphrase }) };
  if (flags.signByKeyFile !== undefined) {
    const { readFile } = await import('node:fs/promises');
    let privateKey: Buffer;
    try {
      privateKey = await readFile(flags.signByKeyFile);
    } catch (e) {
      throw usage(`reading --sign-by-key-file "${flags.signByKeyFile}": ${e instanceof Error ? e.message : String(e)}`);
    }
    signing.openpgpKey = { privateKey, ...(passphrase === undefined ? {} : { passphrase }) };
  }
  if (flags.signBySigstorePrivateKey !== undefined) {
    const file = flags.signBySigstorePrivateKey;
    signing.sigstoreKey = {
      privateKeyFile: file,
      passphrase: passphrase ?? (await promptPassphrase(lib, `Passphrase for key ${file}: `, file)),
    };
  }
  return signing;
}

export function parseIntegerFlag(
  name: string,
  value: string | undefined,
  usage: (m: string) => Error,
): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw usage(`${name} wants an integer, got "${value}"`);
  return Number(value);
}
