/**
 * Source bytes are verified once, by the copy engine, and destinations rely on that check
 * (callerVerifiesDigest): a corrupted layer must still fail the copy and leave no blob behind.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isFerryError } from '../../src/errors.js';
import { copyImage, parseImageReference } from '../../src/index.js';
import { RegistryClient } from '../../src/registry-client/index.js';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Flips one byte near the end, so that the damage only shows when the whole blob has streamed. */
async function corrupt(file: string): Promise<void> {
  const bytes = await readFile(file);
  const at = bytes.length - 20;
  bytes[at] = (bytes[at] ?? 0) ^ 0xff;
  await writeFile(file, bytes);
}

describe('a corrupted layer fails the copy though destinations do not hash it again', () => {
  let reg: TestRegistry;
  let dir: string;
  let client: RegistryClient;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-verify-once-');
    client = await RegistryClient.create(reg.host, { tlsVerify: false });
  });

  after(async () => {
    await client.close();
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('pushing a layout with a corrupted layer is DIGEST_MISMATCH and the registry gets neither that blob nor the tag', async () => {
    const src = join(dir, 'corrupt-src');
    const made = await makeImage(src, { tag: 'v1', layers: 2, layerSize: 300_000, seed: 21 });
    const layer = made.instances[0]?.layers[1];
    assert.ok(layer);
    await corrupt(blobPath(src, layer.digest));
    await assert.rejects(
      copyImage(parseImageReference(`oci:${src}:v1`), parseImageReference(`docker://${reg.host}/verify/push:v1`), {
        destinationOptions: { tlsVerify: false },
      }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    assert.equal(await client.blobExists('verify/push', layer.digest as `sha256:${string}`), undefined);
    assert.equal(await client.headManifest('verify/push', 'v1'), undefined);
  });

  test('pulling a layer the registry serves corrupted is DIGEST_MISMATCH and the layout keeps no blob of it', async () => {
    const src = join(dir, 'pull-src');
    const made = await makeImage(src, { tag: 'v1', layers: 2, layerSize: 300_000, seed: 22 });
    await copyImage(parseImageReference(`oci:${src}:v1`), parseImageReference(`docker://${reg.host}/verify/pull:v1`), {
      destinationOptions: { tlsVerify: false },
    });
    const layer = made.instances[0]?.layers[0];
    assert.ok(layer);
    const hex = layer.digest.slice('sha256:'.length);
    await corrupt(join(reg.dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'));
    const dst = join(dir, 'pull-dst');
    await assert.rejects(
      copyImage(parseImageReference(`docker://${reg.host}/verify/pull:v1`), parseImageReference(`oci:${dst}:v1`), {
        sourceOptions: { tlsVerify: false },
      }),
      (e: unknown) => isFerryError(e, 'DIGEST_MISMATCH'),
    );
    const blobs: string[] = await readdir(join(dst, 'blobs', 'sha256')).catch(() => []);
    assert.equal(blobs.includes(hex), false);
  });
});
