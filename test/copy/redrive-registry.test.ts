/**
 * Re-drive against the real Distribution registry: a tiny TCP proxy in front of it resets the first
 * connections that carry a blob body (upload or download) in the middle; the push and the pull still
 * succeed, and skopeo and a read-back of every blob show the exact digests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage, isFerryError, parseImageReference, RegistryClient } from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

interface ResettingProxy {
  host: string;
  /** Connections reset so far. */
  resets: number;
  /** Reset the next `n` connections once `threshold` bytes flowed in `direction`. */
  arm(direction: 'upload' | 'download', n: number, threshold: number): void;
  close(): Promise<void>;
}

async function startResettingProxy(target: number): Promise<ResettingProxy> {
  let armed = { direction: 'upload' as 'upload' | 'download', left: 0, threshold: 0 };
  const sockets = new Set<Socket>();
  const proxy: ResettingProxy = {
    host: '',
    resets: 0,
    arm: (direction, n, threshold) => {
      armed = { direction, left: n, threshold };
    },
    close: async () => {},
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port: target });
    sockets.add(client).add(upstream);
    let up = 0;
    let down = 0;
    const reset = (): void => {
      proxy.resets++;
      armed.left--;
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    client.on('data', (chunk: Buffer) => {
      up += chunk.length;
      if (armed.left > 0 && armed.direction === 'upload' && up > armed.threshold) return reset();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      down += chunk.length;
      if (armed.left > 0 && armed.direction === 'download' && down > armed.threshold) return reset();
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    for (const s of [client, upstream]) {
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  proxy.host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

let work = '';
let reg: TestRegistry;
let proxy: ResettingProxy;
let image: MadeImage;
const options = { tlsVerify: false, retryDelayMs: 10 };
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

before(async () => {
  work = await makeTempDir('ferry-redrive-registry-');
  [reg, image] = await Promise.all([
    startRegistry(),
    makeImage(join(work, 'src'), {
      tag: 't1',
      layers: 2,
      layerSize: 600_000,
      entropy: 1,
      compression: 'gzip',
      seed: 9,
    }),
  ]);
  proxy = await startResettingProxy(reg.port);
});

after(async () => {
  await proxy?.close();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('re-drive through a proxy that resets connections mid-body (real registry)', () => {
  it('a push whose uploads are reset mid-body completes with the exact digests', async () => {
    proxy.arm('upload', 2, 200_000);
    await copyImage(
      parseImageReference(`oci:${join(work, 'src')}:t1`),
      parseImageReference(`docker://${proxy.host}/app/x:t1`),
      {
        destinationOptions: options,
        blobInfoCache: 'memory',
      },
    );
    assert.equal(proxy.resets, 2, 'the proxy did not reset the uploads');
    // skopeo, straight to the registry, sees the manifest Ferry was given.
    const r = await runSkopeo(['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/app/x:t1`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(Buffer.from(r.stdout)), image.instances[0]!.digest);
    // Every blob read back from the registry has its digest.
    const client = await RegistryClient.create(reg.host, { tlsVerify: false });
    try {
      const instance = image.instances[0]!;
      for (const digest of [instance.config.digest, ...instance.layers.map((l) => l.digest)]) {
        const { stream } = await client.getBlob('app/x', digest as `sha256:${string}`);
        const chunks: Buffer[] = [];
        for await (const c of stream) chunks.push(c as Buffer);
        assert.equal(sha256(Buffer.concat(chunks)), digest);
      }
    } finally {
      await client.close();
    }
  });

  it('a pull whose downloads are reset mid-body completes with the exact digests', async () => {
    const before = proxy.resets;
    proxy.arm('download', 2, 200_000);
    const dest = join(work, 'pulled');
    await copyImage(parseImageReference(`docker://${proxy.host}/app/x:t1`), parseImageReference(`oci:${dest}:t1`), {
      sourceOptions: options,
      blobInfoCache: 'memory',
    });
    assert.equal(proxy.resets - before, 2, 'the proxy did not reset the downloads');
    const names = await readdir(join(dest, 'blobs', 'sha256'));
    const instance = image.instances[0]!;
    for (const d of [instance.digest, instance.config.digest, ...instance.layers.map((l) => l.digest)]) {
      assert.ok(names.includes(d.slice('sha256:'.length)), `blob ${d} missing`);
    }
    for (const name of names)
      assert.equal(sha256(await readFile(join(dest, 'blobs', 'sha256', name))), `sha256:${name}`);
  });

  it('a proxy that resets every upload ends the push in a typed error', async () => {
    proxy.arm('upload', 1_000, 200_000);
    await assert.rejects(
      copyImage(
        parseImageReference(`oci:${join(work, 'src')}:t1`),
        parseImageReference(`docker://${proxy.host}/app/y:t1`),
        {
          destinationOptions: { ...options, retryTimes: 2 },
          blobInfoCache: 'memory',
          maxParallelBlobs: 1,
        },
      ),
      (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && e.details.attempts === 3,
    );
    proxy.arm('upload', 0, 0);
  });
});
