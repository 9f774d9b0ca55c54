/**
 * A copy whose destination already holds the image (copy/noop.ts), against the real Distribution
 * registry, counting what the registry saw in its access log: a no-op registry→registry copy is one
 * ping, the source manifest GET and one destination manifest HEAD, and writes nothing; the shortcut
 * is not taken when the copy would write something (another image under the tag, a format change,
 * a signature, one platform of a list the destination holds whole).
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { copyImage, parseImageReference, RegistryClient } from '../../src/index.js';
import { countRequests, type RequestCounts } from '../../bench/requests.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

let work = '';
let reg: TestRegistry;
let image: MadeImage;
let other: MadeImage;
let multi: MadeImage;

const TLS = ['--src-tls-verify=false', '--dest-tls-verify=false'];

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stderr}`);
  return r;
}

/** The access-log lines written while `fn` ran, counted; pings apart. */
async function counted(fn: () => Promise<unknown>): Promise<{ counts: RequestCounts; pings: number; lines: string[] }> {
  const before = (await readFile(reg.logPath, 'utf8')).length;
  await fn();
  // The registry writes its access log line after the response: give it a moment.
  await new Promise((r) => setTimeout(r, 200));
  const log = (await readFile(reg.logPath, 'utf8')).slice(before);
  const lines = log.split('\n').filter((l) => /"(GET|HEAD|POST|PUT|PATCH|DELETE) \/v2\//.test(l));
  const pings = lines.filter((l) => /"GET \/v2\/ HTTP/.test(l)).length;
  return { counts: countRequests(log), pings, lines };
}

function writes(c: RequestCounts): number {
  return c.POST + c.PUT + c.PATCH + c.DELETE;
}

async function digestAt(repo: string, tag: string): Promise<string | undefined> {
  const client = await RegistryClient.create(reg.host, { tlsVerify: false });
  try {
    return (await client.headManifest(repo, tag))?.digest;
  } finally {
    await client.close();
  }
}

async function push(layout: string, tag: string, dest: string, ...flags: string[]): Promise<void> {
  ok(await runFerry(['copy', '-q', ...flags, ...TLS, `oci:${layout}:${tag}`, `docker://${reg.host}/${dest}`]), dest);
}

before(async () => {
  work = await makeTempDir('ferry-noop-copy-');
  [reg, image, other, multi] = await Promise.all([
    startRegistry({ accessLog: true }),
    makeImage(join(work, 'one'), { tag: 't', layers: 3, layerSize: 20_000, seed: 5 }),
    makeImage(join(work, 'other'), { tag: 't', layers: 2, layerSize: 20_000, seed: 6 }),
    makeImage(join(work, 'multi'), {
      tag: 'm',
      layers: 2,
      layerSize: 10_000,
      seed: 7,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    }),
  ]);
  await push(join(work, 'one'), 't', 'src/img:t');
  await push(join(work, 'multi'), 'm', 'src/multi:m', '--all');
});

after(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a copy to a registry that already holds the image', () => {
  it('registry→registry: one ping, ≤ 3 requests, nothing written, the digest still reported', async () => {
    await push(join(work, 'one'), 't', 'dst/img:t');
    const digestFile = join(work, 'noop.digest');
    const { counts, pings, lines } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          ...TLS,
          '--digestfile',
          digestFile,
          `docker://${reg.host}/src/img:t`,
          `docker://${reg.host}/dst/img:t`,
        ]),
        'no-op copy',
      ),
    );
    assert.equal(pings, 1, `one ping for the one registry:\n${lines.join('\n')}`);
    assert.ok(counts.GET + counts.HEAD - pings <= 3, `more than 3 requests:\n${lines.join('\n')}`);
    assert.equal(writes(counts), 0, `something was written:\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => /\/blobs\//.test(l)), `a blob was touched:\n${lines.join('\n')}`);
    assert.equal(await readFile(digestFile, 'utf8'), image.digest);
  });

  it('anything→registry: an OCI layout to a registry holding it costs one HEAD', async () => {
    await push(join(work, 'one'), 't', 'dst/layout:t');
    const { counts, pings, lines } = await counted(() => push(join(work, 'one'), 't', 'dst/layout:t'));
    assert.equal(writes(counts), 0, lines.join('\n'));
    assert.equal(counts.HEAD, 1, lines.join('\n'));
    assert.equal(counts.GET - pings, 0, lines.join('\n'));
  });

  it('a multi-arch copy (--all) of a list the destination holds writes nothing', async () => {
    await push(join(work, 'multi'), 'm', 'dst/multi:m', '--all');
    const { counts, lines } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          '-q',
          '--all',
          ...TLS,
          `docker://${reg.host}/src/multi:m`,
          `docker://${reg.host}/dst/multi:m`,
        ]),
        'copy --all',
      ),
    );
    assert.equal(writes(counts), 0, lines.join('\n'));
    assert.ok(!lines.some((l) => /\/blobs\//.test(l)), lines.join('\n'));
    assert.equal(await digestAt('dst/multi', 'm'), multi.digest);
  });
});

