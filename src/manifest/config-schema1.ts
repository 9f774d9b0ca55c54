/**
 * The config rewriting that schema1 conversion needs: schema1 history → a schema2 config, and a
 * schema2 config → schema1 v1Compatibility entries. Output follows Go's json.Marshal, as upstream.
 */
import { createHash } from 'node:crypto';
import { type Digest, digestHex } from '../digest/digest.js';
import { FerryError } from '../errors.js';
import { type ConfigHistory, goTime, historyJSON, parseImageConfig } from './config.js';
import { field, goMarshal, type JSONObject, parseJSONObject } from './json.js';
import { marshalRawObject, rawObjectMembers } from './rawjson.js';
import type { Schema1Entry } from './schema1.js';
import { dockerVersionBefore183, reencodeV1Image } from './v1-image.js';

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The schema2 config for a schema1 image: the newest v1Compatibility with the v1-only fields
 * removed, plus `history` built from every entry and `rootfs.diff_ids` (non-empty layers, base first).
 */
export function schema2ConfigFromSchema1(entries: readonly Schema1Entry[], diffIDs: readonly Digest[]): Buffer {
  const newest = entries[0];
  if (!newest) throw new FerryError('CONVERSION_UNSUPPORTED', 'cannot convert a schema1 image with no history entries');
  const members = rawObjectMembers(newestV1Compatibility(newest.v1Compatibility), 'history[0].v1Compatibility');
  for (const k of ['id', 'parent', 'parent_id', 'layer_id', 'throwaway', 'Size']) members.delete(k);
  const history = [...entries].reverse().map((e, i) =>
    historyJSON(
      {
        createdBy: (e.v1.cmd ?? []).join(' ') || undefined,
        author: e.v1.author,
        comment: e.v1.comment,
        emptyLayer: e.v1.throwaway,
      },
      e.v1.created === undefined ? GO_ZERO_TIME : goTime(e.v1.created, `history[${entries.length - 1 - i}].created`),
    ),
  );
  // Schema2RootFS's diff_ids is omitempty: an image of only empty layers has none.
  const rootfs = diffIDs.length === 0 ? { type: 'layers' } : { type: 'layers', diff_ids: diffIDs };
  members.set('rootfs', goMarshal(rootfs).toString('utf8'));
  members.set('history', goMarshal(history).toString('utf8'));
  return marshalRawObject(members);
}

/**
 * The newest v1Compatibility as the config's base: as stored, or, for an image Docker wrote before
 * 1.8.3, re-encoded with the fields those versions left out (containers/image's ToSchema2Config).
 */
function newestV1Compatibility(text: string): string {
  const v1 = parseJSONObject(Buffer.from(text, 'utf8'), 'history[0].v1Compatibility');
  const version = field(v1, 'docker_version');
  if (typeof version !== 'string' || version === '' || !dockerVersionBefore183(version)) return text;
  return goMarshal(reencodeV1Image(v1, 'history[0].v1Compatibility')).toString('utf8');
}

/** What schema2→schema1 conversion needs from a v2 config. */
export interface V2ConfigSummary {
  architecture: string;
  history: ConfigHistory[];
}

export function summariseV2Config(config: Buffer): V2ConfigSummary {
  const c = parseImageConfig(config);
  return { architecture: c.architecture, history: c.history };
}

/** Docker's v1 image ID: sha256 of the blob's hex digest and the other parts, space-separated. */
export function v1ID(blob: Digest, ...others: string[]): string {
  return createHash('sha256')
    .update([digestHex(blob), ...others].join(' '))
    .digest('hex');
}

/** The v1Compatibility of a non-top entry (Schema1V1Compatibility struct order). */
export function fakeV1Compatibility(id: string, parent: string, h: ConfigHistory): string {
  const o: JSONObject = { id };
  if (parent) o.parent = parent;
  if (h.comment) o.comment = h.comment;
  o.created = h.created ?? GO_ZERO_TIME;
  o.container_config = { Cmd: [h.createdBy ?? ''] };
  if (h.author) o.author = h.author;
  if (h.emptyLayer) o.throwaway = true;
  return goMarshal(o).toString('utf8');
}

/** The top entry's v1Compatibility: the whole config without rootfs/history, plus id/parent/throwaway. */
export function topV1Compatibility(config: Buffer, id: string, parent: string, throwaway: boolean): string {
  const members = rawObjectMembers(config.toString('utf8'), 'image config');
  members.delete('rootfs');
  members.delete('history');
  members.set('id', JSON.stringify(id));
  if (parent) members.set('parent', JSON.stringify(parent));
  if (throwaway) members.set('throwaway', 'true');
  return marshalRawObject(members).toString('utf8');
}

/**
 * The config of a schema1 image as containers/image's OCIConfig() derives it: converted as to
 * schema2, with an empty diff ID for each non-empty layer (unknown without reading the layers).
 */
export function schema1Config(entries: readonly Schema1Entry[]): Buffer {
  const nonEmpty = entries.filter((e) => !e.v1.throwaway).length;
  return schema2ConfigFromSchema1(entries, new Array<Digest>(nonEmpty).fill('' as Digest));
}
