/**
 * The transport conformance suite: the written contract of src/transports/types.ts as tests that
 * every source and destination passes. A transport joins with one fixture (see
 * `ConformanceFixture`) in a file of its own beside this one:
 *
 *   // test/transports/conformance/containers-storage.test.ts
 *   describeTransportConformance({
 *     name: 'containers-storage',
 *     freshReference: async () => parse(`containers-storage:[overlay@${root}]app:${next()}`),
 *     siblingReference: (ref) => ...,            // another image at the same place, if any
 *     concurrentWriters: 'shared',               // or 'replace', or omit
 *     reusesCommittedBlobs: true,
 *     visibleAt: 'commit',
 *     tempRoots: () => [root],                    // where a temp file would be left behind
 *   });
 *
 * The suite asks each destination its `capabilities`, never the transport's name: a list is only
 * round-tripped where `supportsMultipleImages`, signatures only where `supportsSignatures`, and a
 * capability a destination claims is checked (what it says it stores, it stores). A source-only
 * transport (tarball:) gives `sourceFrom` instead of `freshReference`, and only the source half runs.
 * Images come from test/helpers/make-image.ts and go in through the real copy engine.
 *
 * Checked: supportedManifestMIMETypes, desiredLayerCompression, supportedCompressionAlgorithms (none),
 * supportsMultipleImages, supportsSignatures, acceptsForeignLayerURLs (when true), hasThreadSafePutBlob,
 * mustMatchRuntimeOS (when false). Not here: ignoresEmbeddedDockerReference (no transport sets it and
 * the copy engine does not read it yet; a test belongs here when one does). A fixture's flags are facts about the transport that the
 * capabilities do not state (where reuse reaches, when an image becomes visible).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { type CopyOptions, copyImage } from '../../../src/copy/index.js';
import { type Digest, digestOf } from '../../../src/digest/digest.js';
import { DigestVerifier } from '../../../src/digest/verify.js';
import { isFerryError } from '../../../src/errors.js';
import { ociTransport } from '../../../src/transports/oci-layout/index.js';
import type { ImageDestination, ImageOptions, ImageReference, ImageSource } from '../../../src/transports/types.js';
import {
  type MadeImage,
  type MakeImageCompression,
  type MakeImageOptions,
  makeImage,
} from '../../helpers/make-image.js';
import { makeTempDir } from '../../helpers/tmp.js';

export interface ConformanceFixture {
  /** The transport's name, for test titles. */
  name: string;
  /** Starts what the transport needs (a registry); runs once before the tests. */
  start?(): Promise<void>;
  stop?(): Promise<void>;
  /** A reference where no image is yet (writable transports). */
  freshReference?(): Promise<ImageReference>;
  /** Source-only transports: a reference reading `image` (made in the OCI layout `layout`). */
  sourceFrom?(layout: string, image: MadeImage): Promise<ImageReference>;
  /** Another reference at the same place as `ref` (same layout, archive or repository), for concurrent writers. */
  siblingReference?(ref: ImageReference): ImageReference;
  /**
   * What two writers on the same place leave: 'shared' both images (a layout, a repository),
   * 'replace' the last committed one whole (an archive, a directory).
   */
  concurrentWriters?: 'shared' | 'replace';
  /**
   * putBlob with `callerVerifiesDigest` keeps the given digest without hashing the bytes again (the
   * copy engine already did): on-disk destinations. A registry verifies every upload itself.
   */
  trustsCallerDigest?: boolean;
  /** tryReusingBlob finds blobs of images committed earlier at the same place (not only this session's). */
  reusesCommittedBlobs: boolean;
  /** When a written image becomes readable: at commit, or already at the top-level putManifest (a registry). */
  visibleAt: 'commit' | 'putManifest';
  /**
   * Whether a writer that closes without commit leaves its place exactly as it found it (archives,
   * dir:). An OCI layout keeps the blobs it finished, as upstream: another writer may use them.
   */
  abortLeavesNothing?: boolean;
  /** Directories where this transport could leave temp files; checked empty of them after an abort. */
  tempRoots?(): string[];
  /** Options for every source and destination the suite opens (tmpDir is set by the suite). */
  options?: ImageOptions;
  /**
   * Compression of the layers of the images the suite makes (default gzip). containers-storage keeps
   * layers uncompressed and cannot yet serve them under a compressed digest, so it reads back only
   * images made of uncompressed layers.
   */
  layerCompression?: MakeImageCompression;
}

