/**
 * Errors about JSON that an archive or layout holds name the file, line and column, never its text:
 * a manifest.json or config member, or a manifest blob, could hold any file (a symlink to
 * /etc/shadow, a secret) and V8's own SyntaxError quotes it, also through `cause` under --debug.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { inspect } from 'node:util';
import { isFerryError, parseImageReference } from '../../src/index.js';
import { withTempDir } from '../helpers/tmp.js';
import { dockerArchiveParts, sha256, smallLayer } from './archive-builders.js';
import { tarOf } from './tar-build.js';

// Short and first: V8 quotes only the first few characters of the text it could not parse.
const marker = `Qz${randomBytes(3).toString('hex')}`;
const secretFile = `${marker}:x:0:0:root:/root:/bin/bash\n`;

/** The error, with every cause, printed as --debug would: none of it may carry the file's text. */
function assertNoMarker(e: unknown): void {
  const printed = inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true });
  assert.ok(!printed.includes(marker), `the error quotes the file: ${printed}`);
}

async function openAndRead(reference: string): Promise<void> {
  const source = await parseImageReference(reference).newImageSource({});
  try {
    await source.getManifest();
  } finally {
    await source.close();
  }
}

test('a docker-archive whose manifest.json is not JSON fails without quoting it', async () => {
  await withTempDir(async (dir) => {
    const parts = dockerArchiveParts(smallLayer(), sha256(smallLayer()));
    const archive = join(dir, 'a.tar');
    await writeFile(archive, tarOf([parts.config, parts.layer, { name: 'manifest.json', data: secretFile }]));
    await assert.rejects(openAndRead(`docker-archive:${archive}`), (e: unknown) => {
      assert.ok(isFerryError(e, 'INVALID_ARCHIVE'), String(e));
      assert.match(e.message, /manifest\.json is not valid JSON at line 1, column \d+/);
      assertNoMarker(e);
      return true;
    });
  });
});

test('a docker-archive whose config is not JSON fails without quoting it', async () => {
  await withTempDir(async (dir) => {
    const parts = dockerArchiveParts(smallLayer(), sha256(smallLayer()));
    const archive = join(dir, 'a.tar');
    await writeFile(archive, tarOf([{ name: parts.config.name, data: secretFile }, parts.layer, parts.manifest]));
    await assert.rejects(openAndRead(`docker-archive:${archive}`), (e: unknown) => {
      assert.ok(isFerryError(e, 'INVALID_ARCHIVE'), String(e));
      assert.match(e.message, /not valid JSON at line 1/);
      assertNoMarker(e);
      return true;
    });
  });
});

test('a docker-archive destination refuses a manifest that is not JSON without quoting it', async () => {
  await withTempDir(async (dir) => {
    const destination = await parseImageReference(`docker-archive:${join(dir, 'out.tar')}:x/y:1`).newImageDestination(
      {},
    );
    try {
      await assert.rejects(destination.putManifest(Buffer.from(secretFile)), (e: unknown) => {
        assert.ok(isFerryError(e, 'INVALID_MANIFEST'), String(e));
        assertNoMarker(e);
        return true;
      });
    } finally {
      await destination.close();
    }
  });
});

test('deleting from an oci: layout whose other manifest is not JSON fails without quoting it', async () => {
  await withTempDir(async (dir) => {
    const layout = join(dir, 'layout');
    const blobs = join(layout, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const bogus = Buffer.from(secretFile);
    const bogusDigest = sha256(bogus);
    await writeFile(join(blobs, bogusDigest.slice(7)), bogus);
    const index = {
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: bogusDigest,
          size: bogus.length,
          annotations: { 'org.opencontainers.image.ref.name': 'other' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: bogusDigest,
          size: bogus.length,
          annotations: { 'org.opencontainers.image.ref.name': 'gone' },
        },
      ],
    };
    await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(join(layout, 'index.json'), JSON.stringify(index));
    const reference = parseImageReference(`oci:${layout}:gone`);
    await assert.rejects(reference.deleteImage({}), (e: unknown) => {
      assert.ok(isFerryError(e), String(e));
      assertNoMarker(e);
      return true;
    });
  });
});
