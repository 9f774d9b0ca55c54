/**
 * Archives cut short, at every 512-byte block through the headers and at a spread of offsets
 * through the data: each read either gives the whole image (a cut after the last member) or fails
 * with one typed error; never a crash, an unhandled rejection, or a temp dir left behind.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Digest, digestOf } from '../../src/digest/digest.js';
import { digestStream } from '../../src/digest/verify.js';
import { isFerryError } from '../../src/errors.js';
import { copyImage, parseOciReference } from '../../src/index.js';
import { parseDockerArchiveReference } from '../../src/transports/docker-archive/index.js';
import { parseOciArchiveReference } from '../../src/transports/oci-archive/index.js';
import type { ImageReference } from '../../src/transports/types.js';
import { makeImage } from '../helpers/make-image.js';
import { runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { cutOffsets } from './tar-build.js';

interface Archive {
  transport: 'docker-archive' | 'oci-archive';
  file: string;
  bytes: Buffer;
  /** Manifest digest of the whole archive's image. */
  digest: string;
  /** Whether a cut on a block boundary may still hold a complete image (not for compressed archives). */
  plain: boolean;
}

const parse: Record<Archive['transport'], (path: string) => ImageReference> = {
  'docker-archive': parseDockerArchiveReference,
  'oci-archive': parseOciArchiveReference,
};

describe('truncated archives fail with a typed error and leave nothing behind', () => {
  let dir: string;
  /** Ferry's temp dir (TMPDIR for the CLI): must be empty after every read. */
  let tmpDir: string;
  const archives: Archive[] = [];
  const unexpected: unknown[] = [];
  const onUnexpected = (e: unknown) => unexpected.push(e);

  before(async () => {
    process.on('unhandledRejection', onUnexpected);
    dir = await makeTempDir('ferry-truncated-');
    tmpDir = await makeTempDir('ferry-truncated-tmp-');
    const layout = join(dir, 'layout');
    await makeImage(layout, { tag: 't', layers: 2, layerSize: 3000 });
    for (const transport of ['docker-archive', 'oci-archive'] as const) {
      const file = join(dir, `${transport}.tar`);
      const r = await runSkopeo(['copy', '-q', `oci:${layout}:t`, `${transport}:${file}`]);
      assert.equal(r.code, 0, r.stderr);
      const bytes = await readFile(file);
      archives.push({ transport, file, bytes, digest: (await readImage(transport, file)).digest, plain: true });
      const gz = join(dir, `${transport}.tar.gz`);
      await writeFile(gz, gzipSync(bytes));
      archives.push({
        transport,
        file: gz,
        bytes: await readFile(gz),
        digest: (await readImage(transport, gz)).digest,
        plain: false,
      });
    }
  });
  after(async () => {
    process.off('unhandledRejection', onUnexpected);
    await rm(dir, { recursive: true, force: true });
    await rm(tmpDir, { recursive: true, force: true });
  });

  /** Reads the manifest and every blob (checking digests); returns the manifest digest. */
  async function readImage(transport: Archive['transport'], path: string): Promise<{ digest: string }> {
    const src = await parse[transport](path).newImageSource({ tmpDir });
    try {
      const { bytes } = await src.getManifest();
      const manifest = JSON.parse(bytes.toString()) as {
        config: { digest: string; size: number };
        layers: { digest: string; size: number }[];
      };
      for (const d of [manifest.config, ...manifest.layers]) {
        const blob = await src.getBlob({ digest: d.digest as Digest, size: d.size });
        assert.equal((await digestStream(blob.stream)).digest, d.digest);
      }
      return { digest: digestOf(bytes) };
    } finally {
      await src.close();
    }
  }

  /** A cut can only be complete on a block boundary of an uncompressed archive. */
  const mayBeComplete = (a: Archive, at: number) => a.plain && at % 512 === 0;

  test('the library reads or refuses each cut, with no temp dir left', async () => {
    let cuts = 0;
    for (const a of archives) {
      const cut = join(dir, `cut-${a.transport}`);
      for (const at of cutOffsets(a.bytes.length, 8 * 1024, 24)) {
        await writeFile(cut, a.bytes.subarray(0, at));
        let outcome: string;
        try {
          outcome = (await readImage(a.transport, cut)).digest;
        } catch (e) {
          assert.ok(isFerryError(e), `${a.file} cut at ${at}: not a FerryError: ${String(e)}`);
          outcome = e.code;
          if (e.code === 'INVALID_ARCHIVE') assert.ok(e.message.includes(cut), `${a.file} cut at ${at}: ${e.message}`);
        }
        if (!mayBeComplete(a, at)) assert.notEqual(outcome, a.digest, `${a.file} cut at ${at} was read as complete`);
        else if (outcome.startsWith('sha256:'))
          assert.equal(outcome, a.digest, `${a.file} cut at ${at}: another image`);
        assert.deepEqual(await readdir(tmpDir), [], `${a.file} cut at ${at}: temp files left`);
        cuts++;
      }
    }
    assert.ok(cuts > 100, `only ${cuts} cuts`);
    assert.deepEqual(unexpected, []);
  });

  test('a copy from a cut archive fails with a typed error and writes no image', async () => {
    for (const a of archives) {
      const cut = join(dir, `copy-${a.transport}`);
      for (const at of cutOffsets(a.bytes.length, 2048, 4).filter((o) => !mayBeComplete(a, o))) {
        await writeFile(cut, a.bytes.subarray(0, at));
        const dest = join(dir, 'dest');
        await assert.rejects(
          copyImage(parse[a.transport](cut), parseOciReference(`${dest}:t`), { sourceOptions: { tmpDir } }),
          (e) => isFerryError(e),
          `${a.file} cut at ${at}`,
        );
        await rm(dest, { recursive: true, force: true });
        assert.deepEqual(await readdir(tmpDir), [], `${a.file} cut at ${at}: temp files left`);
      }
    }
    assert.deepEqual(unexpected, []);
  });

  test('the CLI prints one "ferry:" line and exits 1, with no stack trace and no temp dir left', async () => {
    const env = { ...process.env, TMPDIR: tmpDir };
    for (const a of archives) {
      const cut = join(dir, `cli-${a.transport}`);
      // Into the first layer's header and data, and into the last member.
      const offsets = [700, 1536 + 100, a.bytes.length - 2000, a.bytes.length - 1100];
      for (const at of offsets) {
        await writeFile(cut, a.bytes.subarray(0, at));
        const dest = join(dir, 'cli-dest');
        const r = await runFerry(['copy', `${a.transport}:${cut}`, `oci:${dest}:t`], { env, timeoutMs: 30_000 });
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(r.code, 1, `${a.file} cut at ${at}: exit ${r.code}\n${r.stderr}`);
        assert.equal(lines.length, 1, `${a.file} cut at ${at}: ${r.stderr}`);
        assert.match(lines[0] as string, /^ferry: /);
        assert.doesNotMatch(r.stderr, /\n\s+at |Unexpected end of data\n|node:internal/);
        await rm(dest, { recursive: true, force: true });
        assert.deepEqual(await readdir(tmpDir), [], `${a.file} cut at ${at}: temp files left`);
      }
    }
  });
});