/** Codes a source may give for "no image here". */
const IMAGE_MISSING = ['IMAGE_NOT_FOUND', 'MANIFEST_UNKNOWN', 'NAME_UNKNOWN'];
/** Codes for "no such blob / instance in this image". */
const BLOB_MISSING = ['BLOB_NOT_FOUND', 'BLOB_UNKNOWN'];
const INSTANCE_MISSING = ['MANIFEST_UNKNOWN', 'IMAGE_NOT_FOUND', 'BLOB_NOT_FOUND', 'BLOB_UNKNOWN'];

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

interface Descriptor {
  mediaType?: string;
  digest: Digest;
  size: number;
  urls?: string[];
  platform?: { os: string; architecture: string; variant?: string };
}
interface ParsedManifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

const parse = (b: Buffer): ParsedManifest => JSON.parse(b.toString('utf8')) as ParsedManifest;

function rejectsWithOneOf(codes: readonly string[]): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(isFerryError(e), `expected a FerryError, got ${String(e)}`);
    assert.ok(codes.includes(e.code), `expected one of ${codes.join(', ')}, got ${e.code}: ${e.message}`);
    return true;
  };
}

/** Reads a blob to its end, verifying digest and size; returns its first bytes. */
async function readBlobHead(src: ImageSource, d: Descriptor): Promise<Buffer> {
  const { stream } = await src.getBlob({ digest: d.digest, size: d.size });
  let head = Buffer.alloc(0);
  await pipeline(
    stream,
    new DigestVerifier(d.digest, d.size),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (head.length < 8) head = Buffer.concat([head, chunk]).subarray(0, 8);
        cb();
      },
    }),
  );
  return head;
}

async function readBlob(src: ImageSource, d: Descriptor): Promise<Buffer> {
  const { stream } = await src.getBlob({ digest: d.digest, size: d.size });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The diff IDs and platform an image's config records: equal across formats for the same content. */
async function imageIdentity(src: ImageSource, manifest: Buffer): Promise<{ diffIDs: string[]; platform: string }> {
  const m = parse(manifest);
  assert.ok(m.config !== undefined && m.layers !== undefined, 'an image manifest has a config and layers');
  for (const l of m.layers) await readBlobHead(src, l);
  const config = JSON.parse((await readBlob(src, m.config)).toString('utf8')) as {
    os: string;
    architecture: string;
    rootfs: { diff_ids: string[] };
  };
  return { diffIDs: config.rootfs.diff_ids, platform: `${config.os}/${config.architecture}` };
}

/** Every entry under `root` named like one of Ferry's temp files. */
async function tempEntries(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.name.includes('ferry-')) out.push(p);
      else if (e.isDirectory()) await walk(p);
    }
  }
  await walk(root);
  return out;
}

function bytesStream(b: Buffer): Readable {
  return Readable.from([b]);
}

