/**
 * The legacy (pre-1.10 `docker load`) part of a docker archive: one directory per layer named by a v1
 * image ID, holding `layer.tar` (a link to the layer file), `VERSION` and a v1 `json`; and the
 * `repositories` file mapping repo → tag → top v1 ID. IDs are derived from the layer chain ID
 * (sha256 of "<parent chainID> <diffID>", as docker's layer.CreateChainID), as containers/image does.
 */
import { createHash } from 'node:crypto';
import { type Digest, digestOf } from '../../../digest/digest.js';
import { goMarshal, isJSONObject } from '../../../manifest/json.js';

export const LEGACY_LAYER_FILE = 'layer.tar';
export const LEGACY_VERSION_FILE = 'VERSION';
export const LEGACY_CONFIG_FILE = 'json';
export const LEGACY_VERSION = '1.0';

/** Config fields copied into the top layer's v1 json. */
const TOP_LAYER_FIELDS = ['architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os'];

export interface LegacyLayer {
  /** The v1 image ID (hex): the directory name. */
  id: string;
  /** The layer blob this entry links to. */
  layerDigest: Digest;
  /** The v1 `json` file. */
  json: Buffer;
}

/** Go marshals a map with its keys sorted. */
function sortedObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** The v1 entries of an image whose layers are `layerDigests` (bottom first) and config `config`. */
export function legacyLayers(layerDigests: readonly Digest[], config: Buffer): LegacyLayer[] {
  let parsedConfig: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(config.toString('utf8'));
    if (isJSONObject(parsed)) parsedConfig = parsed;
  } catch {
    // an unparsable config only loses the informational top-layer fields
  }
  const out: LegacyLayer[] = [];
  let chainID: Digest | undefined;
  let parent: string | undefined;
  for (const [i, layerDigest] of layerDigests.entries()) {
    const layerConfig: Record<string, unknown> = {};
    if (parent !== undefined) layerConfig.parent = parent;
    if (i === layerDigests.length - 1) {
      for (const key of TOP_LAYER_FIELDS) layerConfig[key] = parsedConfig[key] ?? null;
    }
    chainID =
      chainID === undefined
        ? layerDigest
        : (`sha256:${createHash('sha256').update(`${chainID} ${layerDigest}`).digest('hex')}` as Digest);
    // The ID is the digest of the v1 json with the chain ID in it, so equal chains give equal IDs.
    const id = digestOf(goMarshal(sortedObject({ ...layerConfig, layer_id: chainID }))).slice('sha256:'.length);
    out.push({ id, layerDigest, json: goMarshal(sortedObject({ ...layerConfig, id })) });
    parent = id;
  }
  return out;
}
