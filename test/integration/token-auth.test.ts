/**
 * Bearer token auth for real: the Distribution registry configured with `auth: token`, trusting an
 * issuer the test runs (test/helpers/token-server.ts). skopeo pushes through the token flow, Ferry
 * pulls and pushes through it.
 */
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { copyImage, parseImageReference } from '../../src/index.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

const USER = 'tokenuser';
const PASSWORD = 'token-secret-Pa55';

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('docker:// with token auth against the real registry', () => {
  let issuer: TokenServer;
  let reg: TestRegistry;
  let dir: string;
  let image: MadeImage;

  before(async () => {
    issuer = await startTokenServer({ users: { [USER]: PASSWORD } });
    reg = await startRegistry({ auth: 'token', token: issuer.registrySettings });
    dir = await makeTempDir('ferry-token-auth-');
    image = await makeImage(join(dir, 'oci'), { tag: 'v1', layers: 2, layerSize: 40_000, seed: 11 });
    const push = await runSkopeo([
      'copy',
      '--dest-tls-verify=false',
      '--dest-creds',
      `${USER}:${PASSWORD}`,
      `oci:${dir}/oci:v1`,
      `docker://${reg.host}/tok/app:v1`,
    ]);
    assert.equal(push.code, 0, push.stderr);
  });
  after(async () => {
    await reg?.stop();
    await issuer?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('skopeo pushed through the issuer: the registry asked for a token for the push scope', () => {
    assert.ok(
      issuer.requests.some(
        (r) =>
          r.authenticated &&
          r.scopes.some((s) => s === 'repository:tok/app:pull,push' || s === 'repository:tok/app:push,pull'),
      ),
    );
  });

  test('pulls with credentials: one token for the pull scope, reused for the manifest and every blob', async () => {
    const before = issuer.requests.length;
    const src = await parseImageReference(`docker://${reg.host}/tok/app:v1`).newImageSource({
      tlsVerify: false,
      credentials: { username: USER, password: PASSWORD },
    });
    try {
      const m = await src.getManifest();
      assert.ok(m.bytes.equals(image.bytes));
      const parsed = JSON.parse(m.bytes.toString()) as {
        config: { digest: `sha256:${string}`; size: number };
        layers: { digest: `sha256:${string}`; size: number }[];
      };
      for (const blob of [parsed.config, ...parsed.layers]) {
        const { stream } = await src.getBlob({ digest: blob.digest, size: blob.size });
        assert.equal((await readAll(stream)).length, blob.size);
      }
    } finally {
      await src.close();
    }
    const mine = issuer.requests.slice(before);
    assert.equal(mine.length, 1, JSON.stringify(mine));
    assert.deepEqual(mine[0], {
      account: USER,
      service: issuer.service,
      scopes: ['repository:tok/app:pull'],
      authenticated: true,
    });
  });

  test('a token the registry finds short of scope (insufficient_scope) is replaced and the request retried', async () => {
    issuer.emptyGrantsFor(1);
    const before = issuer.requests.length;
    const img = await parseImageReference(`docker://${reg.host}/tok/app:v1`).newImage({
      tlsVerify: false,
      credentials: { username: USER, password: PASSWORD },
    });
    try {
      assert.equal(await img.digest(), image.digest);
    } finally {
      await img.close();
    }
    assert.equal(issuer.requests.length - before, 2);
  });

  test('pushes with Ferry through the token flow and skopeo reads the same digest back', async () => {
    const creds = { username: USER, password: PASSWORD };
    await copyImage(
      parseImageReference(`oci:${dir}/oci:v1`),
      parseImageReference(`docker://${reg.host}/tok/ferry:v1`),
      {
        destinationOptions: { tlsVerify: false, credentials: creds },
      },
    );
    assert.ok(
      issuer.requests.some(
        (r) =>
          r.scopes.includes('repository:tok/ferry:push,pull') || r.scopes.includes('repository:tok/ferry:pull,push'),
      ),
    );
    const inspect = await runSkopeo([
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      `${USER}:${PASSWORD}`,
      `docker://${reg.host}/tok/ferry:v1`,
    ]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.equal(inspect.stdout, image.bytes.toString());
  });

  test('without credentials the registry refuses the pull with UNAUTHORIZED', async () => {
    await assert.rejects(
      parseImageReference(`docker://${reg.host}/tok/app:v1`).newImageSource({ tlsVerify: false, noCreds: true }),
      (e: unknown) => isFerryError(e, 'UNAUTHORIZED'),
    );
  });

  test('a wrong password is UNAUTHORIZED and the password appears nowhere in the error', async () => {
    const wrong = 'wrong-Pa55word-xyz';
    const err = await parseImageReference(`docker://${reg.host}/tok/app:v1`)
      .newImageSource({ tlsVerify: false, credentials: { username: USER, password: wrong } })
      .then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
    assert.ok(isFerryError(err, 'UNAUTHORIZED'), String(err));
    const shown = `${String(err)} ${err.stack ?? ''} ${JSON.stringify(err.details)}`;
    assert.ok(!shown.includes(wrong));
    assert.ok(!shown.includes(Buffer.from(`${USER}:${wrong}`).toString('base64')));
  });

  test('a token endpoint answering garbage is a typed REGISTRY_ERROR', async () => {
    issuer.mode = 'garbage';
    try {
      await assert.rejects(
        parseImageReference(`docker://${reg.host}/tok/app:v1`).newImageSource({
          tlsVerify: false,
          credentials: { username: USER, password: PASSWORD },
        }),
        (e: unknown) => isFerryError(e, 'REGISTRY_ERROR') && e.message.includes('token'),
      );
    } finally {
      issuer.mode = 'normal';
    }
  });
});
