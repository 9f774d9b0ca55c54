/**
 * Signatures of registry images: lookaside storage (registries.d, file: writes, file: and http reads)
 * and sigstore attachments (`sha256-<hex>.sig`), through the docker:// source and destination and the
 * copy engine, against the real registry. The http lookaside is a small static file server: a real
 * web server, as a lookaside is.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { copyImage } from '../../../src/copy/index.js';
import { type Digest, digestHex, digestOf } from '../../../src/digest/digest.js';
import { isFerryError } from '../../../src/errors.js';
import { OCIManifest } from '../../../src/manifest/oci.js';
import { MediaType } from '../../../src/manifest/mediatypes.js';
import { RegistryClient } from '../../../src/registry-client/index.js';
import { cosignSignatureTag, parseSigstoreBlob } from '../../../src/signature/sigstore/format.js';
import { parseDirReference } from '../../../src/transports/dir/reference.js';
import { parseDockerImageReference } from '../../../src/transports/docker/reference.js';
import { parseOciReference } from '../../../src/transports/oci-layout/reference.js';
import type { ImageOptions } from '../../../src/transports/types.js';
import { makeImage } from '../../helpers/make-image.js';
import { fixturePath } from '../../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../../helpers/registry.js';
import { runSkopeo } from '../../helpers/run.js';
import { makeSelfSigned } from '../../helpers/test-ca.js';
import { makeTempDir } from '../../helpers/tmp.js';

const SIMPLE = fixturePath('signature', 'dir-img-valid', 'signature-1');
const COSIGN = fixturePath('signature', 'sigstore', 'dir-img-cosign-valid', 'signature-1');
const COSIGN_FULCIO = fixturePath('signature', 'sigstore', 'dir-img-cosign-fulcio-rekor-valid', 'signature-1');

/** A static file server over `root`, recording every request's path and headers; `/moved/X` redirects to `/X`. */
interface StaticServer {
  url: string;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function startStaticServer(root: string): Promise<StaticServer> {
  const requests: StaticServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, headers: req.headers });
    if (path.startsWith('/moved/')) {
      res.writeHead(302, { location: path.slice('/moved'.length) }).end();
      return;
    }
    if (path.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    readFile(join(root, path)).then(
      (bytes) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes),
      () => res.writeHead(404).end('not found'),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A registries.d directory holding one file with `yaml`. */
async function registriesD(dir: string, yaml: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'test.yaml'), yaml);
  return dir;
}

function lookasidePath(base: string, repo: string, digest: string, n: number): string {
  return join(base, `${repo}@sha256=${digestHex(digest as Digest)}`, `signature-${n}`);
}

