/**
 * OCI 1.1 referrers against the real Distribution registry (Debian's 2.8), which has no referrers
 * API: the referrers tag schema path for real. Pushing a manifest with a `subject` maintains the
 * `sha256-<hex>` tag index (no duplicates); `ferry referrers` lists it; `ferry copy --with-referrers`
 * carries the referrers (recursively), their blobs and a cosign-style `.sig` tag to a second registry
 * with identical digests; an artifact (non-image manifest) copies as-is. skopeo 1.9.3 has no referrers
 * support to compare with; what it can do (copy the artifact by digest) is compared.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  copyImage,
  type Digest,
  digestOf,
  listReferrers,
  parseImageReference,
  RegistryClient,
  referrersTag,
} from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const EMPTY = 'application/vnd.oci.empty.v1+json';
const SBOM_TYPE = 'application/spdx+json';
const SIG_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

let work = '';
let src: TestRegistry;
let dst: TestRegistry;
let srcClient: RegistryClient;
let dstClient: RegistryClient;
let subject: Digest;
let subjectSize = 0;
let sbom: Digest;
let sig: Digest;
let sigOfSbom: Digest;
let cosignTagDigest: Digest;

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

type Tool = (args: readonly string[]) => Promise<RunResult>;

/** `TOOL copy FLAGS FROM TO` between the test registries (plain HTTP both); asserts it worked. */
async function copyAcross(tool: Tool, from: string, to: string, flags: string[] = ['-q']): Promise<RunResult> {
  return ok(
    await tool(['copy', ...flags, '--src-tls-verify=false', '--dest-tls-verify=false', from, to]),
    `copy ${from} → ${to}`,
  );
}

/** `ferry copy -q FLAGS FROM TO` into a test registry (plain HTTP); asserts it worked. */
async function seed(from: string, to: string, flags: string[] = []): Promise<void> {
  ok(await runFerry(['copy', '-q', ...flags, '--dest-tls-verify=false', from, to]), `seed ${to}`);
}

async function pushBlob(
  client: RegistryClient,
  repo: string,
  bytes: Buffer,
): Promise<{ digest: Digest; size: number }> {
  const digest = digestOf(bytes);
  await client.uploadBlob(repo, Readable.from([bytes]), { digest, size: bytes.length });
  return { digest, size: bytes.length };
}

/** An OCI artifact manifest (image-spec v1.1 "Guidelines for Artifact Usage": empty config, artifactType). */
async function pushArtifact(
  repo: string,
  artifactType: string,
  content: string,
  subjectDesc: { digest: Digest; size: number; mediaType: string } | undefined,
  annotations: Record<string, string>,
): Promise<Digest> {
  const config = await pushBlob(srcClient, repo, Buffer.from('{}'));
  const layer = await pushBlob(srcClient, repo, Buffer.from(content));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: { mediaType: EMPTY, digest: config.digest, size: config.size },
      layers: [{ mediaType: artifactType, digest: layer.digest, size: layer.size }],
      ...(subjectDesc === undefined ? {} : { subject: subjectDesc }),
      annotations,
    }),
  );
  const digest = digestOf(manifest);
  await srcClient.putManifest(repo, digest, manifest, OCI_MANIFEST);
  return digest;
}

async function tagIndex(
  client: RegistryClient,
  repo: string,
  of: Digest,
): Promise<{ manifests: Record<string, unknown>[] }> {
  const m = await client.getManifest(repo, referrersTag(of));
  assert.equal(m.mimeType, OCI_INDEX);
  return JSON.parse(m.bytes.toString()) as { manifests: Record<string, unknown>[] };
}

before(async () => {
  work = await makeTempDir('ferry-referrers-');
  [src, dst] = await Promise.all([startRegistry(), startRegistry()]);
  await makeImage(join(work, 'oci'), { tag: 'v1', layers: 1, layerSize: 20_000, seed: 7 });
  await seed(`oci:${work}/oci:v1`, `docker://${src.host}/app:v1`);
  srcClient = await RegistryClient.create(src.host, { tlsVerify: false });
  dstClient = await RegistryClient.create(dst.host, { tlsVerify: false });
  const top = await srcClient.getManifest('app', 'v1');
  subject = top.digest;
  subjectSize = top.bytes.length;
});

