/**
 * A fake registry (in-process: a fault the real one cannot make) serving one image, `img:t`, whose
 * 4 MiB layer stops half-way: a copy from it waits until it is stopped, or until the test sends
 * more of the layer through `held`.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startFakeServer } from '../registry-client/fake-server.js';

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';
const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface StallingRegistry {
  /** `127.0.0.1:PORT`: the image is `docker://${host}/img:t`. */
  host: string;
  /** The gzipped layer (~4 MiB of random bytes, incompressible). */
  layer: Buffer;
  /** The layer responses under way, each sent up to the middle of the layer. */
  held: ServerResponse[];
  close(): Promise<void>;
}

export async function startStallingRegistry(): Promise<StallingRegistry> {
  const layer = gzipSync(randomBytes(4 * 1024 * 1024), { level: 1 });
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${'0'.repeat(64)}`] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST_TYPE,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: layer.length },
      ],
    }),
  );
  const held: ServerResponse[] = [];
  const server = await startFakeServer((req, res) => {
    const url = req.url ?? '';
    if (url.startsWith('/v2/img/manifests/')) {
      res.writeHead(200, {
        'content-type': MANIFEST_TYPE,
        'content-length': String(manifest.length),
        'docker-content-digest': sha256(manifest),
      });
      res.end(req.method === 'HEAD' ? undefined : manifest);
    } else if (url === `/v2/img/blobs/${sha256(config)}`) {
      res.writeHead(200, { 'content-length': String(config.length) });
      res.end(req.method === 'HEAD' ? undefined : config);
    } else if (url === `/v2/img/blobs/${layerDigest}`) {
      res.writeHead(200, { 'content-length': String(layer.length) });
      if (req.method === 'HEAD') res.end();
      else {
        // Half the layer, then nothing: the copy waits.
        res.write(layer.subarray(0, layer.length >> 1));
        held.push(res);
      }
    } else {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"NOT_FOUND","message":"not found"}]}');
    }
  });
  return {
    host: server.host,
    layer,
    held,
    async close() {
      for (const res of held) res.destroy();
      await server.close();
    },
  };
}
