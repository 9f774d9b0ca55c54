/**
 * Docker image manifest v2, schema 1 (signed and unsigned). Layers are listed newest first in
 * `fsLayers`, each with a `history[].v1Compatibility` JSON string holding the v1 image ID chain.
 * https://github.com/distribution/distribution/blob/v2.8.2/docs/spec/manifest-v2-1.md
 */
import type { Digest } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { describeJSONSyntaxProblem, parseJSONText } from '../util/json-text.js';
import type { BlobInfo } from './blob-info.js';
import { checkSchemaVersion, invalid, readArray, readDigest, readString } from './descriptor.js';
import { manifestDigest } from './digest.js';
import { field, goMarshal, isJSONObject, type JSONObject, parseJSONObject, rejectAmbiguous } from './json.js';
import { MediaType } from './mediatypes.js';
import { signSchema1 } from './schema1-sign.js';
import type { ImageManifest, LayerInfo, ManifestUpdate } from './types.js';

/** The fields of a v1Compatibility entry that conversion and validation use. */
export interface V1Compatibility {
  id: string;
  parent?: string;
  comment?: string;
  created?: string;
  author?: string;
  throwaway: boolean;
  /** `container_config.Cmd`. */
  cmd?: string[];
}

export interface Schema1Entry {
  blobSum: Digest;
  /** The raw v1Compatibility string. */
  v1Compatibility: string;
  v1: V1Compatibility;
}

function readV1Compatibility(raw: unknown, where: string): V1Compatibility {
  if (typeof raw !== 'string') throw invalid(`${where}.v1Compatibility`, 'must be a string');
  const parsed = parseJSONText(raw);
  if (!parsed.ok) throw invalid(`${where}.v1Compatibility`, `is ${describeJSONSyntaxProblem(parsed.problem)}`);
  const v = parsed.value;
  if (!isJSONObject(v)) throw invalid(`${where}.v1Compatibility`, 'is not a JSON object');
  const id = readString(v, 'id', `${where}.v1Compatibility`, false) ?? '';
  if (!/^[a-f0-9]{64}$/.test(id))
    throw invalid(`${where}.v1Compatibility.id`, 'is not a valid v1 image ID (64 lowercase hex)');
  const out: V1Compatibility = { id, throwaway: field(v, 'throwaway') === true };
  const parent = readString(v, 'parent', where, false);
  if (parent) out.parent = parent;
  for (const name of ['comment', 'created', 'author'] as const) {
    const s = readString(v, name, `${where}.v1Compatibility`, false);
    if (s) out[name] = s;
  }
  const cc = field(v, 'container_config');
  if (isJSONObject(cc)) {
    const cmd = field(cc, 'Cmd');
    if (Array.isArray(cmd) && cmd.every((c) => typeof c === 'string')) out.cmd = cmd as string[];
  }
  return out;
}

/**
 * Validates the v1 ID chain (each entry's parent is the next entry, the base has none, no ID repeats
 * except consecutively) and drops consecutive repeats, as Docker pull does.
 */
function fixLayers(entries: Schema1Entry[]): Schema1Entry[] {
  const last = entries[entries.length - 1] as Schema1Entry;
  if (last.v1.parent) throw invalid('history', 'has a parent ID in the base layer');
  const seen = new Set<string>();
  let previous = '';
  for (const e of entries) {
    if (e.v1.id !== previous && seen.has(e.v1.id)) throw invalid('history', `has ID ${e.v1.id} more than once`);
    previous = e.v1.id;
    seen.add(previous);
  }
  const out = [...entries];
  for (let i = out.length - 2; i >= 0; i--) {
    const cur = out[i] as Schema1Entry;
    const next = out[i + 1] as Schema1Entry;
    if (cur.v1.id === next.v1.id) out.splice(i, 1);
    else if ((cur.v1.parent ?? '') !== next.v1.id) {
      throw invalid(`history[${i}]`, `has a parent ID other than the next entry's ID ${next.v1.id}`);
    }
  }
  return out;
}

export interface Schema1Parts {
  name: string;
  tag: string;
  architecture: string;
  /** Newest first, as in the manifest. */
  entries: readonly { blobSum: Digest; v1Compatibility: string }[];
}