after(async () => {
  await srcClient?.close();
  await dstClient?.close();
  await Promise.all([src?.stop(), dst?.stop()]);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('referrers on a registry without the referrers API (Distribution 2.8, tag schema)', () => {
  it('the registry really has no referrers API: 404 on /v2/<name>/referrers/<digest>', async () => {
    const res = await fetch(`${src.url}/v2/app/referrers/${subject}`);
    assert.equal(res.status, 404);
  });

  it('pushing manifests with a subject maintains the sha256-<hex> tag index, without duplicates', async () => {
    const subjectDesc = { mediaType: OCI_MANIFEST, digest: subject, size: subjectSize };
    sbom = await pushArtifact('app', SBOM_TYPE, '{"spdxVersion":"SPDX-2.3"}', subjectDesc, {
      'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
    });
    sig = await pushArtifact('app', SIG_TYPE, 'signature-bytes', subjectDesc, { 'dev.example/kind': 'sig' });
    const sbomBytes = (await srcClient.getManifest('app', sbom)).bytes;
    sigOfSbom = await pushArtifact(
      'app',
      SIG_TYPE,
      'sbom-signature',
      { mediaType: OCI_MANIFEST, digest: sbom, size: sbomBytes.length },
      {},
    );
    // Pushed again: still one entry.
    await srcClient.putManifest('app', sbom, sbomBytes, OCI_MANIFEST);

    const index = await tagIndex(srcClient, 'app', subject);
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, d.artifactType]),
      [
        [sbom, SBOM_TYPE],
        [sig, SIG_TYPE],
      ],
    );
    assert.deepEqual(index.manifests[0]?.annotations, { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' });
    assert.equal(index.manifests[0]?.size, sbomBytes.length);
    const nested = await tagIndex(srcClient, 'app', sbom);
    assert.deepEqual(
      nested.manifests.map((d) => d.digest),
      [sigOfSbom],
    );
  });

  it('listReferrers reads the tag schema, filters by artifactType', async () => {
    const ref = parseImageReference(`docker://${src.host}/app:v1`);
    const all = await listReferrers(ref, { tlsVerify: false });
    assert.equal(all.source, 'tag-schema');
    assert.equal(all.subject, subject);
    assert.deepEqual(
      all.manifests.map((d) => d.digest),
      [sbom, sig],
    );
    const sboms = await listReferrers(ref, { tlsVerify: false, artifactType: SBOM_TYPE });
    assert.deepEqual(
      sboms.manifests.map((d) => d.digest),
      [sbom],
    );
    assert.equal(sboms.filtersApplied, false);
    const none = await listReferrers(parseImageReference(`docker://${src.host}/app@${sigOfSbom}`), {
      tlsVerify: false,
    });
    assert.deepEqual(none.manifests, []);
  });

  it('ferry referrers prints a table and the OCI index as JSON', async () => {
    const table = ok(
      await runFerry(['referrers', '--tls-verify=false', `docker://${src.host}/app:v1`]),
      'referrers',
    ).stdout;
    const lines = table.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^DIGEST\s+ARTIFACT TYPE\s+SIZE\s+ANNOTATIONS$/);
    assert.equal(lines.length, 3);
    assert.ok(
      lines[1]?.startsWith(sbom) &&
        lines[1].includes(SBOM_TYPE) &&
        lines[1].includes('org.opencontainers.image.created='),
    );
    assert.ok(lines[2]?.startsWith(sig));
    const json = ok(
      await runFerry([
        'referrers',
        '--tls-verify=false',
        '--format',
        'json',
        '--artifact-type',
        SIG_TYPE,
        `docker://${src.host}/app@${subject}`,
      ]),
      'referrers json',
    ).stdout;
    const parsed = JSON.parse(json) as { schemaVersion: number; mediaType: string; manifests: { digest: string }[] };
    assert.equal(parsed.schemaVersion, 2);
    assert.equal(parsed.mediaType, OCI_INDEX);
    assert.deepEqual(
      parsed.manifests.map((d) => d.digest),
      [sig],
    );
    // Refused by the transport's capability, before the (absent) directory is opened.
    const bad = await runFerry(['referrers', `dir:${work}/nowhere`]);
    assert.notEqual(bad.code, 0);
    assert.equal(
      bad.stderr,
      `ferry: cannot list the referrers of "dir:${work}/nowhere": the dir transport holds no referrers (only docker and oci images do)\n`,
    );
  });

  it('ferry copy --with-referrers carries referrers (recursively) and the cosign .sig tag, digests unchanged', async () => {
    // A cosign-style signature tag (cosign SIGNATURE_SPEC: `sha256-<hex>.sig`, an OCI manifest of simplesigning layers).
    const config = await pushBlob(
      srcClient,
      'app',
      Buffer.from('{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'),
    );
    const payload = await pushBlob(srcClient, 'app', Buffer.from('{"critical":{}}'));
    const cosign = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            ...payload,
            annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' },
          },
        ],
      }),
    );
    const cosignTag = `${referrersTag(subject)}.sig`;
    cosignTagDigest = await srcClient.putManifest('app', cosignTag, cosign, OCI_MANIFEST);

    const r = await copyAcross(runFerry, `docker://${src.host}/app:v1`, `docker://${dst.host}/mirror/app:v1`, [
      '--with-referrers',
    ]);
    assert.match(r.stderr + r.stdout, /referrer/i);
    assert.equal((await dstClient.getManifest('mirror/app', 'v1')).digest, subject);
    for (const d of [sbom, sig, sigOfSbom]) {
      const a = await srcClient.getManifest('app', d);
      const b = await dstClient.getManifest('mirror/app', d);
      assert.ok(a.bytes.equals(b.bytes), `referrer ${d} differs in the destination`);
    }
    // The referrer's blobs arrived (the SBOM layer readable, digest-checked by the client).
    const sbomManifest = JSON.parse((await dstClient.getManifest('mirror/app', sbom)).bytes.toString()) as {
      layers: { digest: Digest }[];
    };
    const layer = sbomManifest.layers[0]?.digest as Digest;
    assert.ok((await dstClient.blobExists('mirror/app', layer)) !== undefined);
    // The destination (also without API) got its own tag indexes.
    assert.deepEqual(
      (await tagIndex(dstClient, 'mirror/app', subject)).manifests.map((d) => d.digest).sort(),
      [sbom, sig].sort(),
    );
    assert.deepEqual(
      (await tagIndex(dstClient, 'mirror/app', sbom)).manifests.map((d) => d.digest),
      [sigOfSbom],
    );
    assert.equal((await dstClient.getManifest('mirror/app', cosignTag)).digest, cosignTagDigest);
    const listed = await listReferrers(parseImageReference(`docker://${dst.host}/mirror/app:v1`), { tlsVerify: false });
    assert.equal(listed.manifests.length, 2);
  });

  it('without --with-referrers nothing is carried', async () => {
    await copyAcross(runFerry, `docker://${src.host}/app:v1`, `docker://${dst.host}/bare/app:v1`);
    assert.equal(await dstClient.headManifest('bare/app', referrersTag(subject)), undefined);
    assert.equal(await dstClient.headManifest('bare/app', sbom), undefined);
  });

  it('--with-referrers into an oci: layout lists referrers in index.json (untagged, as oras does) and back out', async () => {
    const out = `oci:${work}/out:v1`;
    ok(
      await runFerry(['copy', '-q', '--with-referrers', '--src-tls-verify=false', `docker://${src.host}/app:v1`, out]),
      'copy to oci with referrers',
    );
    const index = JSON.parse(await readFile(join(work, 'out', 'index.json'), 'utf8')) as {
      manifests: { digest: string; artifactType?: string; annotations?: Record<string, string> }[];
    };
    const refName = (d: { annotations?: Record<string, string> }) =>
      d.annotations?.['org.opencontainers.image.ref.name'];
    assert.deepEqual(
      index.manifests.map((d) => [d.digest, refName(d) ?? null]),
      [
        [subject, 'v1'],
        [sbom, null],
        [sig, null],
        [cosignTagDigest, `${referrersTag(subject)}.sig`],
        [sigOfSbom, null],
      ],
    );
    assert.equal(index.manifests[1]?.artifactType, SBOM_TYPE);
    // skopeo still reads the image by its name.
    const raw = ok(await runSkopeo(['inspect', '--raw', out]), 'skopeo inspect').stdout;
    assert.equal(digestOf(Buffer.from(raw)), subject);
    const listed = JSON.parse(ok(await runFerry(['referrers', '--format', 'json', out]), 'referrers oci').stdout) as {
      manifests: { digest: string }[];
    };
    assert.deepEqual(listed.manifests.map((d) => d.digest).sort(), [sbom, sig].sort());
    // And back into a registry: the tag index and the cosign tag are rebuilt there.
    ok(
      await runFerry([
        'copy',
        '-q',
        '--with-referrers',
        '--dest-tls-verify=false',
        out,
        `docker://${dst.host}/back/app:v1`,
      ]),
      'copy from oci with referrers',
    );
    assert.deepEqual(
      (await tagIndex(dstClient, 'back/app', subject)).manifests.map((d) => d.digest).sort(),
      [sbom, sig].sort(),
    );
    assert.equal((await dstClient.getManifest('back/app', `${referrersTag(subject)}.sig`)).digest, cosignTagDigest);
    assert.equal((await dstClient.getManifest('back/app', sigOfSbom)).digest, sigOfSbom);
  });

  it('--with-referrers to a dir: destination is refused clearly', async () => {
    const r = await runFerry([
      'copy',
      '-q',
      '--with-referrers',
      '--src-tls-verify=false',
      `docker://${src.host}/app:v1`,
      `dir:${work}/dir-out`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot hold referrers/);
  });

  it('an artifact copies as-is (same digest), as skopeo copies it', async () => {
    await copyAcross(runFerry, `docker://${src.host}/app@${sbom}`, `docker://${dst.host}/artifacts/sbom:ferry`);
    assert.equal((await dstClient.getManifest('artifacts/sbom', 'ferry')).digest, sbom);
    // A cosign signature manifest (an OCI image config, but a layer of a non-layer media type) copies as-is
    // too, as skopeo copies it (before, Ferry gzipped the payload and called it a tar+gzip layer).
    const cosignTag = `docker://${src.host}/app:${referrersTag(subject)}.sig`;
    await copyAcross(runFerry, cosignTag, `docker://${dst.host}/artifacts/sig:ferry`);
    assert.equal((await dstClient.getManifest('artifacts/sig', 'ferry')).digest, cosignTagDigest);
    await copyAcross(runSkopeo, cosignTag, `docker://${dst.host}/artifacts/sig:skopeo`);
    assert.equal((await dstClient.getManifest('artifacts/sig', 'skopeo')).digest, cosignTagDigest);
    await copyAcross(runSkopeo, `docker://${src.host}/app@${sbom}`, `docker://${dst.host}/artifacts/sbom:skopeo`);
    assert.equal((await dstClient.getManifest('artifacts/sbom', 'skopeo')).digest, sbom);
  });
});

