/**
 * An image over an ImageSource: the top-level manifest (exact bytes), its digest, the instance of
 * a list chosen for a platform, the config (size-limited, digest-verified), layer infos and the
 * `inspect` view (containers/image image.Image / types.ImageInspectInfo, skopeo's inspect output).
 */
import type { Digest } from '../digest/digest.js';
import { digestAlgorithm, digestOf } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import {
  chooseInstance,
  guessMIMEType,
  type ImageManifest,
  isKnownManifestMIMEType,
  type LayerInfo,
  type ListManifest,
  MAX_CONFIG_SIZE,
  manifestDigest,
  OCIManifest,
  manifestMatchesDigest,
  type Manifest,
  parseImageConfig,
  parseManifest,
  readAllLimited,
  Schema1Manifest,
  schema1Config,
} from '../manifest/index.js';
import type { ImageOptions, ImageReference, ImageSource, RawManifest } from '../transports/types.js';
import { quoteMediaType } from '../util/quote.js';

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** One layer as `inspect` lists it (skopeo's LayersData entries). */
export interface InspectLayer {
  MIMEType: string;
  Digest: Digest;
  Size: number;
  Annotations: Record<string, string> | null;
}

/**
 * skopeo's `inspect` JSON, keys in skopeo's order. `Created` is Go's RFC 3339 form (for a config
 * without one: null for OCI, Go's zero time for Docker); `Labels`/`Env` are null when the config has none, as Go prints nil. `Variant`
 * appears only when set and `LayersData` always (newer skopeo; Debian's 1.9.3 prints neither).
 */
export interface InspectInfo {
  Name?: string;
  /** A schema1 manifest's `tag` when it has one (containers/image's ImageInspectInfo.Tag); no other format records one. */
  Tag?: string;
  Digest: Digest;
  RepoTags: string[];
  Created: string | null;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Layers: string[];
  LayersData: InspectLayer[];
  Env: string[] | null;
}

export interface InspectOptions {
  /** The repository's tags (registry sources list them; others have none). */
  repoTags?: string[];
}

/** The single image `resolve()` settles on: for a list, the instance chosen for the platform. */
export interface ResolvedImage {
  manifest: ImageManifest;
  raw: RawManifest;
  /** The instance's digest when the top level is a list; undefined for a single image. */
  instanceDigest: Digest | undefined;
}

/** Parses raw manifest bytes, trusting the source's MIME type only when it names a known format. */
function parseRaw(raw: RawManifest): Manifest {
  const mimeType = isKnownManifestMIMEType(raw.mimeType) ? raw.mimeType : guessMIMEType(raw.bytes);
  return parseManifest(raw.bytes, mimeType);
}

function artifactError(manifest: ImageManifest): FerryError {
  const type = manifest.configInfo()?.mediaType ?? '';
  return new FerryError(
    'UNSUPPORTED_OPERATION',
    `unsupported image-specific operation on artifact with type ${quoteMediaType(type)}`,
    {
      details: { configMediaType: type },
    },
  );
}

export class Image {
  private top: Promise<RawManifest> | undefined;
  private resolved: Promise<ResolvedImage> | undefined;
  private configBytes: Promise<Buffer | undefined> | undefined;

  constructor(
    readonly source: ImageSource,
    private readonly options: ImageOptions = {},
  ) {}

  get reference(): ImageReference {
    return this.source.reference;
  }

  /** The top-level manifest (which may be a list/index), exact bytes as the source holds them. */
  manifest(): Promise<RawManifest> {
    this.top ??= this.source.getManifest(undefined, this.options.signal);
    return this.top;
  }

  /** The digest of the top-level manifest (for an index: the index's digest). */
  async digest(): Promise<Digest> {
    return manifestDigest((await this.manifest()).bytes);
  }

  /** The top-level manifest parsed. */
  async parsedManifest(): Promise<Manifest> {
    return parseRaw(await this.manifest());
  }

  /** The single image: the top-level manifest, or the instance of a list matching the wanted platform. */
  resolve(): Promise<ResolvedImage> {
    this.resolved ??= this.resolveOnce();
    return this.resolved;
  }

  private async resolveOnce(): Promise<ResolvedImage> {
    const raw = await this.manifest();
    const top = parseRaw(raw);
    if (top.kind === 'image') return { manifest: top, raw, instanceDigest: undefined };
    const instance = chooseInstance(top as ListManifest, {
      os: this.options.os,
      architecture: this.options.architecture,
      variant: this.options.variant,
    });
    const child = await this.source.getManifest(instance.digest, this.options.signal);
    if (!manifestMatchesDigest(child.bytes, instance.digest)) {
      throw new FerryError(
        'DIGEST_MISMATCH',
        `manifest of instance ${instance.digest} in ${this.reference.toString()} does not match its digest`,
        {
          details: { expected: instance.digest, actual: manifestDigest(child.bytes, digestAlgorithm(instance.digest)) },
        },
      );
    }
    const parsed = parseRaw(
      isKnownManifestMIMEType(child.mimeType) ? child : { ...child, mimeType: instance.mediaType },
    );
    if (parsed.kind !== 'image') {
      throw new FerryError(
        'INVALID_MANIFEST',
        `instance ${instance.digest} of ${this.reference.toString()} is itself a list; nested lists are not supported`,
      );
    }
    return { manifest: parsed, raw: child, instanceDigest: instance.digest };
  }

  /**
   * The config blob of the resolved image: read with the 4 MiB limit and verified against the
   * manifest's digest and size. Schema1 has no config blob: one is derived from its history
   * (see `rawConfig`). Undefined only for a manifest without any config.
   */
  config(): Promise<Buffer | undefined> {
    this.configBytes ??= this.readConfig();
    return this.configBytes;
  }

  private async readConfig(): Promise<Buffer | undefined> {
    const { manifest } = await this.resolve();
    if (manifest instanceof Schema1Manifest) {
      return manifest.entries.length === 0 ? undefined : schema1Config(manifest.entries);
    }
    const info = manifest.configInfo();
    if (info === undefined) return undefined;
    const what = `config ${info.digest} of ${this.reference.toString()}`;
    if (info.size > MAX_CONFIG_SIZE) {
      throw new FerryError('TOO_LARGE', `${what} is larger than the ${MAX_CONFIG_SIZE}-byte limit`, {
        details: { what, limit: MAX_CONFIG_SIZE },
      });
    }
    const blob = await this.source.getBlob(info, this.options.signal);
    const bytes = await readAllLimited(blob.stream, MAX_CONFIG_SIZE, what);
    const actual = digestOf(bytes, digestAlgorithm(info.digest));
    if (actual !== info.digest) {
      throw new FerryError('DIGEST_MISMATCH', `${what}: the blob's digest is ${actual}`, {
        details: { expected: info.digest, actual },
      });
    }
    if (info.size >= 0 && bytes.length !== info.size) {
      throw new FerryError('SIZE_MISMATCH', `${what}: expected ${info.size} bytes, got ${bytes.length}`, {
        details: { expected: info.size, actual: bytes.length },
      });
    }
    return bytes;
  }

  /** The config blob exactly as stored; empty for schema1, which has none (as containers/image's ConfigBlob). */
  async rawConfig(): Promise<Buffer | undefined> {
    const { manifest } = await this.resolve();
    return manifest instanceof Schema1Manifest ? Buffer.alloc(0) : this.config();
  }

  /** Layers of the resolved image, base first. */
  async layerInfos(): Promise<LayerInfo[]> {
    return (await this.resolve()).manifest.layerInfos();
  }

  /** skopeo's inspect view: Digest is the top-level digest, the rest describes the resolved image. */
  async inspect(options: InspectOptions = {}): Promise<InspectInfo> {
    const digest = await this.digest();
    const { manifest } = await this.resolve();
    if (manifest.isArtifact()) throw artifactError(manifest);
    const bytes = await this.config();
    const config = parseImageConfig(bytes ?? Buffer.from('{}'), `config of ${this.reference.toString()}`);
    const layers = manifest.layerInfos();
    const name = this.reference.dockerReference()?.name;
    const info: InspectInfo = {
      ...(name === undefined ? {} : { Name: name }),
      ...(manifest instanceof Schema1Manifest && manifest.tag !== '' ? { Tag: manifest.tag } : {}),
      Digest: digest,
      RepoTags: options.repoTags ?? [],
      // Docker's config structs hold a time.Time, so a missing time prints as Go's zero time; OCI's a pointer (null).
      Created: config.created ?? (manifest instanceof OCIManifest ? null : GO_ZERO_TIME),
      DockerVersion: config.dockerVersion,
      Labels: config.config.Labels ?? null,
      Architecture: config.architecture,
      ...(config.variant === undefined ? {} : { Variant: config.variant }),
      Os: config.os,
      Layers: layers.map((l) => l.digest),
      LayersData: layers.map((l) => ({
        MIMEType: l.mediaType ?? '',
        Digest: l.digest,
        Size: l.size,
        Annotations: l.annotations ?? null,
      })),
      Env: config.config.Env ?? null,
    };
    return info;
  }

  /** Throws the artifact error when the resolved image is an OCI artifact (not an image). */
  async assertNotArtifact(): Promise<void> {
    const { manifest } = await this.resolve();
    if (manifest.isArtifact()) throw artifactError(manifest);
  }

  close(): Promise<void> {
    return this.source.close();
  }
}

/** Opens `ref`'s source and wraps it; close the Image to release the source. */
export async function openImage(ref: ImageReference, options: ImageOptions = {}): Promise<Image> {
  const source = await ref.newImageSource(options);
  return new Image(source, options);
}
