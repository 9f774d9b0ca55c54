/**
 * `docker://NAME[:TAG|@DIGEST]` references: an image in a registry (containers/image docker/docker_transport.go).
 * Parsing lives here; registry access is in source.ts / destination.ts over src/registry-client/.
 */
import { FerryError } from '../../errors.js';
import { quoteInput } from '../../util/quote.js';
import { dockerReferenceNamespaces } from '../../reference/namespaces.js';
import { type DockerReference, parseDockerReference } from '../../reference/reference.js';
import type {
  DockerDestinationOptions,
  DockerSourceOptions,
  ImageDestination,
  ImageSource,
  ImageTransport,
} from '../types.js';
// Source, destination (and delete) load on first use: parsing a reference stays cheap.
import { BaseImageReference } from '../reference-base.js';

export const DOCKER_TRANSPORT_NAME = 'docker';

/** A reference to an image in a registry: a name with exactly one of a tag or a digest. */
export class DockerImageReference extends BaseImageReference<DockerSourceOptions> {
  readonly transport: ImageTransport = dockerTransport;
  /** The image's name; always has a tag or a digest, never both. */
  readonly ref: DockerReference;

  /**
   * Wraps a Docker reference, adding `:latest` to a bare name. A reference with both a tag and a
   * digest is refused, as in containers/image: a registry pull could not honour both.
   */
  constructor(ref: DockerReference) {
    super();
    if (ref.tag !== undefined && ref.digest !== undefined) throw bothTagAndDigest(`docker://${ref.familiar}`);
    this.ref = ref.withDefaultTag();
  }

  stringWithinTransport(): string {
    return `//${this.ref.toString()}`;
  }

  override dockerReference(): DockerReference {
    return this.ref;
  }

  /**
   * The identity policy.json scopes match against: `name:tag` or `name@digest`
   * (containers/image docker/policyconfiguration).
   */
  override policyConfigurationIdentity(): string {
    return this.ref.toString();
  }

  /**
   * The scopes from most to least specific after the identity: the repository, each parent path
   * down to the host[:port], then `*.`-wildcards of the host's parent domains (IPv6 literals get none).
   */
  override policyConfigurationNamespaces(): string[] {
    return dockerReferenceNamespaces(this.ref.name);
  }

  async newImageSource(options: DockerSourceOptions = {}): Promise<ImageSource> {
    const { DockerImageSource } = await import('./source.js');
    return DockerImageSource.open(this, options);
  }

  async newImageDestination(options: DockerDestinationOptions = {}): Promise<ImageDestination> {
    const { DockerImageDestination } = await import('./destination.js');
    return DockerImageDestination.open(this, options);
  }

  /**
   * Deletes the manifest the reference names (a tag is resolved to its digest first), then its
   * lookaside signatures (the writable location), as containers/image does.
   */
  async deleteImage(options: DockerSourceOptions = {}): Promise<void> {
    const [
      { manifestRef, openRegistryClient },
      { loadSignatureConfig, signatureStorage },
      { removeLookasideSignatures },
    ] = await Promise.all([import('./source.js'), import('./signature-storage.js'), import('./lookaside.js')]);
    const signatures = signatureStorage(await loadSignatureConfig(options), {
      reference: this.ref,
      write: true,
      options,
    });
    const client = await openRegistryClient(this.ref, options);
    try {
      const digest = await client.deleteManifest(this.ref.path, manifestRef(this.ref), options.signal);
      await removeLookasideSignatures(signatures.lookasideBase, digest, 0, options.signal);
    } finally {
      await client.close();
    }
  }
}

function bothTagAndDigest(input: string): FerryError {
  return new FerryError(
    'INVALID_REFERENCE',
    `invalid reference ${quoteInput(input)}: docker: references with both a tag and digest are currently not supported`,
    { details: { reference: input } },
  );
}

/** Parses the text after `docker:`, which must start with `//`. */
export function parseDockerImageReference(within: string): DockerImageReference {
  const input = `${DOCKER_TRANSPORT_NAME}:${within}`;
  if (!within.startsWith('//')) {
    throw new FerryError(
      'INVALID_REFERENCE',
      `invalid reference ${quoteInput(input)}: docker: image reference must begin with //`,
      {
        details: { reference: input },
      },
    );
  }
  const ref = parseDockerReference(within.slice(2));
  if (ref.tag !== undefined && ref.digest !== undefined) throw bothTagAndDigest(input);
  return new DockerImageReference(ref);
}

export const dockerTransport: ImageTransport = {
  name: DOCKER_TRANSPORT_NAME,
  parseReference: parseDockerImageReference,
  listsReferrers: true,
};