export function describeTransportConformance(fixture: ConformanceFixture): void {
  describe(`transport conformance: ${fixture.name}`, () => {
    let work: string;
    let tmpDir: string;
    let seed = 100;
    const options = (): ImageOptions => ({ ...fixture.options, tmpDir });
    /** Copy options: the fixture's options on the destination side, no blob-info cache (each test stands alone). */
    const copyOptions = (extra: CopyOptions = {}): CopyOptions => ({
      sourceOptions: { tmpDir },
      destinationOptions: options(),
      blobInfoCache: 'none',
      ...extra,
    });

    /** A fresh OCI layout holding a made image, and a reference to it. */
    async function made(o: MakeImageOptions = {}): Promise<{ layout: string; image: MadeImage; ref: ImageReference }> {
      const layout = path.join(work, `src-${seed}`);
      const image = await makeImage(layout, {
        layers: 2,
        layerSize: 4096,
        seed: seed++,
        ...(fixture.layerCompression === undefined ? {} : { compression: fixture.layerCompression }),
        ...o,
      });
      return { layout, image, ref: ociTransport.parseReference(`${layout}:${image.tag}`) };
    }

    /** Puts every blob and the manifest of a made image into `dest`, without committing. */
    async function fill(dest: ImageDestination, image: MadeImage, layout: string): Promise<void> {
      const src = await ociTransport.parseReference(`${layout}:${image.tag}`).newImageSource(options());
      try {
        const top = await src.getManifest();
        const m = parse(top.bytes);
        for (const d of [m.config as Descriptor, ...(m.layers ?? [])]) {
          const { stream } = await src.getBlob({ digest: d.digest, size: d.size });
          await dest.putBlob(stream, { digest: d.digest, size: d.size }, { isConfig: d === m.config });
        }
        await dest.putManifest(top.bytes);
      } finally {
        await src.close();
      }
    }

    async function openDest(ref: ImageReference): Promise<ImageDestination> {
      return ref.newImageDestination(options());
    }

    async function assertNotReadable(ref: ImageReference, why: string): Promise<void> {
      await assert.rejects(
        ref.newImageSource(options()).then((s) => s.close()),
        (e: unknown) => {
          assert.ok(isFerryError(e), `${why}: expected a FerryError, got ${String(e)}`);
          return true;
        },
        why,
      );
    }

    /** No temp file under the fixture's roots, and the suite's tmpDir (spool dirs, extracted archives) empty. */
    async function assertNoTemps(): Promise<void> {
      assert.deepEqual(await readdir(tmpDir), [], 'tmpDir is left empty');
      for (const root of fixture.tempRoots?.() ?? [])
        assert.deepEqual(await tempEntries(root), [], `temp files left under ${root}`);
    }

    /** The names under the fixture's roots, to compare before and after a writer that did not commit. */
    async function rootListing(): Promise<string[]> {
      const out: string[] = [];
      for (const root of fixture.tempRoots?.() ?? [])
        out.push(...(await readdir(root, { recursive: true })).map((n) => path.join(root, n)));
      return out.sort();
    }

    before(async () => {
      work = await makeTempDir('ferry-conformance-');
      tmpDir = path.join(work, 'tmp');
      await mkdir(tmpDir);
      await fixture.start?.();
    });
    after(async () => {
      await fixture.stop?.();
      await rm(work, { recursive: true, force: true });
    });

    if (fixture.sourceFrom !== undefined) {
      const sourceFrom = fixture.sourceFrom;
      describe('source', () => {
        it('reads back the image it was given: manifest, config and every layer verify', async () => {
          const { layout, image } = await made();
          const src = await (await sourceFrom(layout, image)).newImageSource(options());
          try {
            const top = await src.getManifest();
            const id = await imageIdentity(src, top.bytes);
            assert.equal(id.diffIDs.length, 2);
            assert.equal(id.platform, 'linux/amd64');
          } finally {
            await src.close();
          }
        });
        it('a blob the image does not have is a typed error', async () => {
          const { layout, image } = await made();
          const src = await (await sourceFrom(layout, image)).newImageSource(options());
          try {
            const absent = digestOf(Buffer.from('absent'));
            await assert.rejects(readBlob(src, { digest: absent, size: 6 }), rejectsWithOneOf(BLOB_MISSING));
          } finally {
            await src.close();
          }
        });
      });
    }

    const freshReference = fixture.freshReference;
    if (freshReference === undefined) return;

    describe('round trip', () => {
      it('a single image written through the copy engine reads back with the same content', async () => {
        const { ref: from, image } = await made();
        const to = await freshReference();
        await copyImage(from, to, copyOptions());
        const src = await to.newImageSource(options());
        try {
          const top = await src.getManifest();
          const id = await imageIdentity(src, top.bytes);
          const original = JSON.parse((image.instances[0]?.config.bytes ?? Buffer.alloc(0)).toString('utf8')) as {
            rootfs: { diff_ids: string[] };
          };
          assert.deepEqual(id.diffIDs, original.rootfs.diff_ids);
          assert.equal(id.platform, 'linux/amd64');
        } finally {
          await src.close();
        }
      });

      it('a multi-arch image keeps every instance where the destination holds lists, else is refused as a group', async () => {
        const { ref: from, image } = await made({ platforms: ['linux/amd64', 'linux/arm64'] });
        const to = await freshReference();
        const dest = await openDest(to);
        const multi = dest.capabilities.supportsMultipleImages;
        if (!multi) {
          const instance = image.instances[0] as MadeImage['instances'][number];
          await assert.rejects(
            dest.putManifest(instance.bytes, instance.digest as Digest),
            rejectsWithOneOf(['UNSUPPORTED_OPERATION', 'MANIFEST_REJECTED']),
          );
        }
        await dest.close();
        if (!multi) return;
        await copyImage(from, to, copyOptions({ imageListSelection: 'all' }));
        const src = await to.newImageSource(options());
        try {
          const list = parse((await src.getManifest()).bytes);
          assert.deepEqual(
            (list.manifests ?? []).map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
            ['linux/amd64', 'linux/arm64'],
          );
          for (const m of list.manifests ?? []) {
            const instance = await src.getManifest(m.digest);
            assert.equal(digestOf(instance.bytes), m.digest);
            const id = await imageIdentity(src, instance.bytes);
            assert.equal(id.platform, `${m.platform?.os}/${m.platform?.architecture}`);
          }
        } finally {
          await src.close();
        }
      });
    });

    describe('capabilities honoured', () => {
      it('layers are stored as desiredLayerCompression says, in a manifest type it lists', async () => {
        const { ref: from } = await made({ compression: 'none' });
        const to = await freshReference();
        const dest = await openDest(to);
        const caps = dest.capabilities;
        await dest.close();
        await copyImage(from, to, copyOptions());
        const src = await to.newImageSource(options());
        try {
          const top = await src.getManifest();
          if (caps.supportedManifestMIMETypes !== undefined)
            assert.ok(caps.supportedManifestMIMETypes.includes(top.mimeType), top.mimeType);
          for (const l of parse(top.bytes).layers ?? []) {
            const head = await readBlobHead(src, l);
            const compressed = head.subarray(0, 2).equals(GZIP_MAGIC) || head.subarray(0, 4).equals(ZSTD_MAGIC);
            // The source's layers are uncompressed: 'preserve' and 'decompress' keep them so, 'compress' compresses.
            assert.equal(
              compressed,
              caps.desiredLayerCompression === 'compress',
              `layer ${l.digest} (${caps.desiredLayerCompression})`,
            );
            if (caps.supportedCompressionAlgorithms?.length === 0) assert.equal(compressed, false);
          }
        } finally {
          await src.close();
        }
      });

      it('signatures are stored and read back where supportsSignatures, else refused as UNSUPPORTED_OPERATION', async () => {
        const { layout, image } = await made({ compression: 'none' });
        const to = await freshReference();
        const dest = await openDest(to);
        const signatures = [Buffer.from('signature one'), Buffer.from('signature two')];
        const supported = dest.capabilities.supportsSignatures;
        try {
          // No signatures is always fine.
          await dest.putSignatures([]);
          if (!supported) {
            await assert.rejects(dest.putSignatures(signatures), rejectsWithOneOf(['UNSUPPORTED_OPERATION']));
            return;
          }
          await fill(dest, image, layout);
          await dest.putSignatures(signatures);
          await dest.commit();
        } finally {
          await dest.close();
        }
        const src = await to.newImageSource(options());
        try {
          assert.deepEqual(await src.getSignatures(), signatures);
        } finally {
          await src.close();
        }
      });

      it('mustMatchRuntimeOS: a destination that does not claim it stores an image for another OS and architecture', async (t) => {
        const to = await freshReference();
        const probe = await openDest(to);
        const must = probe.capabilities.mustMatchRuntimeOS;
        await probe.close();
        // Only a daemon claims it; the copy engine then logs a mismatch rather than refuse.
        if (must) return t.skip('destination runs images: it may refuse a foreign OS');
        const { ref: from } = await made({ platforms: ['windows/s390x'] });
        await copyImage(from, to, copyOptions());
        const src = await to.newImageSource(options());
        try {
          assert.equal((await imageIdentity(src, (await src.getManifest()).bytes)).platform, 'windows/s390x');
        } finally {
          await src.close();
        }
      });

      it('hasThreadSafePutBlob: concurrent putBlob calls each store their blob', async () => {
        const to = await freshReference();
        const dest = await openDest(to);
        try {
          const blobs = [Buffer.from('first blob'), Buffer.from('second blob'), Buffer.from('third blob')];
          const put = (b: Buffer) =>
            dest.putBlob(bytesStream(b), { digest: digestOf(b), size: b.length }, { isConfig: false });
          const stored = dest.capabilities.hasThreadSafePutBlob
            ? await Promise.all(blobs.map(put))
            : await blobs.reduce(
                async (acc, b) => [...(await acc), await put(b)],
                Promise.resolve([] as Awaited<ReturnType<typeof put>>[]),
              );
          assert.deepEqual(
            stored.map((s) => s.digest),
            blobs.map((b) => digestOf(b)),
          );
          for (const b of blobs) {
            const reused = await dest.tryReusingBlob({ digest: digestOf(b), size: b.length }, { isConfig: false });
            assert.equal(reused?.size, b.length);
          }
        } finally {
          await dest.close();
        }
      });

      it('acceptsForeignLayerURLs: a layer with urls that was never put is kept in the manifest with its urls', async (t) => {
        const to = await freshReference();
        const probe = await openDest(to);
        const accepts = probe.capabilities.acceptsForeignLayerURLs;
        const types = probe.capabilities.supportedManifestMIMETypes;
        await probe.close();
        // Nothing to observe at a destination that refuses them: the copy engine then copies the layer's bytes.
        if (!accepts) return t.skip('destination does not accept foreign layers');
        const { ref: from } = await made({ layers: 1 });
        await copyImage(from, to, copyOptions());
        const src0 = await to.newImageSource(options());
        const top = await src0.getManifest();
        const m = parse(top.bytes);
        const config = m.config as Descriptor;
        const configBytes = await readBlob(src0, config);
        await src0.close();
        const foreign: Descriptor = {
          mediaType:
            top.mimeType === 'application/vnd.oci.image.manifest.v1+json'
              ? 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'
              : 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: digestOf(Buffer.from('never uploaded')),
          size: 14,
          urls: ['https://example.invalid/layer.tar.gz'],
        };
        const manifest = Buffer.from(JSON.stringify({ ...m, layers: [...(m.layers ?? []), foreign] }));
        assert.ok(types === undefined || types.includes(top.mimeType));
        const target = fixture.siblingReference?.(to) ?? (await freshReference());
        const dest = await openDest(target);
        try {
          await dest.putBlob(
            bytesStream(configBytes),
            { digest: config.digest, size: config.size },
            { isConfig: true },
          );
          for (const l of m.layers ?? []) {
            if ((await dest.tryReusingBlob({ digest: l.digest, size: l.size }, { isConfig: false })) === undefined) {
              const s = await to.newImageSource(options());
              await dest.putBlob((await s.getBlob({ digest: l.digest, size: l.size })).stream, l, { isConfig: false });
              await s.close();
            }
          }
          await dest.putManifest(manifest);
          await dest.commit();
        } finally {
          await dest.close();
        }
        const src = await target.newImageSource(options());
        try {
          const back = parse((await src.getManifest()).bytes);
          assert.deepEqual(back.layers?.at(-1)?.urls, foreign.urls);
        } finally {
          await src.close();
        }
      });
    });

    describe('putBlob', () => {
      it('stores a blob of unknown size and digest, and returns both', async () => {
        const dest = await openDest(await freshReference());
        try {
          const bytes = Buffer.from('a blob whose size nobody knew');
          const stored = await dest.putBlob(bytesStream(bytes), { size: -1 }, { isConfig: false });
          assert.equal(stored.digest, digestOf(bytes));
          assert.equal(stored.size, bytes.length);
          const known = await dest.putBlob(
            bytesStream(Buffer.from('known digest')),
            { digest: digestOf(Buffer.from('known digest')), size: -1 },
            { isConfig: false },
          );
          assert.equal(known.size, 12);
        } finally {
          await dest.close();
        }
      });

      it('a stream longer or shorter than the given size is SIZE_MISMATCH, and no temp file stays', async () => {
        const dest = await openDest(await freshReference());
        try {
          const bytes = Buffer.from('twenty-one bytes long');
          for (const size of [bytes.length - 1, bytes.length + 1]) {
            await assert.rejects(
              dest.putBlob(bytesStream(bytes), { digest: digestOf(bytes), size }, { isConfig: false }),
              rejectsWithOneOf(['SIZE_MISMATCH']),
            );
          }
        } finally {
          await dest.close();
        }
        await assertNoTemps();
      });

      it('bytes that do not match the given digest are DIGEST_MISMATCH, and no temp file stays', async () => {
        const dest = await openDest(await freshReference());
        try {
          const claimed = digestOf(Buffer.from('what was promised'));
          await assert.rejects(
            dest.putBlob(bytesStream(Buffer.from('what arrived')), { digest: claimed, size: -1 }, { isConfig: false }),
            rejectsWithOneOf(['DIGEST_MISMATCH']),
          );
          assert.equal(await dest.tryReusingBlob({ digest: claimed, size: -1 }, { isConfig: false }), undefined);
        } finally {
          await dest.close();
        }
        await assertNoTemps();
      });
    });

    describe('hashing once', () => {
      it('with callerVerifiesDigest, a destination that claims it trusts the caller keeps the digest it was given (no second hash pass)', async (t) => {
        if (!fixture.trustsCallerDigest) return t.skip('this destination verifies every blob itself (a registry does)');
        const dest = await openDest(await freshReference());
        try {
          // Bytes that do not match: only a destination that hashed them again could notice.
          const claimed = digestOf(Buffer.from('the bytes the caller verified'));
          const bytes = Buffer.from('other bytes, same promise');
          const stored = await dest.putBlob(
            bytesStream(bytes),
            { digest: claimed, size: bytes.length },
            { isConfig: false, callerVerifiesDigest: true },
          );
          assert.equal(stored.digest, claimed);
          assert.equal(stored.size, bytes.length);
        } finally {
          await dest.close();
        }
      });
    });

    describe('reuse', () => {
      it('tryReusingBlob finds a blob put earlier in the same session, and nothing for an unknown digest', async () => {
        const dest = await openDest(await freshReference());
        try {
          const bytes = Buffer.from('put once, reused after');
          await dest.putBlob(bytesStream(bytes), { digest: digestOf(bytes), size: bytes.length }, { isConfig: false });
          const reused = await dest.tryReusingBlob(
            { digest: digestOf(bytes), size: bytes.length },
            { isConfig: false },
          );
          assert.equal(reused?.digest, digestOf(bytes));
          assert.equal(reused?.size, bytes.length);
          const absent = digestOf(Buffer.from('never put'));
          assert.equal(await dest.tryReusingBlob({ digest: absent, size: -1 }, { isConfig: false }), undefined);
        } finally {
          await dest.close();
        }
      });

      it('tryReusingBlob finds the layers of an image committed earlier at the same place, where claimed', async (t) => {
        if (!fixture.reusesCommittedBlobs || fixture.siblingReference === undefined)
          return t.skip('reuse is per session here');
        const { ref: from } = await made();
        const first = await freshReference();
        await copyImage(from, first, copyOptions());
        const src = await first.newImageSource(options());
        const layers = parse((await src.getManifest()).bytes).layers ?? [];
        await src.close();
        const dest = await openDest(fixture.siblingReference(first));
        try {
          for (const l of layers) {
            const reused = await dest.tryReusingBlob({ digest: l.digest, size: l.size }, { isConfig: false });
            assert.equal(reused?.size, l.size, `layer ${l.digest}`);
          }
        } finally {
          await dest.close();
        }
      });
    });

    describe('atomic commit', () => {
      it('nothing is readable before commit, and nothing is left after close without commit', async () => {
        const { layout, image } = await made({ compression: 'none' });
        const to = await freshReference();
        const listing = await rootListing();
        const dest = await openDest(to);
        try {
          // Uncompressed layers suit every destination's desired compression without a conversion.
          await fill(dest, image, layout).catch(async (e: unknown) => {
            // A destination that only takes another manifest type is filled by the copy engine instead.
            if (isFerryError(e) && ['UNSUPPORTED_MANIFEST_TYPE', 'MANIFEST_REJECTED'].includes(e.code)) return;
            throw e;
          });
          if (fixture.visibleAt === 'commit') await assertNotReadable(to, 'an uncommitted image is not readable');
        } finally {
          await dest.close();
        }
        // A second close is harmless.
        await dest.close();
        if (fixture.visibleAt === 'commit')
          await assertNotReadable(to, 'an image closed without commit is not readable');
        if (fixture.abortLeavesNothing) assert.deepEqual(await rootListing(), listing, 'the place is as it was');
        await assertNoTemps();
      });

      it('an image already there stays whole while another writer fills the place and closes without commit', async (t) => {
        if (fixture.visibleAt !== 'commit') return t.skip('visible at putManifest: nothing to roll back');
        const first = await made({ compression: 'none' });
        const second = await made({ compression: 'none' });
        const to = await freshReference();
        await copyImage(first.ref, to, copyOptions());
        const diffIDsAt = async (ref: ImageReference) => {
          const src = await ref.newImageSource(options());
          try {
            return (await imageIdentity(src, (await src.getManifest()).bytes)).diffIDs;
          } finally {
            await src.close();
          }
        };
        const before = await diffIDsAt(to);
        const listing = await rootListing();
        const dest = await openDest(fixture.siblingReference?.(to) ?? to);
        try {
          await fill(dest, second.image, second.layout).catch((e: unknown) => {
            if (isFerryError(e) && ['UNSUPPORTED_MANIFEST_TYPE', 'MANIFEST_REJECTED'].includes(e.code)) return;
            throw e;
          });
        } finally {
          await dest.close();
        }
        assert.deepEqual(await diffIDsAt(to), before);
        if (fixture.abortLeavesNothing) assert.deepEqual(await rootListing(), listing, 'the place is as it was');
        await assertNoTemps();
      });

      it('a copy aborted midway leaves no image and no temp files', async () => {
        const { ref: from } = await made({ layerSize: 1 << 20 });
        const to = await freshReference();
        const controller = new AbortController();
        const copying = copyImage(
          from,
          to,
          copyOptions({
            signal: controller.signal,
            onProgress: () => {
              if (!controller.signal.aborted) controller.abort(new Error('stop'));
            },
          }),
        );
        await assert.rejects(copying);
        await assertNotReadable(to, 'an aborted copy leaves no image');
        await assertNoTemps();
      });
    });

    describe('typed errors', () => {
      it('opening a source where there is no image is a typed not-found error', async () => {
        const ref = await freshReference();
        await assert.rejects(ref.newImageSource(options()), rejectsWithOneOf(IMAGE_MISSING));
      });

      it('a blob or instance the image does not have is BLOB_NOT_FOUND / MANIFEST_UNKNOWN', async () => {
        const { ref: from } = await made();
        const to = await freshReference();
        await copyImage(from, to, copyOptions());
        const src = await to.newImageSource(options());
        try {
          const absent = digestOf(Buffer.from('absent'));
          await assert.rejects(readBlob(src, { digest: absent, size: 6 }), rejectsWithOneOf(BLOB_MISSING));
          await assert.rejects(src.getManifest(absent), rejectsWithOneOf(INSTANCE_MISSING));
        } finally {
          await src.close();
        }
      });
    });

    describe('concurrent writers', () => {
      it('two destinations on the same place: both images stay (shared) or the last commit wins whole (replace)', async (t) => {
        const mode = fixture.concurrentWriters;
        if (mode === undefined || fixture.siblingReference === undefined) return t.skip('one writer per place');
        const a = await made({ seed: 7001 });
        const b = await made({ seed: 7002 });
        const refA = await freshReference();
        const refB = fixture.siblingReference(refA);
        const copies = [copyImage(a.ref, refA, copyOptions()), copyImage(b.ref, refB, copyOptions())];
        await Promise.all(copies);
        const configOf = async (ref: ImageReference) => {
          const src = await ref.newImageSource(options());
          try {
            return (await imageIdentity(src, (await src.getManifest()).bytes)).diffIDs;
          } finally {
            await src.close();
          }
        };
        const diffIDs = (m: MadeImage) =>
          (
            JSON.parse((m.instances[0]?.config.bytes ?? Buffer.alloc(0)).toString('utf8')) as {
              rootfs: { diff_ids: string[] };
            }
          ).rootfs.diff_ids;
        if (mode === 'shared') {
          assert.deepEqual(await configOf(refA), diffIDs(a.image));
          assert.deepEqual(await configOf(refB), diffIDs(b.image));
        } else {
          // Either writer may commit last; what is there is one whole image, never a mix.
          const there = await configOf(refB);
          assert.ok(
            [diffIDs(a.image), diffIDs(b.image)].some((d) => JSON.stringify(d) === JSON.stringify(there)),
            'the place holds one of the two images, whole',
          );
        }
        await assertNoTemps();
      });
    });
  });
}
