/**
 * `listArchiveTags`, loading the archive reader (tar-stream) only when it is called, so that
 * importing Ferry stays cheap.
 */

/**
 * The tags of every image in a docker archive, as stored in manifest.json; an image without tags is
 * listed as `@N`, its position (what skopeo list-tags prints, usable as `docker-archive:PATH:@N`).
 */
export async function listArchiveTags(
  path: string,
  options: { tmpDir?: string; signal?: AbortSignal } = {},
): Promise<string[]> {
  const { DockerArchiveReader } = await import('../shared/docker-archive/reader.js');
  const reader = await DockerArchiveReader.open(path, options.tmpDir, options.signal);
  try {
    return reader.items.flatMap((item, i) => (item.repoTags.length > 0 ? item.repoTags : [`@${i}`]));
  } finally {
    await reader.close();
  }
}
