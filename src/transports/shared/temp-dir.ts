/**
 * Where Ferry puts big temp data (extracted and spooled archives), as containers/image does: the
 * caller's directory (`--tmpdir`), else `$TMPDIR`, else containers.conf's `image_copy_tmp_dir`,
 * else /var/tmp. Every private temp dir is made here, named `ferry-<purpose>-<pid>-<random>`; making
 * one first removes those that killed runs left in the same directory.
 */
import { loadContainersConf } from '../../config/containers-conf.js';
import type { Env } from '../../config/paths.js';
import { makeTempDirIn, removeStaleTemps } from '../../util/temp.js';

/** containers/image's default for big files: /tmp may be a small tmpfs. */
export const DEFAULT_BIG_FILES_TEMP_DIR = '/var/tmp';

/** What a private temp dir is for; part of its name. */
export type TempPurpose = 'oci-archive' | 'docker-archive' | 'archive' | 'tarball' | 'docker-daemon';
const PURPOSES: readonly TempPurpose[] = ['oci-archive', 'docker-archive', 'archive', 'tarball', 'docker-daemon'];
const PREFIXES = PURPOSES.map(privateTempPrefix);

export function privateTempPrefix(purpose: TempPurpose): string {
  return `ferry-${purpose}-`;
}

/** The directory big temp files go to (see the file comment); `tmpDir` is the caller's choice. */
export async function bigFilesTempDir(tmpDir?: string, env: Env = process.env): Promise<string> {
  if (tmpDir !== undefined && tmpDir !== '') return tmpDir;
  if (env.TMPDIR) return env.TMPDIR;
  return (await loadContainersConf({ env })).imageCopyTmpDir ?? DEFAULT_BIG_FILES_TEMP_DIR;
}

/** Makes a private (0700) temp dir for `purpose` under bigFilesTempDir(tmpDir), after removing stale ones there. */
export async function makePrivateTempDir(tmpDir: string | undefined, purpose: TempPurpose): Promise<string> {
  const parent = await bigFilesTempDir(tmpDir);
  await removeStaleTemps(parent, PREFIXES);
  return makeTempDirIn(parent, privateTempPrefix(purpose));
}