describe('referrers of a multi-arch image, and a listing that lies', () => {
  it('copyImage withReferrers + all instances: referrers of the index and of an instance arrive', async () => {
    const made = await makeImage(join(work, 'multi'), {
      tag: 'm1',
      layers: 1,
      layerSize: 5_000,
      seed: 9,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    await seed(`oci:${work}/multi:m1`, `docker://${src.host}/multi:m1`, ['--all']);
    const instance = made.instances[1] as { digest: string; size: number };
    const onIndex = await pushArtifact(
      'multi',
      SBOM_TYPE,
      'index-sbom',
      { mediaType: OCI_INDEX, digest: made.digest as Digest, size: made.size },
      {},
    );
    const onInstance = await pushArtifact(
      'multi',
      SIG_TYPE,
      'arm64-sig',
      { mediaType: OCI_MANIFEST, digest: instance.digest as Digest, size: instance.size },
      {},
    );
    // A cosign attestation tag on the instance (`.att`).
    const att = await pushArtifact(
      'multi',
      'application/vnd.dsse.envelope.v1+json',
      'dsse',
      { mediaType: OCI_MANIFEST, digest: onInstance, size: 1 },
      {},
    );
    const attBytes = (await srcClient.getManifest('multi', att)).bytes;
    const attTag = `${referrersTag(instance.digest as Digest)}.att`;
    await srcClient.putManifest('multi', attTag, attBytes, OCI_MANIFEST);

    const messages: string[] = [];
    const result = await copyImage(
      parseImageReference(`docker://${src.host}/multi:m1`),
      parseImageReference(`docker://${dst.host}/multi:m1`),
      {
        withReferrers: true,
        imageListSelection: 'all',
        sourceOptions: { tlsVerify: false },
        destinationOptions: { tlsVerify: false },
        onProgress: (e) => {
          if (e.kind === 'message') messages.push(e.text);
        },
      },
    );
    assert.equal(result.manifestDigest, made.digest);
    for (const d of [onIndex, onInstance]) {
      assert.equal((await dstClient.getManifest('multi', d)).digest, d);
    }
    assert.deepEqual(
      (await tagIndex(dstClient, 'multi', made.digest as Digest)).manifests.map((d) => d.digest),
      [onIndex],
    );
    assert.deepEqual(
      (await tagIndex(dstClient, 'multi', instance.digest as Digest)).manifests.map((d) => d.digest),
      [onInstance],
    );
    assert.equal((await dstClient.getManifest('multi', attTag)).digest, att);
    assert.ok(messages.some((m) => m.includes(`cosign attachment ${attTag}`)));
  });

  it('a tag index listing a manifest whose subject is another image: skipped, not copied', async () => {
    await seed(`oci:${work}/oci:v1`, `docker://${src.host}/liar:v1`);
    // liar:v1 is app:v1's manifest; its tag index (written by hand) lists a copy of the SBOM whose
    // subject is another digest: the listing names it, the manifest disagrees.
    const other = digestOf(Buffer.from('another image'));
    const sbomBytes = (await srcClient.getManifest('app', sbom)).bytes;
    const sbomManifest = JSON.parse(sbomBytes.toString()) as {
      config: { digest: Digest };
      layers: { digest: Digest }[];
    };
    for (const b of [sbomManifest.config, ...sbomManifest.layers]) {
      await srcClient.mountBlob('liar', b.digest, 'app');
    }
    const liarSubject = (await srcClient.getManifest('liar', 'v1')).digest;
    assert.equal(liarSubject, subject);
    const fakeSubjectManifest = Buffer.from(
      JSON.stringify({
        ...JSON.parse(sbomBytes.toString()),
        subject: { mediaType: OCI_MANIFEST, digest: other, size: 13 },
      }),
    );
    const fake = digestOf(fakeSubjectManifest);
    await srcClient.putManifest('liar', fake, fakeSubjectManifest, OCI_MANIFEST);
    const lieWithFake = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [{ mediaType: OCI_MANIFEST, digest: fake, size: fakeSubjectManifest.length }],
      }),
    );
    await srcClient.putManifest('liar', referrersTag(subject), lieWithFake, OCI_INDEX);
    const r = await copyAcross(runFerry, `docker://${src.host}/liar:v1`, `docker://${dst.host}/liar:v1`, [
      '--with-referrers',
    ]);
    assert.match(r.stderr + r.stdout, new RegExp(`referrer ${fake} of ${subject} skipped: its subject is "${other}"`));
    assert.equal(await dstClient.headManifest('liar', fake), undefined);
    assert.equal(await dstClient.headManifest('liar', referrersTag(subject)), undefined);
  });
});

