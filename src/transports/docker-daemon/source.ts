/**
 * Reading an image from a Docker daemon: `GET /images/get?names=REF` (docker's ImageSave, as
 * containers/image) answers with a `docker save` tar holding exactly that image. The tar's
 * manifest.json, which says which members are the config and the layers, comes last, and a layer is
 * read when the copy asks for it, so the stream is spooled (decompressed if need be) to a private temp
 * file, indexed once, and read as a docker archive (the shared archive source). The temp file goes
 * with close().
 */
import { spoolPlainTar } from '../tar/plain.js';
import { DockerArchiveReader } from '../shared/docker-archive/reader.js';
import { DockerArchiveImageSource } from '../shared/docker-archive/source.js';
import type { DockerDaemonSourceOptions, ImageSource } from '../types.js';
import { DaemonClient } from './client.js';
import type { DockerDaemonLocation } from './location.js';

export const DockerDaemonSource = {
  async open(reference: DockerDaemonLocation, options: DockerDaemonSourceOptions = {}): Promise<ImageSource> {
    const client = await DaemonClient.connect(options);
    const name = reference.stringWithinTransport();
    const response = await client.exchange(
      { method: 'GET', path: '/images/get', query: { names: name }, signal: options.signal },
      reference.toString(),
    ).response;
    const what = `${reference.toString()} (from the docker daemon at ${client.endpoint.host})`;
    const plain = await spoolPlainTar(response, what, options.tmpDir, options.signal);
    const reader = await DockerArchiveReader.fromPlainTar(plain, what, options.signal);
    // The daemon exports exactly the image asked for: the archive's only one.
    return DockerArchiveImageSource.open(reference, reader, {}, options.signal);
  },
};
