/**
 * `docker-daemon:NAME:TAG`, `docker-daemon:NAME@DIGEST` and `docker-daemon:sha256:ID` references: an
 * image in a Docker daemon's store (containers/image docker/daemon/daemon_transport.go). A full
 * `sha256:` image ID (64 hex digits) names an image by ID, sources only; a short ID, a bare hex ID or a
 * name that is only `sha256` is refused, as is a bare name (no tag is assumed) and a tag with a digest.
 * A destination needs NAME:TAG.
 */
import { dockerReferenceNamespaces } from '../../reference/namespaces.js';
import { type Digest, digestAlgorithm, parseDigest } from '../../digest/digest.js';
import { FerryError } from '../../errors.js';
import type { DockerReference } from '../../reference/reference.js';
import { BaseImageReference, invalidReference, parseDockerReferenceWithin } from '../reference-base.js';
import type {
  CallOptions,
  DockerDaemonDestinationOptions,
  DockerDaemonSourceOptions,
  ImageDestination,
  ImageSource,
  ImageTransport,
} from '../types.js';

export const DOCKER_DAEMON_TRANSPORT_NAME = 'docker-daemon';

function invalid(within: string, rule: string): FerryError {
  return invalidReference(DOCKER_DAEMON_TRANSPORT_NAME, within, rule);
}

/** A reference to an image in a Docker daemon: exactly one of an image ID or a name with a tag or a digest. */
export class DockerDaemonReference extends BaseImageReference<DockerDaemonSourceOptions> {
  readonly transport: ImageTransport = dockerDaemonTransport;
  readonly id: Digest | undefined;
  readonly ref: DockerReference | undefined;

  constructor(target: { id: Digest } | { ref: DockerReference }) {
    super();
    if ('id' in target) {
      if (digestAlgorithm(target.id) !== 'sha256') throw invalid(target.id, 'only sha256 image IDs are accepted');
      this.id = target.id;
      this.ref = undefined;
      return;
    }
    const ref = target.ref;
    if (ref.isNameOnly()) throw invalid(ref.familiar, 'the reference has neither a tag nor a digest');
    // Most docker versions would ignore one of the two; containers/image refuses both at once.
    if (ref.tag !== undefined && ref.digest !== undefined) {
      throw invalid(ref.familiar, 'references with both a tag and a digest are not supported');
    }
    if (ref.familiarName === 'sha256') {
      throw invalid(ref.familiar, 'the repository name sha256 is reserved for (non-shortened) image IDs');
    }
    this.id = undefined;
    this.ref = ref;
  }

  /** `sha256:HEX` for an ID, else the familiar name (`busybox:latest`, `quay.io/org/app@sha256:…`), as the daemon takes it. */
  stringWithinTransport(): string {
    return this.id ?? (this.ref as DockerReference).familiar;
  }

  override dockerReference(): DockerReference | undefined {
    return this.ref;
  }

  /** A name's identity as docker:'s; an ID's is `""` (the transport's default scope), as containers/image. */
  override policyConfigurationIdentity(): string {
    return this.ref === undefined ? '' : this.ref.toString();
  }

  /** A name's namespaces as docker:'s; none for an ID. */
  override policyConfigurationNamespaces(): string[] {
    return this.ref === undefined ? [] : dockerReferenceNamespaces(this.ref.name);
  }

  async newImageSource(options: DockerDaemonSourceOptions = {}): Promise<ImageSource> {
    const { DockerDaemonSource } = await import('./source.js');
    return DockerDaemonSource.open(this, options);
  }

  async newImageDestination(options: DockerDaemonDestinationOptions = {}): Promise<ImageDestination> {
    const { DockerDaemonDestination } = await import('./destination.js');
    return DockerDaemonDestination.open(this, options);
  }

  async deleteImage(_options?: CallOptions): Promise<void> {
    // As containers/image: untag or remove, with containers using it? The user can run `docker rmi`.
    throw new FerryError('UNSUPPORTED_OPERATION', `deleting images is not supported for ${this.toString()}`);
  }
}

/** Parses the text after `docker-daemon:` (containers/image daemon ParseReference). */
export function parseDockerDaemonReference(within: string): DockerDaemonReference {
  if (within === '') throw invalid(within, 'expected NAME:TAG, NAME@DIGEST or sha256:ID');
  // `algo:hex` has the shape of `name:tag`: a valid digest is an image ID (docker refuses `sha256` as a repository name).
  let id: Digest | undefined;
  try {
    id = parseDigest(within);
  } catch {
    id = undefined;
  }
  if (id !== undefined) {
    if (digestAlgorithm(id) !== 'sha256')
      throw invalid(within, 'only digest algorithm sha256 is accepted for image IDs');
    return new DockerDaemonReference({ id });
  }
  return new DockerDaemonReference({ ref: parseDockerReferenceWithin(DOCKER_DAEMON_TRANSPORT_NAME, within, within) });
}

export const dockerDaemonTransport: ImageTransport = {
  name: DOCKER_DAEMON_TRANSPORT_NAME,
  parseReference: parseDockerDaemonReference,
};
