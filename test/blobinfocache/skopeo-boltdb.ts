/**
 * Real BoltDB blob-info caches, written by skopeo 1.9.3 (containers/image 5.23) into a private
 * directory. As root, containers/image keeps its cache in /var/lib/containers/cache; it takes the
 * user's path instead ($XDG_DATA_HOME/containers/cache) when `_CONTAINERS_ROOTLESS_UID` names a
 * non-root user (internal/rootless.GetRootlessEUID), which is how these tests keep the machine's
 * own cache out of it. Only the cache location changes: skopeo still runs as root.
 */
import { join } from 'node:path';
import { runSkopeo } from '../helpers/run.js';

/** Where skopeo writes its cache for `dataHome`. */
export function skopeoCachePath(dataHome: string): string {
  return join(dataHome, 'containers', 'cache', 'blob-info-cache-v1.boltdb');
}

/** The milliseconds a skopeo run started and ended at (the times it records fall between). */
export interface RunWindow {
  startMs: number;
  endMs: number;
}

/** `skopeo copy` against plain-http registries, with its cache under `dataHome`; throws when skopeo fails. */
export async function skopeoCopy(dataHome: string, args: readonly string[]): Promise<RunWindow> {
  const env = { ...process.env, _CONTAINERS_ROOTLESS_UID: '1000', XDG_DATA_HOME: dataHome };
  const startMs = Date.now();
  const r = await runSkopeo(
    ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', '--dest-tls-verify=false', ...args],
    { env },
  );
  const endMs = Date.now();
  if (r.code !== 0) throw new Error(`skopeo copy ${args.join(' ')} failed: ${r.stderr}`);
  return { startMs, endMs };
}