export class Schema1Manifest implements ImageManifest {
  readonly kind = 'image' as const;
  readonly digest: Digest;
  readonly name: string;
  readonly tag: string;
  readonly architecture: string;
  /** Newest first, after dropping consecutive duplicate IDs. */
  readonly entries: readonly Schema1Entry[];

  constructor(
    readonly bytes: Buffer,
    readonly mimeType: string = MediaType.DOCKER_V2_SCHEMA1_SIGNED,
  ) {
    const obj: JSONObject = parseJSONObject(bytes, 'schema1 manifest');
    checkSchemaVersion(obj, 1, mimeType);
    rejectAmbiguous(obj, mimeType, ['fsLayers', 'history']);
    this.name = readString(obj, 'name', 'manifest', false) ?? '';
    this.tag = readString(obj, 'tag', 'manifest', false) ?? '';
    this.architecture = readString(obj, 'architecture', 'manifest', false) ?? '';
    const fsLayers = readArray(obj, 'fsLayers', 'manifest', true);
    const history = readArray(obj, 'history', 'manifest', true);
    if (fsLayers.length !== history.length) {
      throw invalid('history', `has ${history.length} entries but fsLayers has ${fsLayers.length}`);
    }
    if (fsLayers.length === 0) throw invalid('fsLayers', 'is empty');
    const entries = fsLayers.map((l, i): Schema1Entry => {
      if (!isJSONObject(l)) throw invalid(`fsLayers[${i}]`, 'must be an object');
      const h = history[i];
      if (!isJSONObject(h)) throw invalid(`history[${i}]`, 'must be an object');
      const v1Compatibility = field(h, 'v1Compatibility');
      return {
        blobSum: readDigest(l, 'blobSum', `fsLayers[${i}]`),
        v1Compatibility: v1Compatibility as string,
        v1: readV1Compatibility(v1Compatibility, `history[${i}]`),
      };
    });
    this.entries = fixLayers(entries);
    this.digest = manifestDigest(bytes);
  }

  /** Builds a manifest from parts and signs it with a throw-away key (as containers/image does). */
  static fromComponents(parts: Schema1Parts): Schema1Manifest {
    const unsigned = goMarshal({
      name: parts.name,
      tag: parts.tag,
      architecture: parts.architecture,
      fsLayers: parts.entries.map((e) => ({ blobSum: e.blobSum })),
      history: parts.entries.map((e) => ({ v1Compatibility: e.v1Compatibility })),
      schemaVersion: 1,
    });
    return new Schema1Manifest(signSchema1(unsigned), MediaType.DOCKER_V2_SCHEMA1_SIGNED);
  }

  serialize(): Buffer {
    return this.bytes;
  }

  configInfo(): BlobInfo | undefined {
    return undefined;
  }

  /** Base layer first; throwaway entries included and marked `emptyLayer`. Sizes are unknown (-1). */
  layerInfos(): LayerInfo[] {
    return [...this.entries].reverse().map((e) => ({ digest: e.blobSum, size: -1, emptyLayer: e.v1.throwaway }));
  }

  isArtifact(): boolean {
    return false;
  }

  /** New blob sums (base first); the v1 IDs are kept, since Docker pull only checks their chain. */
  withUpdates(update: ManifestUpdate): Schema1Manifest {
    if (update.config)
      throw new FerryError('CONVERSION_UNSUPPORTED', 'a schema1 manifest has no config blob to update');
    let entries: readonly { blobSum: Digest; v1Compatibility: string }[] = this.entries;
    if (update.layers) {
      const layers = update.layers;
      if (layers.length !== this.entries.length) {
        throw new FerryError('INVALID_ARGUMENT', `layer count changed from ${this.entries.length} to ${layers.length}`);
      }
      entries = this.entries.map((e, i) => ({
        blobSum: (layers[layers.length - 1 - i] as LayerInfo).digest,
        v1Compatibility: e.v1Compatibility,
      }));
    }
    return Schema1Manifest.fromComponents({ name: this.name, tag: this.tag, architecture: this.architecture, entries });
  }
}
