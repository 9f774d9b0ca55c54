/**
 * The interoperability matrix with the real skopeo, over oci, oci-archive, dir and docker-archive,
 * both directions: what Ferry writes skopeo reads and copies back, what skopeo writes Ferry reads
 * and copies, with equal manifest and config digests wherever the format keeps them (docker-archive
 * re-synthesises the manifest and stores layers uncompressed: there the config bytes and the layer
 * diff IDs are compared). Images are small (2 layers × 64 KiB) so this runs in `npm test`.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { blobPath, type MadeImage, makeImage } from '../helpers/make-image.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

let work = '';
let single: MadeImage;
let multi: MadeImage;
let zstd: MadeImage;
let src = '';

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

/** The digest index.json records for `tag` in an OCI layout. */
async function taggedDigest(layout: string, tag: string): Promise<string | undefined> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
}

interface InspectJSON {
  Digest: string;
  Layers: string[];
  Architecture: string;
  Os: string;
  Env: string[] | null;
  Labels: Record<string, string> | null;
}

async function skopeoInspect(ref: string): Promise<InspectJSON> {
  return JSON.parse(ok(await runSkopeo(['inspect', ref]), `skopeo inspect ${ref}`).stdout) as InspectJSON;
}

async function ferryInspect(ref: string): Promise<InspectJSON> {
  return JSON.parse(ok(await runFerry(['inspect', ref]), `ferry inspect ${ref}`).stdout) as InspectJSON;
}

function assertAgree(ferry: InspectJSON, skopeo: InspectJSON): void {
  for (const key of ['Digest', 'Layers', 'Architecture', 'Os', 'Env', 'Labels'] as const) {
    assert.deepEqual(ferry[key], skopeo[key], `inspect field ${key}`);
  }
}

/** A fresh path under the work dir for each use. */
let counter = 0;
function fresh(name: string): string {
  counter++;
  return path.join(work, `${name}-${counter}`);
}

interface Kind {
  name: string;
  /** A destination (and source) reference for a fresh location with tag `tag`. */
  ref(tag: string): string;
  /** Whether the manifest survives byte for byte. */
  keepsManifest: boolean;
  multiArch: boolean;
}

const kinds: Kind[] = [
  { name: 'oci', ref: (tag) => `oci:${fresh('oci')}:${tag}`, keepsManifest: true, multiArch: true },
  {
    name: 'oci-archive',
    ref: (tag) => `oci-archive:${fresh('oci-archive')}.tar:${tag}`,
    keepsManifest: true,
    multiArch: true,
  },
  { name: 'dir', ref: () => `dir:${fresh('dir')}`, keepsManifest: true, multiArch: true },
  {
    name: 'docker-archive',
    ref: (tag) => `docker-archive:${fresh('docker-archive')}.tar:ferry/img:${tag}`,
    keepsManifest: false,
    multiArch: false,
  },
];

/**
 * For docker-archive, which stores the config as is but re-synthesises the manifest (and stores
 * layers uncompressed): the config bytes and digest are the source's.
 */
async function assertSameConfig(ref: string, reader: 'ferry' | 'skopeo'): Promise<void> {
  const run = reader === 'ferry' ? runFerry : runSkopeo;
  const config = ok(await run(['inspect', '--config', '--raw', ref]), `${reader} inspect --config --raw ${ref}`).stdout;
  const instance = single.instances[0]!;
  assert.equal(config, instance.config.bytes.toString('utf8'));
  const raw = JSON.parse(ok(await run(['inspect', '--raw', ref]), `${reader} inspect --raw ${ref}`).stdout) as {
    config: { digest: string };
  };
  assert.equal(raw.config.digest, instance.config.digest);
}

/**
 * After a copy that converts the manifest (docker-archive → oci), the config is re-serialised by
 * whoever converted it: the layer diff IDs in it are what must survive.
 */
async function assertSameDiffIDs(ref: string, reader: 'ferry' | 'skopeo'): Promise<void> {
  const run = reader === 'ferry' ? runFerry : runSkopeo;
  const config = JSON.parse(
    ok(await run(['inspect', '--config', '--raw', ref]), `${reader} inspect --config --raw ${ref}`).stdout,
  ) as {
    rootfs: { diff_ids: string[] };
  };
  assert.deepEqual(
    config.rootfs.diff_ids,
    single.instances[0]?.layers.map((l) => l.diffID),
  );
}