describe('the same shortcut for a destination named by digest and for an index alone', () => {
  it('a destination named by the digest it holds: one HEAD by digest, nothing written', async () => {
    await push(join(work, 'one'), 't', 'dst/bydigest:t');
    const { counts, pings, lines } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          '-q',
          ...TLS,
          `docker://${reg.host}/src/img:t`,
          `docker://${reg.host}/dst/bydigest@${image.digest}`,
        ]),
        'copy to a digest',
      ),
    );
    assert.equal(writes(counts), 0, lines.join('\n'));
    assert.ok(
      lines.some((l) => l.includes(`"HEAD /v2/dst/bydigest/manifests/${image.digest} `)),
      lines.join('\n'),
    );
    assert.ok(counts.GET + counts.HEAD - pings <= 3, lines.join('\n'));
  });

  it('--multi-arch index-only of an index the destination holds: no instance fetched, nothing written', async () => {
    await push(join(work, 'multi'), 'm', 'dst/indexonly:m', '--all');
    const { counts, pings, lines } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          '-q',
          '--multi-arch',
          'index-only',
          ...TLS,
          `docker://${reg.host}/src/multi:m`,
          `docker://${reg.host}/dst/indexonly:m`,
        ]),
        'copy --multi-arch index-only',
      ),
    );
    assert.equal(writes(counts), 0, lines.join('\n'));
    assert.equal(counts.GET - pings, 1, `only the index is read:\n${lines.join('\n')}`);
    assert.equal(counts.HEAD, 1, lines.join('\n'));
  });
});

describe('the shortcut is not taken when the copy would write something', () => {
  it('another image under the tag: it is replaced', async () => {
    await push(join(work, 'other'), 't', 'dst/replaced:t');
    const { counts } = await counted(async () =>
      ok(
        await runFerry(['copy', '-q', ...TLS, `docker://${reg.host}/src/img:t`, `docker://${reg.host}/dst/replaced:t`]),
        'copy',
      ),
    );
    assert.ok(counts.PUT >= 1, 'the manifest was not written');
    assert.equal(await digestAt('dst/replaced', 't'), image.digest);
    assert.notEqual(image.digest, other.digest);
  });

  it('a format change (-f v2s2): the Docker manifest is written over the OCI one', async () => {
    await push(join(work, 'one'), 't', 'dst/format:t');
    const { counts } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          '-q',
          '-f',
          'v2s2',
          ...TLS,
          `docker://${reg.host}/src/img:t`,
          `docker://${reg.host}/dst/format:t`,
        ]),
        'copy -f v2s2',
      ),
    );
    assert.ok(counts.PUT >= 1, 'the converted manifest was not written');
    const now = await digestAt('dst/format', 't');
    assert.ok(now !== undefined && now !== image.digest, `still ${now}`);
  });

  it('one platform of a list the destination holds whole: the instance replaces the list', async () => {
    await push(join(work, 'multi'), 'm', 'dst/system:m', '--all');
    const { counts } = await counted(async () =>
      ok(
        await runFerry([
          'copy',
          '-q',
          '--override-arch',
          'arm64',
          ...TLS,
          `docker://${reg.host}/src/multi:m`,
          `docker://${reg.host}/dst/system:m`,
        ]),
        'copy one platform',
      ),
    );
    assert.ok(counts.PUT >= 1, 'the instance manifest was not written');
    const arm = multi.instances.find((i) => i.platform.architecture === 'arm64');
    assert.equal(await digestAt('dst/system', 'm'), arm?.digest);
  });

  it('signing: the signature is written although the image is there', async () => {
    await push(join(work, 'one'), 't', 'dst/signed:t');
    const sigstore = join(work, 'sigstore');
    const registriesD = join(work, 'registries.d');
    await rm(registriesD, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(registriesD, { recursive: true }));
    await writeFile(
      join(registriesD, 'default.yaml'),
      `default-docker:\n  lookaside: file://${sigstore}\n  lookaside-staging: file://${sigstore}\n`,
    );
    const key = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ email: 'noop@ferry.invalid' }],
      format: 'armored',
    });
    const options = { tlsVerify: false, registriesDDir: registriesD };
    const messages: string[] = [];
    const result = await copyImage(
      parseImageReference(`docker://${reg.host}/src/img:t`),
      parseImageReference(`docker://${reg.host}/dst/signed:t`),
      {
        sourceOptions: options,
        destinationOptions: options,
        signing: { openpgpKey: { privateKey: key.privateKey } },
        onProgress: (e) => {
          if (e.kind === 'message') messages.push(e.text);
        },
      },
    );
    assert.equal(result.manifestDigest, image.digest);
    assert.equal(result.alreadyPresent, undefined);
    assert.ok(!messages.some((m) => m.startsWith('Skipping')), messages.join('\n'));
    const hex = image.digest.replace('sha256:', '');
    const sig = await readFile(join(sigstore, `dst/signed@sha256=${hex}`, 'signature-1'));
    assert.ok(sig.length > 0);
  });

  it('the library reports the skip and returns the exact source manifest', async () => {
    await push(join(work, 'one'), 't', 'dst/lib:t');
    const messages: string[] = [];
    const options = { tlsVerify: false };
    const result = await copyImage(
      parseImageReference(`docker://${reg.host}/src/img:t`),
      parseImageReference(`docker://${reg.host}/dst/lib:t`),
      {
        sourceOptions: options,
        destinationOptions: options,
        onProgress: (e) => {
          if (e.kind === 'message') messages.push(e.text);
        },
      },
    );
    assert.ok(result.manifest.equals(image.bytes));
    assert.equal(result.manifestDigest, image.digest);
    assert.equal(result.manifestMIMEType, image.mediaType);
    assert.equal(result.alreadyPresent, true);
    assert.deepEqual(messages, ['Skipping: image already present at destination']);
  });
});
