/**
 * `listArchiveTags` without loading the archive reader (tar-stream) until it is called, so that
 * importing Ferry stays cheap.
 */

/** The RepoTags of every image in a docker-archive tarball (`@N` for an untagged image N). */
export async function listArchiveTags(
  path: string,
  options: { tmpDir?: string; signal?: AbortSignal } = {},
): Promise<string[]> {
  const reader = await import('./reader.js');
  return reader.listArchiveTags(path, options);
}