describe('interop matrix with skopeo', { concurrency: 4 }, () => {
  before(async () => {
    work = await makeTempDir('ferry-interop-');
    src = path.join(work, 'src');
    single = await makeImage(src, { tag: 't', layers: 2, layerSize: 65536, labels: { 'org.example.name': 'a&b <c>' } });
    multi = await makeImage(src, {
      tag: 'm',
      layers: 2,
      layerSize: 65536,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    zstd = await makeImage(src, { tag: 'z', layers: 2, layerSize: 65536, compression: 'zstd', seed: 4 });
  });
  after(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('ferry inspect and skopeo inspect agree on an OCI layout', async () => {
    assertAgree(await ferryInspect(`oci:${src}:t`), await skopeoInspect(`oci:${src}:t`));
    assertAgree(await ferryInspect(`oci:${src}:m`), await skopeoInspect(`oci:${src}:m`));
  });

  for (const kind of kinds) {
    it(`Ferry writes ${kind.name}; skopeo inspects it and copies it back`, async () => {
      const dest = kind.ref('t');
      ok(await runFerry(['copy', '-q', `oci:${src}:t`, dest]), `ferry copy to ${dest}`);
      const readRef = kind.name === 'docker-archive' ? dest.replace(/:ferry\/img:t$/, '') : dest;
      const seen = await skopeoInspect(readRef);
      const back = fresh('back');
      ok(await runSkopeo(['copy', '-q', readRef, `oci:${back}:t`]), `skopeo copy ${readRef}`);
      if (kind.keepsManifest) {
        assert.equal(seen.Digest, single.digest);
        assert.deepEqual(
          seen.Layers,
          single.instances[0]?.layers.map((l) => l.digest),
        );
        assert.equal(await taggedDigest(back, 't'), single.digest);
      } else {
        assert.deepEqual(
          seen.Layers,
          single.instances[0]?.layers.map((l) => l.diffID),
        );
        await assertSameConfig(readRef, 'skopeo');
        await assertSameDiffIDs(`oci:${back}:t`, 'skopeo');
      }
    });

    it(`skopeo writes ${kind.name}; Ferry inspects it and copies it`, async () => {
      const dest = kind.ref('t');
      ok(await runSkopeo(['copy', '-q', `oci:${src}:t`, dest]), `skopeo copy to ${dest}`);
      const readRef = kind.name === 'docker-archive' ? dest.replace(/:ferry\/img:t$/, '') : dest;
      const ferrySeen = await ferryInspect(readRef);
      const skopeoSeen = await skopeoInspect(readRef);
      if (kind.keepsManifest) {
        assertAgree(ferrySeen, skopeoSeen);
        const ferryRaw = ok(await runFerry(['inspect', '--raw', readRef]), 'ferry inspect --raw').stdout;
        const skopeoRaw = ok(await runSkopeo(['inspect', '--raw', readRef]), 'skopeo inspect --raw').stdout;
        assert.equal(ferryRaw, skopeoRaw);
      } else {
        // Each tool synthesises its own manifest (skopeo labels the uncompressed layers .tar.gzip).
        assertAgree({ ...ferrySeen, Digest: '' }, { ...skopeoSeen, Digest: '' });
        assert.deepEqual(
          ferrySeen.Layers,
          single.instances[0]?.layers.map((l) => l.diffID),
        );
      }
      const back = fresh('back');
      ok(await runFerry(['copy', '-q', readRef, `oci:${back}:t`]), `ferry copy ${readRef}`);
      if (kind.keepsManifest) {
        assert.equal(await taggedDigest(back, 't'), single.digest);
      } else {
        await assertSameConfig(readRef, 'ferry');
        await assertSameDiffIDs(`oci:${back}:t`, 'ferry');
        await assertSameDiffIDs(`oci:${back}:t`, 'skopeo');
        const reread = await skopeoInspect(`oci:${back}:t`);
        assert.equal(reread.Layers.length, 2);
      }
    });

    if (kind.multiArch) {
      it(`multi-arch --all through ${kind.name} keeps the index bytes, both directions`, async () => {
        const byFerry = kind.ref('m');
        ok(await runFerry(['copy', '-q', '--all', `oci:${src}:m`, byFerry]), `ferry copy --all to ${byFerry}`);
        const raw = ok(await runSkopeo(['inspect', '--raw', byFerry]), 'skopeo inspect --raw').stdout;
        assert.equal(raw, multi.bytes.toString('utf8'));
        const back = fresh('back');
        ok(await runSkopeo(['copy', '-q', '--all', byFerry, `oci:${back}:m`]), 'skopeo copy --all back');
        assert.equal(await taggedDigest(back, 'm'), multi.digest);

        const bySkopeo = kind.ref('m');
        ok(await runSkopeo(['copy', '-q', '--all', `oci:${src}:m`, bySkopeo]), `skopeo copy --all to ${bySkopeo}`);
        const ferryRaw = ok(await runFerry(['inspect', '--raw', bySkopeo]), 'ferry inspect --raw').stdout;
        assert.equal(ferryRaw, multi.bytes.toString('utf8'));
        const back2 = fresh('back');
        ok(await runFerry(['copy', '-q', '--all', bySkopeo, `oci:${back2}:m`]), 'ferry copy --all back');
        assert.equal(await taggedDigest(back2, 'm'), multi.digest);
        for (const instance of multi.instances) assert.ok(existsSync(blobPath(back2, instance.digest)));
      });
    }
  }

  it('a docker-archive written by Ferry with an additional tag is readable by skopeo under both names', async () => {
    const file = `${fresh('tags')}.tar`;
    ok(
      await runFerry([
        'copy',
        '-q',
        '--additional-tag',
        'ferry/other:v2',
        `oci:${src}:t`,
        `docker-archive:${file}:ferry/img:t`,
      ]),
      'ferry copy with --additional-tag',
    );
    const plain = await skopeoInspect(`docker-archive:${file}`);
    assert.deepEqual(
      plain.Layers,
      single.instances[0]?.layers.map((l) => l.diffID),
    );
    const other = await skopeoInspect(`docker-archive:${file}:ferry/other:v2`);
    assert.equal(other.Digest, plain.Digest);
  });

  it('zstd layers pass through Ferry unchanged, both directions', async () => {
    const byFerry = fresh('zf');
    ok(await runFerry(['copy', '-q', `oci:${src}:z`, `oci:${byFerry}:z`]), 'ferry copy zstd');
    assert.equal((await skopeoInspect(`oci:${byFerry}:z`)).Digest, zstd.digest);
    const bySkopeo = fresh('zs');
    ok(await runSkopeo(['copy', '-q', `oci:${src}:z`, `dir:${bySkopeo}`]), 'skopeo copy zstd');
    const back = fresh('back');
    ok(await runFerry(['copy', '-q', `dir:${bySkopeo}`, `oci:${back}:z`]), 'ferry copy zstd back');
    assert.equal(await taggedDigest(back, 'z'), zstd.digest);
  });

  it('layers Ferry recompresses to zstd decompress, in skopeo, to the original diff IDs', async () => {
    const recompressed = fresh('rz');
    ok(
      await runFerry(['copy', '-q', '--dest-compress-format', 'zstd', `oci:${src}:t`, `oci:${recompressed}:t`]),
      'ferry copy --dest-compress-format zstd',
    );
    const raw = JSON.parse(
      ok(await runSkopeo(['inspect', '--raw', `oci:${recompressed}:t`]), 'skopeo inspect --raw').stdout,
    ) as {
      layers: { mediaType: string }[];
    };
    assert.deepEqual(
      raw.layers.map((l) => l.mediaType),
      ['application/vnd.oci.image.layer.v1.tar+zstd', 'application/vnd.oci.image.layer.v1.tar+zstd'],
    );
    const plain = fresh('plain');
    ok(
      await runSkopeo(['copy', '-q', '--dest-decompress', `oci:${recompressed}:t`, `dir:${plain}`]),
      'skopeo decompress',
    );
    for (const layer of single.instances[0]!.layers) {
      const bytes = await readFile(path.join(plain, layer.diffID.slice(7)));
      assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, layer.diffID);
    }
  });

  describe('bad input through the CLI', () => {
    /** A copy of the single image in its own layout, to break. */
    async function breakable(): Promise<{ layout: string; made: MadeImage }> {
      const layout = fresh('bad');
      return { layout, made: await makeImage(layout, { tag: 't', layers: 2, layerSize: 65536 }) };
    }

    /** A destination layout that already holds another image, to check it is left unchanged. */
    async function existingDestination(): Promise<{ layout: string; index: string }> {
      const layout = fresh('dest');
      await makeImage(layout, { tag: 'keep', layers: 1, layerSize: 1024, seed: 9 });
      return { layout, index: await readFile(path.join(layout, 'index.json'), 'utf8') };
    }

    it('a corrupt layer blob fails the copy with a digest mismatch and leaves the destination unchanged', async () => {
      const { layout, made } = await breakable();
      const layer = made.instances[0]!.layers[1]!;
      const bytes = await readFile(blobPath(layout, layer.digest));
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0xff;
      await writeFile(blobPath(layout, layer.digest), bytes);
      const dest = await existingDestination();
      const r = await runFerry(['copy', '-q', `oci:${layout}:t`, `oci:${dest.layout}:t`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /digest/i);
      assert.equal(await readFile(path.join(dest.layout, 'index.json'), 'utf8'), dest.index);
      assert.equal(await taggedDigest(dest.layout, 't'), undefined);
      const dirDest = fresh('dirdest');
      const r2 = await runFerry(['copy', '-q', `oci:${layout}:t`, `dir:${dirDest}`]);
      assert.notEqual(r2.code, 0);
      assert.ok(!existsSync(path.join(dirDest, 'manifest.json')));
    });

    it('a missing blob fails the copy naming the blob', async () => {
      const { layout, made } = await breakable();
      const layer = made.instances[0]!.layers[0]!;
      await rm(blobPath(layout, layer.digest));
      const dest = await existingDestination();
      const r = await runFerry(['copy', '-q', `oci:${layout}:t`, `oci:${dest.layout}:t`]);
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.includes(layer.digest.slice(7, 19)), r.stderr);
      assert.equal(await readFile(path.join(dest.layout, 'index.json'), 'utf8'), dest.index);
    });

    it('an index.json that is not JSON fails inspect and copy', async () => {
      const { layout } = await breakable();
      await writeFile(path.join(layout, 'index.json'), 'not json {');
      const inspect = await runFerry(['inspect', `oci:${layout}:t`]);
      assert.notEqual(inspect.code, 0);
      assert.match(inspect.stderr, /index\.json/);
      const copy = await runFerry(['copy', '-q', `oci:${layout}:t`, `dir:${fresh('x')}`]);
      assert.notEqual(copy.code, 0);
      assert.match(copy.stderr, /index\.json/);
    });
  });
});
