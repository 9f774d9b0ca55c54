/** Reading one image of a docker archive file: the shared archive source over the file at the reference's path. */
import { DockerArchiveReader } from '../shared/docker-archive/reader.js';
import { DockerArchiveImageSource } from '../shared/docker-archive/source.js';
import type { DockerArchiveSourceOptions, ImageSource } from '../types.js';
import type { DockerArchiveLocation } from './location.js';

export const DockerArchiveSource = {
  async open(reference: DockerArchiveLocation, options: DockerArchiveSourceOptions = {}): Promise<ImageSource> {
    const reader = await DockerArchiveReader.open(reference.path, options.tmpDir, options.signal);
    return DockerArchiveImageSource.open(reference, reader, reference, options.signal);
  },
};
