/** RegistryClient against the real Distribution registry (plain http). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Digest } from '../../src/digest/digest.js';
import { FerryError, isFerryError } from '../../src/errors.js';
import { MediaType } from '../../src/manifest/mediatypes.js';
import { RegistryClient } from '../../src/registry-client/index.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';

const sha = (b: Buffer): Digest => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Uploads a config and a layer and returns an OCI manifest naming them. */
async function pushImage(
  client: RegistryClient,
  repo: string,
  seed: string,
): Promise<{ manifest: Buffer; layer: Buffer; config: Buffer }> {
  const layer = Buffer.from(`layer bytes ${seed}`.repeat(1000));
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha(layer)] } }),
  );
  await client.uploadBlob(repo, Readable.from([layer]), { size: layer.length });
  await client.uploadBlob(repo, Readable.from([config]), { digest: sha(config), size: config.length });
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OCI_MANIFEST,
      config: { mediaType: MediaType.OCI_CONFIG, digest: sha(config), size: config.length },
      layers: [{ mediaType: MediaType.OCI_LAYER, digest: sha(layer), size: layer.length }],
    }),
  );
  return { manifest, layer, config };
}

describe('RegistryClient against a plain-http Distribution registry', () => {
  let reg: TestRegistry;
  let client: RegistryClient;

  before(async () => {
    reg = await startRegistry({ accessLog: true });
    client = await RegistryClient.create(reg.host, { tlsVerify: false });
  });
  after(async () => {
    await client?.close();
    await reg?.stop();
  });

  test('falls back to plain http only when TLS verification is off', async () => {
    assert.equal(await client.ping(), reg.url);
    const strict = await RegistryClient.create(reg.host);
    try {
      await assert.rejects(
        strict.ping(),
        (e: unknown) => isFerryError(e, 'REGISTRY_UNREACHABLE') && e.message.includes('tlsVerify'),
      );
    } finally {
      await strict.close();
    }
  });

  test('uploads a blob of unknown digest, computing it while streaming; HEAD and GET find the same bytes', async () => {
    const bytes = Buffer.from('hello registry '.repeat(10_000));
    const up = await client.uploadBlob('test/blobs', Readable.from([bytes.subarray(0, 5000), bytes.subarray(5000)]));
    assert.deepEqual(up, { digest: sha(bytes), size: bytes.length, mounted: false });
    assert.deepEqual(await client.blobExists('test/blobs', sha(bytes)), { size: bytes.length });
    const { stream, size } = await client.getBlob('test/blobs', sha(bytes));
    assert.equal(size, bytes.length);
    assert.ok((await readAll(stream)).equals(bytes));
  });

  test('refuses an upload whose bytes do not match the expected digest, leaving no blob', async () => {
    const bytes = Buffer.from('actual bytes');
    const claimed = sha(Buffer.from('other bytes'));
    await assert.rejects(
      client.uploadBlob('test/blobs', Readable.from([bytes]), { digest: claimed, size: bytes.length }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    assert.equal(await client.blobExists('test/blobs', claimed), undefined);
    assert.equal(await client.blobExists('test/blobs', sha(bytes)), undefined);
  });

  test('an upload whose stream is shorter than announced is SIZE_MISMATCH and stores nothing', async () => {
    const bytes = Buffer.from('twelve bytes');
    await assert.rejects(
      client.uploadBlob('test/blobs', Readable.from([bytes]), { size: bytes.length + 10 }),
      (e: unknown) => isFerryError(e, 'SIZE_MISMATCH'),
    );
    assert.equal(await client.blobExists('test/blobs', sha(bytes)), undefined);
  });

  test('with callerVerifiesDigest, stores the bytes under the digest the caller vouches for', async () => {
    const bytes = Buffer.from('verified upstream '.repeat(5000));
    const up = await client.uploadBlob('test/trusted', Readable.from([bytes]), {
      digest: sha(bytes),
      size: bytes.length,
      callerVerifiesDigest: true,
    });
    assert.deepEqual(up, { digest: sha(bytes), size: bytes.length, mounted: false });
    const { stream } = await client.getBlob('test/trusted', sha(bytes));
    assert.ok((await readAll(stream)).equals(bytes));
  });

  test('with callerVerifiesDigest, a stream that fails after its last byte went out completes no upload', async () => {
    const bytes = Buffer.from('every byte sent, then the verdict fails '.repeat(3000));
    const source = new PassThrough();
    source.write(bytes);
    // The registry has every announced byte (and answers the PATCH) before the caller's check fails the stream.
    setTimeout(() => source.destroy(new FerryError('DIGEST_MISMATCH', 'caller check failed')), 300);
    await assert.rejects(
      client.uploadBlob('test/trusted', source, { digest: sha(bytes), size: bytes.length, callerVerifiesDigest: true }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH') && e.message === 'caller check failed',
    );
    assert.equal(await client.blobExists('test/trusted', sha(bytes)), undefined);
  });

  test('an upload whose source stream fails ends with the source error', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(70_000, 1);
      throw new FerryError('CORRUPT_COMPRESSED_DATA', 'source broke');
    }
    await assert.rejects(client.uploadBlob('test/blobs', Readable.from(failing())), (e: unknown) =>
      isFerryError(e, 'CORRUPT_COMPRESSED_DATA'),
    );
  });

  test('uploads in fixed-size chunks with Content-Range when a chunk size is configured', async () => {
    const chunked = await RegistryClient.create(reg.host, { tlsVerify: false, uploadChunkSize: 4096 });
    try {
      const bytes = Buffer.alloc(10_000);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
      const up = await chunked.uploadBlob(
        'test/chunked',
        Readable.from([bytes.subarray(0, 3000), bytes.subarray(3000)]),
        { size: bytes.length },
      );
      assert.deepEqual(up, { digest: sha(bytes), size: bytes.length, mounted: false });
      const { stream } = await chunked.getBlob('test/chunked', sha(bytes));
      assert.ok((await readAll(stream)).equals(bytes));
      const log = await readFile(reg.logPath, 'utf8');
      assert.equal(log.match(/"PATCH \/v2\/test\/chunked\/blobs\/uploads\//g)?.length, 3);
      const empty = await chunked.uploadBlob('test/chunked', Readable.from([]));
      assert.deepEqual(empty, { digest: sha(Buffer.alloc(0)), size: 0, mounted: false });
    } finally {
      await chunked.close();
    }
  });

  test('a missing blob is absent on HEAD and BLOB_UNKNOWN on GET', async () => {
    const missing = sha(Buffer.from('never uploaded'));
    assert.equal(await client.blobExists('test/blobs', missing), undefined);
    await assert.rejects(client.getBlob('test/blobs', missing), (e: unknown) => isFerryError(e, 'BLOB_UNKNOWN'));
  });

  test('puts a manifest by tag and reads back the exact bytes, type and digest by tag, digest and HEAD', async () => {
    const { manifest } = await pushImage(client, 'test/img', 'a');
    const digest = await client.putManifest('test/img', 'v1', manifest, MediaType.OCI_MANIFEST);
    assert.equal(digest, sha(manifest));
    for (const ref of ['v1', digest]) {
      const got = await client.getManifest('test/img', ref);
      assert.ok(got.bytes.equals(manifest), ref);
      assert.equal(got.mimeType, MediaType.OCI_MANIFEST);
      assert.equal(got.digest, digest);
    }
    assert.deepEqual(await client.headManifest('test/img', 'v1'), {
      digest,
      mimeType: MediaType.OCI_MANIFEST,
      size: manifest.length,
    });
    assert.equal(await client.headManifest('test/img', 'nope'), undefined);
  });

  test('a missing tag is MANIFEST_UNKNOWN and keeps the registry code', async () => {
    await assert.rejects(
      client.getManifest('test/img', 'missing-tag'),
      (e: unknown) =>
        isFerryError(e, 'MANIFEST_UNKNOWN') &&
        e.details.registryCode === 'MANIFEST_UNKNOWN' &&
        e.details.status === 404,
    );
  });

  test('a manifest naming blobs the repository lacks is refused with the registry code BLOB_UNKNOWN', async () => {
    const { manifest } = await pushImage(client, 'test/other', 'b');
    await assert.rejects(
      client.putManifest('test/empty-repo', 'x', manifest, MediaType.OCI_MANIFEST),
      (e: unknown) => isFerryError(e) && e.details.registryCode === 'MANIFEST_BLOB_UNKNOWN',
    );
  });

  test('a manifest the registry finds invalid is MANIFEST_REJECTED, so the copy engine can try another format', async () => {
    const bad = Buffer.from('{"schemaVersion":1}');
    await assert.rejects(
      client.putManifest('test/img', 'bad', bad, MediaType.DOCKER_V2_SCHEMA2),
      (e: unknown) => isFerryError(e, 'MANIFEST_REJECTED') && e.details.registryCode === 'MANIFEST_INVALID',
    );
  });

  test('putting a manifest under a digest it does not have is refused before any request', async () => {
    const { manifest } = await pushImage(client, 'test/img', 'c');
    await assert.rejects(
      client.putManifest('test/img', sha(Buffer.from('x')), manifest, MediaType.OCI_MANIFEST),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
  });

  test('deletes a manifest named by tag by resolving the tag to its digest first', async () => {
    const { manifest } = await pushImage(client, 'test/del', 'd');
    const digest = await client.putManifest('test/del', 'gone', manifest, MediaType.OCI_MANIFEST);
    assert.equal(await client.deleteManifest('test/del', 'gone'), digest);
    await assert.rejects(client.getManifest('test/del', digest), (e: unknown) => isFerryError(e, 'MANIFEST_UNKNOWN'));
    await assert.rejects(client.deleteManifest('test/del', 'gone'), (e: unknown) =>
      isFerryError(e, 'MANIFEST_UNKNOWN'),
    );
  });

  test('mounts a blob from another repository, and reports false when the source lacks it', async () => {
    const bytes = Buffer.from('mount me');
    await client.uploadBlob('test/mount-src', Readable.from([bytes]));
    assert.equal(await client.mountBlob('test/mount-dst', sha(bytes), 'test/mount-src'), true);
    assert.deepEqual(await client.blobExists('test/mount-dst', sha(bytes)), { size: bytes.length });
    const absent = sha(Buffer.from('not there'));
    assert.equal(await client.mountBlob('test/mount-dst', absent, 'test/mount-src'), false);
    assert.equal(await client.blobExists('test/mount-dst', absent), undefined);
  });

  test('an upload with a mount source falls back to the upload session the registry opened', async () => {
    const bytes = Buffer.from('upload after a failed mount');
    const up = await client.uploadBlob('test/mount-dst', Readable.from([bytes]), {
      digest: sha(bytes),
      size: bytes.length,
      mountFrom: 'test/nowhere',
    });
    assert.deepEqual(up, { digest: sha(bytes), size: bytes.length, mounted: false });
    const stored = Buffer.from('stored in src');
    await client.uploadBlob('test/mount-src', Readable.from([stored]));
    const mounted = await client.uploadBlob('test/mount-dst2', Readable.from([stored]), {
      digest: sha(stored),
      mountFrom: 'test/mount-src',
    });
    assert.deepEqual(mounted, { digest: sha(stored), size: stored.length, mounted: true });
  });

  test('lists tags, and lists repositories through catalog pagination', async () => {
    const { manifest } = await pushImage(client, 'test/tags', 'e');
    for (const t of ['a', 'b', 'c']) await client.putManifest('test/tags', t, manifest, MediaType.OCI_MANIFEST);
    assert.deepEqual((await client.listTags('test/tags', { pageSize: 2 })).sort(), ['a', 'b', 'c']);
    await assert.rejects(client.listTags('test/never'), (e: unknown) => isFerryError(e, 'NAME_UNKNOWN'));
    const all = await client.catalog();
    const paged = await client.catalog({ pageSize: 1 });
    assert.ok(all.includes('test/tags'));
    assert.deepEqual(paged, all);
  });

  test('rejects a repository name outside the grammar before any request', async () => {
    await assert.rejects(client.getManifest('Test/../x', 'v1'), (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'));
    await assert.rejects(client.getManifest('test/x', 'bad/tag'), (e: unknown) => isFerryError(e, 'INVALID_REFERENCE'));
  });
});