describe('registry signature storage: lookaside and sigstore attachments', () => {
  let reg: TestRegistry;
  let web: StaticServer;
  let dir: string;
  /** Lookaside staging (file:), served over http by `web`. */
  let staging: string;
  let signed: string;
  let digest: string;
  let simple: Buffer;
  let cosign: Buffer;
  let cosignFulcio: Buffer;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-docker-sigs-');
    staging = join(dir, 'staging');
    await mkdir(staging);
    web = await startStaticServer(staging);
    const made = await makeImage(join(dir, 'oci'), { tag: 't', layers: 1, layerSize: 20_000, seed: 31 });
    digest = made.digest;
    signed = join(dir, 'signed');
    await copyImage(parseOciReference(`${dir}/oci:t`), parseDirReference(signed));
    simple = await readFile(SIMPLE);
    cosign = await readFile(COSIGN);
    cosignFulcio = await readFile(COSIGN_FULCIO);
    await writeFile(join(signed, 'signature-1'), simple);
    await writeFile(join(signed, 'signature-2'), Buffer.from('second simple signature'));
  });
  after(async () => {
    await web?.close();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const options = (registriesDDir: string): ImageOptions => ({ tlsVerify: false, registriesDDir });

  test('a copy to docker:// writes the signatures to lookaside-staging; a copy back reads them over http', async () => {
    const conf = await registriesD(
      join(dir, 'rd-http'),
      `docker:\n  ${reg.host}/sigs:\n    lookaside: ${web.url}\n    lookaside-staging: file://${staging}\n`,
    );
    const to = parseDockerImageReference(`//${reg.host}/sigs/app:1`);
    await copyImage(parseDirReference(signed), to, { destinationOptions: options(conf) });
    assert.deepEqual(await readFile(lookasidePath(staging, 'sigs/app', digest, 1)), simple);
    assert.equal((await readFile(lookasidePath(staging, 'sigs/app', digest, 2))).toString(), 'second simple signature');
    assert.deepEqual(await readdir(join(staging, `sigs/app@sha256=${digestHex(digest as Digest)}`)), [
      'signature-1',
      'signature-2',
    ]);

    web.requests.length = 0;
    const back = join(dir, 'back-http');
    await copyImage(to, parseDirReference(back), {
      sourceOptions: { ...options(conf), credentials: { username: 'someone', password: 'not-for-the-lookaside' } },
    });
    assert.deepEqual(await readFile(join(back, 'signature-1')), simple);
    assert.equal((await readFile(join(back, 'signature-2'))).toString(), 'second simple signature');
    await assert.rejects(readFile(join(back, 'signature-3')), { code: 'ENOENT' });
    // signature-1, -2, then the 404 of -3 that ends the list; never a credential.
    assert.deepEqual(
      web.requests.map((r) => r.path),
      [1, 2, 3].map((n) => `/sigs/app@sha256=${digestHex(digest as Digest)}/signature-${n}`),
    );
    assert.ok(web.requests.every((r) => r.headers.authorization === undefined));
  });

  test('a file: lookaside is read back, and a second write with fewer signatures removes the extra ones', async () => {
    const base = join(dir, 'file-lookaside');
    const conf = await registriesD(join(dir, 'rd-file'), `default-docker:\n  lookaside: file://${base}\n`);
    const to = parseDockerImageReference(`//${reg.host}/file/app:1`);
    await copyImage(parseDirReference(signed), to, { destinationOptions: options(conf) });
    const src = await to.newImageSource(options(conf));
    try {
      assert.deepEqual(await src.getSignatures(), [simple, Buffer.from('second simple signature')]);
    } finally {
      await src.close();
    }
    const dest = await to.newImageDestination(options(conf));
    try {
      await dest.putManifest(await readFile(join(signed, 'manifest.json')));
      await dest.putSignatures([Buffer.from('only one now')]);
    } finally {
      await dest.close();
    }
    const again = await to.newImageSource(options(conf));
    try {
      assert.deepEqual((await again.getSignatures()).map(String), ['only one now']);
    } finally {
      await again.close();
    }
    await assert.rejects(readFile(lookasidePath(base, 'file/app', digest, 2)), { code: 'ENOENT' });
  });

  test('deleting the image deletes its lookaside signatures too', async () => {
    const base = join(dir, 'delete-lookaside');
    const conf = await registriesD(join(dir, 'rd-delete'), `default-docker:\n  lookaside: file://${base}\n`);
    const to = parseDockerImageReference(`//${reg.host}/delete/app:1`);
    await copyImage(parseDirReference(signed), to, { destinationOptions: options(conf) });
    assert.deepEqual(await readFile(lookasidePath(base, 'delete/app', digest, 1)), simple);
    await to.deleteImage(options(conf));
    await assert.rejects(readFile(lookasidePath(base, 'delete/app', digest, 1)), { code: 'ENOENT' });
    await assert.rejects(readFile(lookasidePath(base, 'delete/app', digest, 2)), { code: 'ENOENT' });
  });

  test('each instance of a list has its signatures under its own digest', async () => {
    const multi = await makeImage(join(dir, 'oci'), {
      tag: 'm',
      layers: 1,
      layerSize: 5_000,
      seed: 32,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    const listDir = join(dir, 'signed-list');
    await copyImage(parseOciReference(`${dir}/oci:m`), parseDirReference(listDir), { imageListSelection: 'all' });
    const instance = multi.instances[1]!.digest;
    await writeFile(join(listDir, 'signature-1'), Buffer.from('list signature'));
    await writeFile(join(listDir, `${digestHex(instance as Digest)}.signature-1`), Buffer.from('instance signature'));
    const base = join(dir, 'list-lookaside');
    const conf = await registriesD(join(dir, 'rd-list'), `default-docker:\n  lookaside: file://${base}\n`);
    const to = parseDockerImageReference(`//${reg.host}/list/app:1`);
    await copyImage(parseDirReference(listDir), to, {
      imageListSelection: 'all',
      destinationOptions: options(conf),
    });
    assert.equal((await readFile(lookasidePath(base, 'list/app', multi.digest, 1))).toString(), 'list signature');
    assert.equal((await readFile(lookasidePath(base, 'list/app', instance, 1))).toString(), 'instance signature');
    const src = await to.newImageSource(options(conf));
    try {
      assert.deepEqual((await src.getSignatures()).map(String), ['list signature']);
      assert.deepEqual((await src.getSignatures(instance as Digest)).map(String), ['instance signature']);
      assert.deepEqual(await src.getSignatures(multi.instances[0]!.digest as Digest), []);
    } finally {
      await src.close();
    }
  });

  test('an http lookaside without lookaside-staging cannot be written: UNSUPPORTED_OPERATION, nothing copied there', async () => {
    const conf = await registriesD(join(dir, 'rd-http-only'), `default-docker:\n  lookaside: ${web.url}\n`);
    const to = parseDockerImageReference(`//${reg.host}/httponly/app:1`);
    await assert.rejects(
      copyImage(parseDirReference(signed), to, { destinationOptions: options(conf) }),
      (e: unknown) =>
        isFerryError(e, 'UNSUPPORTED_OPERATION') && /lookaside-staging/.test(e.message) && e.message.includes(web.url),
    );
  });

  test('http lookaside answers: a redirect is followed, a 500 or an oversized or unknown-format signature is an error', async () => {
    const src = async (lookaside: string) => {
      const conf = await registriesD(join(dir, `rd-${Math.random()}`), `default-docker:\n  lookaside: ${lookaside}\n`);
      return parseDockerImageReference(`//${reg.host}/sigs/app:1`).newImageSource(options(conf));
    };
    const moved = await src(`${web.url}/moved`);
    try {
      assert.deepEqual((await moved.getSignatures())[0], simple);
    } finally {
      await moved.close();
    }
    // A server that answers 500: the signatures cannot be known, so the read fails.
    const broken = createServer((_req, res) => res.writeHead(500).end('oops'));
    await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
    const brokenSrc = await src(`http://127.0.0.1:${(broken.address() as AddressInfo).port}`);
    try {
      await assert.rejects(brokenSrc.getSignatures(), (e: unknown) => isFerryError(e, 'REGISTRY_ERROR'));
    } finally {
      await brokenSrc.close();
      await new Promise((resolve) => broken.close(resolve));
    }
    // A server that has every signature-N: past 128 it is taken as broken, not read forever.
    const endless = createServer((_req, res) => res.writeHead(200).end('x'));
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const endlessSrc = await src(`http://127.0.0.1:${(endless.address() as AddressInfo).port}`);
    try {
      await assert.rejects(endlessSrc.getSignatures(), (e: unknown) => isFerryError(e, 'TOO_LARGE'));
    } finally {
      await endlessSrc.close();
      await new Promise((resolve) => endless.close(resolve));
    }
    const sigDir = join(staging, 'big', `app@sha256=${digestHex(digest as Digest)}`);
    await mkdir(sigDir, { recursive: true });
    await writeFile(join(sigDir, 'signature-1'), Buffer.alloc(4 * 1024 * 1024 + 1, 1));
    const conf = await registriesD(join(dir, 'rd-big'), `default-docker:\n  lookaside: ${web.url}\n`);
    const to = parseDockerImageReference(`//${reg.host}/big/app:1`);
    await copyImage(parseOciReference(`${dir}/oci:t`), to, { destinationOptions: { tlsVerify: false } });
    const big = await to.newImageSource(options(conf));
    try {
      await assert.rejects(big.getSignatures(), (e: unknown) => isFerryError(e, 'TOO_LARGE'));
      await writeFile(join(sigDir, 'signature-1'), Buffer.from('\0unknown-format\n{}'));
      await assert.rejects(big.getSignatures(), (e: unknown) => isFerryError(e, 'INVALID_SIGNATURE'));
    } finally {
      await big.close();
    }
  });

  test('sigstore signatures go to the sha256-<hex>.sig tag as cosign lays it out, and are read back byte for byte', async () => {
    const base = join(dir, 'sigstore-lookaside');
    const conf = await registriesD(
      join(dir, 'rd-sigstore'),
      `docker:\n  ${reg.host}:\n    lookaside: file://${base}\n    use-sigstore-attachments: true\n`,
    );
    const cosignDir = join(dir, 'cosign-signed');
    await copyImage(parseOciReference(`${dir}/oci:t`), parseDirReference(cosignDir));
    await writeFile(join(cosignDir, 'signature-1'), simple);
    await writeFile(join(cosignDir, 'signature-2'), cosign);
    const to = parseDockerImageReference(`//${reg.host}/cosign/app:1`);
    await copyImage(parseDirReference(cosignDir), to, { destinationOptions: options(conf) });

    // The simple signature went to the lookaside only; the sigstore one to the attachment tag only.
    assert.deepEqual(await readFile(lookasidePath(base, 'cosign/app', digest, 1)), simple);
    await assert.rejects(readFile(lookasidePath(base, 'cosign/app', digest, 2)), { code: 'ENOENT' });
    const tag = cosignSignatureTag(digest as Digest);
    assert.equal(tag, `sha256-${digestHex(digest as Digest)}.sig`);
    const raw = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/cosign/app:${tag}`]);
    assert.equal(raw.code, 0, raw.stderr);
    const manifest = new OCIManifest(Buffer.from(raw.stdout));
    const expected = parseSigstoreBlob(cosign);
    assert.equal(manifest.config.mediaType, MediaType.OCI_CONFIG);
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0]!.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    assert.equal(manifest.layers[0]!.digest, digestOf(expected.payload));
    assert.deepEqual(manifest.layers[0]!.annotations, expected.annotations);

    const src = await to.newImageSource(options(conf));
    try {
      assert.deepEqual(await src.getSignatures(), [simple, cosign]);
    } finally {
      await src.close();
    }
    // Without use-sigstore-attachments the tag is not looked at.
    const off = await registriesD(join(dir, 'rd-sigstore-off'), `default-docker:\n  lookaside: file://${base}\n`);
    const plain = await to.newImageSource(options(off));
    try {
      assert.deepEqual(await plain.getSignatures(), [simple]);
    } finally {
      await plain.close();
    }
  });

  test('writing sigstore signatures again appends the new ones and skips the ones already there', async () => {
    const conf = await registriesD(
      join(dir, 'rd-append'),
      `default-docker:\n  lookaside: file://${join(dir, 'append-lookaside')}\n  use-sigstore-attachments: true\n`,
    );
    const to = parseDockerImageReference(`//${reg.host}/append/app:1`);
    await copyImage(parseOciReference(`${dir}/oci:t`), to, { destinationOptions: { tlsVerify: false } });
    for (const batch of [[cosign], [cosign, cosignFulcio], [cosignFulcio]]) {
      const dest = await to.newImageDestination(options(conf));
      try {
        await dest.putSignatures(batch, digest as Digest);
      } finally {
        await dest.close();
      }
    }
    const src = await to.newImageSource(options(conf));
    try {
      assert.deepEqual(await src.getSignatures(), [cosign, cosignFulcio]);
    } finally {
      await src.close();
    }
    const client = await RegistryClient.create(reg.host, { tlsVerify: false });
    try {
      const m = new OCIManifest((await client.getManifest('append/app', cosignSignatureTag(digest as Digest))).bytes);
      assert.equal(m.layers.length, 2);
      const { stream } = await client.getBlob('append/app', m.config.digest);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const config = JSON.parse(Buffer.concat(chunks).toString()) as { rootfs: { type: string; diff_ids: string[] } };
      assert.deepEqual(config.rootfs, { type: 'layers', diff_ids: m.layers.map((l) => l.digest) });
    } finally {
      await client.close();
    }
  });

  test('a sigstore signature is refused when use-sigstore-attachments is off, before anything is written', async () => {
    const base = join(dir, 'off-lookaside');
    const conf = await registriesD(join(dir, 'rd-off'), `default-docker:\n  lookaside: file://${base}\n`);
    const to = parseDockerImageReference(`//${reg.host}/off/app:1`);
    await copyImage(parseOciReference(`${dir}/oci:t`), to, { destinationOptions: { tlsVerify: false } });
    const dest = await to.newImageDestination(options(conf));
    try {
      await assert.rejects(
        dest.putSignatures([simple, cosign], digest as Digest),
        (e: unknown) => isFerryError(e, 'UNSUPPORTED_OPERATION') && /use-sigstore-attachments/.test(e.message),
      );
    } finally {
      await dest.close();
    }
    await assert.rejects(readFile(lookasidePath(base, 'off/app', digest, 1)), { code: 'ENOENT' });
  });

  test('a hostile attachment tag: another manifest type, a layer over 4 MiB, or over 128 layers, is refused when read', async () => {
    const conf = await registriesD(
      join(dir, 'rd-hostile'),
      `default-docker:\n  lookaside: file://${join(dir, 'hostile-lookaside')}\n  use-sigstore-attachments: true\n`,
    );
    const client = await RegistryClient.create(reg.host, { tlsVerify: false });
    const put = async (repo: string, bytes: Buffer) => {
      const d = digestOf(bytes);
      await client.uploadBlob(repo, Readable.from([bytes]), { digest: d, size: bytes.length });
      return { digest: d, size: bytes.length };
    };
    try {
      for (const [repo, mediaType, layerBytes, layerCount, code] of [
        ['hostile/type', MediaType.DOCKER_V2_SCHEMA2, Buffer.from('{}'), 1, 'UNSUPPORTED_MANIFEST_TYPE'],
        ['hostile/big', MediaType.OCI_MANIFEST, Buffer.alloc(4 * 1024 * 1024 + 1, 7), 1, 'TOO_LARGE'],
        ['hostile/many', MediaType.OCI_MANIFEST, Buffer.from('{}'), 129, 'TOO_LARGE'],
      ] as const) {
        const to = parseDockerImageReference(`//${reg.host}/${repo}:1`);
        await copyImage(parseOciReference(`${dir}/oci:t`), to, { destinationOptions: { tlsVerify: false } });
        const config = await put(repo, Buffer.from('{}'));
        const layer = await put(repo, layerBytes);
        const body =
          mediaType === MediaType.OCI_MANIFEST
            ? OCIManifest.fromComponents({
                config: { mediaType: MediaType.OCI_CONFIG, ...config },
                layers: Array.from({ length: layerCount }, () => ({
                  mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
                  ...layer,
                })),
              }).bytes
            : Buffer.from(
                JSON.stringify({
                  schemaVersion: 2,
                  mediaType,
                  config: { mediaType: MediaType.DOCKER_V2_CONFIG, ...config },
                  layers: [{ mediaType: MediaType.DOCKER_LAYER_GZIP, ...layer }],
                }),
              );
        await client.putManifest(repo, cosignSignatureTag(digest as Digest), body, mediaType);
        const src = await to.newImageSource(options(conf));
        try {
          await assert.rejects(src.getSignatures(), (e: unknown) => isFerryError(e, code));
        } finally {
          await src.close();
        }
      }
    } finally {
      await client.close();
    }
  });

  test('a registries.d file Ferry cannot read exactly stops opening the image (INVALID_CONFIG naming the file)', async () => {
    const conf = await registriesD(join(dir, 'rd-bad'), 'default-docker:\n  lookaside: [a, b]\n');
    await assert.rejects(
      parseDockerImageReference(`//${reg.host}/sigs/app:1`).newImageSource(options(conf)),
      (e: unknown) => isFerryError(e, 'INVALID_CONFIG') && e.message.includes(join(conf, 'test.yaml')),
    );
  });
});

describe('registry signature storage: an https lookaside is verified with the registry TLS settings', () => {
  let reg: TestRegistry;
  let dir: string;

  before(async () => {
    reg = await startRegistry({ tls: true });
    dir = await makeTempDir('ferry-docker-sigs-tls-');
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** An https server answering every GET of signature-1 with `body`, else 404, with this certificate. */
  async function httpsLookaside(
    cert: Buffer,
    key: Buffer,
    body: Buffer,
  ): Promise<{ url: string; close(): Promise<void> }> {
    const server = createHttpsServer({ cert, key }, (req, res) => {
      if (req.url?.endsWith('/signature-1')) res.writeHead(200).end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }

  test('trusted through --cert-dir, accepted with tls-verify=false, refused when another CA signed it', async () => {
    const made = await makeImage(join(dir, 'oci'), { tag: 't', layers: 1, layerSize: 2_000, seed: 33 });
    const to = parseDockerImageReference(`//${reg.host}/tls/app:1`);
    await copyImage(parseOciReference(`${dir}/oci:t`), to, { destinationOptions: { certDir: reg.certDir! } });
    const signature = Buffer.from(`signature of ${made.digest}`);
    const registryCA = await httpsLookaside(
      await readFile(join(reg.dir, 'tls', 'server.crt')),
      await readFile(join(reg.dir, 'tls', 'server.key')),
      signature,
    );
    // A certificate for the same address from a CA the registry settings do not know.
    const other = join(dir, 'other');
    await makeSelfSigned('127.0.0.1', `${other}.crt`, `${other}.key`, ['subjectAltName=IP:127.0.0.1']);
    const otherCA = await httpsLookaside(await readFile(`${other}.crt`), await readFile(`${other}.key`), signature);
    try {
      const read = async (lookaside: string, options: ImageOptions) => {
        const conf = await registriesD(
          join(dir, `rd-${Math.random()}`),
          `default-docker:\n  lookaside: ${lookaside}\n`,
        );
        const src = await to.newImageSource({ ...options, registriesDDir: conf });
        try {
          return await src.getSignatures();
        } finally {
          await src.close();
        }
      };
      assert.deepEqual(await read(registryCA.url, { certDir: reg.certDir! }), [signature]);
      assert.deepEqual(await read(otherCA.url, { tlsVerify: false }), [signature]);
      await assert.rejects(
        read(otherCA.url, { certDir: reg.certDir! }),
        (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && /self-signed certificate/.test(e.message),
      );
    } finally {
      await registryCA.close();
      await otherCA.close();
    }
  });
});