describe('referrers of the manifests inside a referrer that is an index', () => {
  it('copy --with-referrers carries the referrer of a manifest inside an attestation index', async () => {
    await seed(`oci:${work}/oci:v1`, `docker://${src.host}/nest:v1`);
    // image ← attestation index (subject: the image) ∋ attestation manifest ← signature (subject: the attestation).
    const attestation = await pushArtifact(
      'nest',
      'application/vnd.in-toto+json',
      '{"_type":"https://in-toto.io/Statement/v1"}',
      undefined,
      {},
    );
    const attestationSize = (await srcClient.getManifest('nest', attestation)).bytes.length;
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        artifactType: 'application/vnd.example.attestations',
        manifests: [{ mediaType: OCI_MANIFEST, digest: attestation, size: attestationSize }],
        subject: { mediaType: OCI_MANIFEST, digest: subject, size: subjectSize },
      }),
    );
    const attestationIndex = digestOf(index);
    await srcClient.putManifest('nest', attestationIndex, index, OCI_INDEX);
    const nestedSig = await pushArtifact(
      'nest',
      SIG_TYPE,
      'attestation-signature',
      { mediaType: OCI_MANIFEST, digest: attestation, size: attestationSize },
      {},
    );
    assert.deepEqual(
      (await tagIndex(srcClient, 'nest', attestation)).manifests.map((d) => d.digest),
      [nestedSig],
    );

    const r = await copyAcross(runFerry, `docker://${src.host}/nest:v1`, `docker://${dst.host}/nest-copy:v1`, [
      '--with-referrers',
    ]);
    assert.match(r.stderr + r.stdout, new RegExp(`Copying referrer ${nestedSig} .* of ${attestation}`));
    for (const d of [attestationIndex, attestation, nestedSig]) {
      assert.equal((await dstClient.getManifest('nest-copy', d)).digest, d);
    }
    assert.deepEqual(
      (await tagIndex(dstClient, 'nest-copy', subject)).manifests.map((d) => d.digest),
      [attestationIndex],
    );
    assert.deepEqual(
      (await tagIndex(dstClient, 'nest-copy', attestation)).manifests.map((d) => d.digest),
      [nestedSig],
    );
    // The nested referrer's blobs arrived too.
    const sigManifest = JSON.parse((await dstClient.getManifest('nest-copy', nestedSig)).bytes.toString()) as {
      layers: { digest: Digest }[];
    };
    assert.ok((await dstClient.blobExists('nest-copy', sigManifest.layers[0]?.digest as Digest)) !== undefined);
  });
});
