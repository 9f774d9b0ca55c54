/** skopeo sync's job: mirror many images between registries and directories (plan, compare, copy). */
export { parseSyncConfig, readSyncConfig, type SyncRegistryConfig } from './config.js';
export {
  parseShard,
  planSync,
  shardOf,
  type SyncDestinationKind,
  type SyncPlan,
  type SyncPlanEntry,
  type SyncPlanOptions,
  type SyncShard,
  type SyncSourceKind,
} from './plan.js';
export { parseSemverConstraint, parseSemVersion, type SemverConstraint, type SemVersion } from './semver.js';
export { type SyncImageResult, type SyncImageStatus, syncImages, type SyncOptions, type SyncResult } from './sync.js';
