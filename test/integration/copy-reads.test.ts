/**
 * What one copy asks a registry, counted from the real registry's access log and from the http
 * lookaside's own log (Python's static file server): under a policy that must look at the image, the
 * policy check, the no-op check and the copy share one reading of the source's manifest and signatures
 * (copy/source-reads.ts); a copy that writes asks for the destination tag once (the no-op check's
 * HEAD serves the manifest write too), and still writes nothing the tag already names.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { copyImage, parseImageReference, RegistryClient } from '../../src/index.js';
import type { CopyOptions } from '../../src/copy/types.js';
import { generateSigstoreKeyPair } from '../../src/signature/sigstore/private-key.js';
import { installed } from '../helpers/gpg.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { freePort, probe, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const skip = installed('python3') ? false : 'python3 (the http lookaside server) not installed';

let work = '';
let reg: TestRegistry;
let web: ChildProcess | undefined;
let webLog = '';
let image: MadeImage;
let other: MadeImage;
let multi: MadeImage;
let registriesD = '';
let signing: NonNullable<CopyOptions['signing']>;
let policy = ''; // policy.json path

const SIGSTORE_PASS = 'reads';

/** Every request line (`METHOD path`) the registry and the lookaside server saw while `fn` ran. */
async function seen(fn: () => Promise<unknown>): Promise<{ registry: string[]; lookaside: string[] }> {
  const regBefore = (await readFile(reg.logPath, 'utf8')).length;
  const webBefore = webLog.length;
  await fn();
  // Both servers log after the response: give them a moment.
  await new Promise((r) => setTimeout(r, 200));
  const lines = (log: string) =>
    [...log.matchAll(/"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP\/[0-9.]+"/g)].map((m) => `${m[1]} ${m[2]}`);
  return {
    registry: lines((await readFile(reg.logPath, 'utf8')).slice(regBefore)).filter((l) => l !== 'GET /v2/'),
    lookaside: lines(webLog.slice(webBefore)),
  };
}

/** The lines asked more than once. */
function repeated(lines: string[]): string[] {
  return lines.filter((l, i) => lines.indexOf(l) !== i);
}

const count = (lines: string[], line: string): number => lines.filter((l) => l === line).length;

const hex = (digest: string): string => digest.replace(/^sha256:/, '');

/** Registry options for both ends (`sourceOptions` of `extra` added to the source's). */
function options(extra: CopyOptions = {}): CopyOptions {
  const o = { tlsVerify: false, registriesDDir: registriesD };
  return { ...extra, sourceOptions: { ...o, ...extra.sourceOptions }, destinationOptions: o };
}

function copy(from: string, to: string, extra: CopyOptions = {}): Promise<unknown> {
  return copyImage(parseImageReference(from), parseImageReference(to), options(extra));
}

before(async () => {
  if (skip) return;
  work = await makeTempDir('ferry-copy-reads-');
  const staging = join(work, 'staging');
  await mkdir(staging);
  registriesD = join(work, 'registries.d');
  await mkdir(registriesD);
  const port = await freePort();
  // Signatures are read over http (each read is a request) and written through file:// staging.
  await writeFile(
    join(registriesD, 'default.yaml'),
    [
      'default-docker:',
      `  lookaside: http://127.0.0.1:${port}`,
      `  lookaside-staging: file://${staging}`,
      '  use-sigstore-attachments: true',
      '',
    ].join('\n'),
  );
  web = spawn('python3', ['-u', '-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', staging], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  web.stderr?.on('data', (d: Buffer) => {
    webLog += d.toString();
  });
  const pgp = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ email: 'reads@ferry.invalid' }],
    format: 'armored',
  });
  const sigstore = await generateSigstoreKeyPair(SIGSTORE_PASS);
  await writeFile(join(work, 'pgp.asc'), pgp.publicKey);
  await writeFile(join(work, 'sigstore.pub'), sigstore.publicKeyPEM);
  signing = {
    openpgpKey: { privateKey: pgp.privateKey },
    sigstoreKey: { privateKeyPEM: sigstore.privateKeyPEM, passphrase: SIGSTORE_PASS },
  };
  [reg, image, other, multi] = await Promise.all([
    startRegistry({ accessLog: true }),
    makeImage(join(work, 'one'), { tag: 't', layers: 2, layerSize: 8192, seed: 11 }),
    makeImage(join(work, 'other'), { tag: 't', layers: 1, layerSize: 8192, seed: 12 }),
    makeImage(join(work, 'multi'), {
      tag: 'm',
      layers: 1,
      layerSize: 4096,
      seed: 13,
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    }),
  ]);
  for (let i = 0; i < 50; i++) {
    if ((await probe(`http://127.0.0.1:${port}/`).catch(() => undefined))?.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Both kinds of signature: a signedBy requirement reads the lookaside, a sigstoreSigned one the attachment.
  policy = join(work, 'policy.json');
  const document = {
    default: [{ type: 'reject' }],
    transports: {
      docker: {
        [reg.host]: [
          { type: 'signedBy', keyType: 'GPGKeys', keyPath: join(work, 'pgp.asc') },
          { type: 'sigstoreSigned', keyPath: join(work, 'sigstore.pub') },
        ],
      },
    },
  };
  await writeFile(policy, JSON.stringify(document));
  await copy(`oci:${join(work, 'one')}:t`, `docker://${reg.host}/src/img:t`, { signing });
  await copy(`oci:${join(work, 'multi')}:m`, `docker://${reg.host}/src/multi:m`, {
    signing,
    imageListSelection: 'all',
  });
});

after(async () => {
  web?.kill('SIGTERM');
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a copy under a policy that reads signatures reads the source once', { skip }, () => {
  it('registry→registry over the same image: the manifest, each lookaside signature and the attachment read once', async () => {
    // The destination holds the image unsigned: the no-op check reads the signatures too (and finds some to write).
    await copy(`oci:${join(work, 'one')}:t`, `docker://${reg.host}/dst/same:t`);
    const sig = `/src/img@sha256=${hex(image.digest)}`;
    const asked = await seen(() =>
      copy(`docker://${reg.host}/src/img:t`, `docker://${reg.host}/dst/same:t`, { policy }),
    );
    const source = asked.registry.filter((l) => l.includes(' /v2/src/img/'));
    assert.equal(count(source, 'GET /v2/src/img/manifests/t'), 1, source.join('\n'));
    assert.equal(count(source, `GET /v2/src/img/manifests/sha256-${hex(image.digest)}.sig`), 1, source.join('\n'));
    assert.deepEqual(repeated(source), [], `source requests repeated:\n${source.join('\n')}`);
    assert.equal(count(asked.lookaside, `GET ${sig}/signature-1`), 1, asked.lookaside.join('\n'));
    assert.equal(count(asked.lookaside, `GET ${sig}/signature-2`), 1, asked.lookaside.join('\n'));
    assert.deepEqual(repeated(asked.lookaside), [], asked.lookaside.join('\n'));
    // The signatures were written, the identical manifest was not.
    assert.equal(count(asked.registry, 'PUT /v2/dst/same/manifests/t'), 0, asked.registry.join('\n'));
    assert.ok(
      asked.registry.some((l) => l.startsWith('PUT /v2/dst/same/manifests/sha256-')),
      'attachment not written',
    );
  });

  it('one platform of a signed list: the instance manifest and its signatures read once', async () => {
    const arm = multi.instances.find((i) => i.platform.architecture === 'arm64');
    assert.ok(arm !== undefined);
    const arm64 = { sourceOptions: { os: 'linux', architecture: 'arm64', variant: 'v8' } };
    // The destination holds that instance unsigned: the no-op check loads it and reads its signatures.
    await copy(`oci:${join(work, 'multi')}:m`, `docker://${reg.host}/dst/one:m`, arm64);
    const asked = await seen(() =>
      copy(`docker://${reg.host}/src/multi:m`, `docker://${reg.host}/dst/one:m`, { ...arm64, policy }),
    );
    const source = asked.registry.filter((l) => l.includes(' /v2/src/multi/'));
    assert.equal(count(source, `GET /v2/src/multi/manifests/${arm.digest}`), 1, source.join('\n'));
    assert.equal(count(source, `GET /v2/src/multi/manifests/sha256-${hex(arm.digest)}.sig`), 1, source.join('\n'));
    assert.deepEqual(repeated(source), [], `source requests repeated:\n${source.join('\n')}`);
    assert.equal(
      count(asked.lookaside, `GET /src/multi@sha256=${hex(arm.digest)}/signature-1`),
      1,
      asked.lookaside.join('\n'),
    );
    assert.deepEqual(repeated(asked.lookaside), [], asked.lookaside.join('\n'));
  });
});

describe('a copy that writes asks for the destination tag once', { skip }, () => {
  it('a new tag: one HEAD, then the manifest PUT', async () => {
    const asked = await seen(() => copy(`docker://${reg.host}/src/img:t`, `docker://${reg.host}/dst/fresh:t`));
    assert.equal(count(asked.registry, 'HEAD /v2/dst/fresh/manifests/t'), 1, asked.registry.join('\n'));
    assert.equal(count(asked.registry, 'PUT /v2/dst/fresh/manifests/t'), 1, asked.registry.join('\n'));
  });

  it('a tag naming another image: one HEAD, then the manifest PUT over it', async () => {
    await copy(`oci:${join(work, 'other')}:t`, `docker://${reg.host}/dst/over:t`);
    const asked = await seen(() => copy(`docker://${reg.host}/src/img:t`, `docker://${reg.host}/dst/over:t`));
    assert.equal(count(asked.registry, 'HEAD /v2/dst/over/manifests/t'), 1, asked.registry.join('\n'));
    assert.equal(count(asked.registry, 'PUT /v2/dst/over/manifests/t'), 1, asked.registry.join('\n'));
    const client = await RegistryClient.create(reg.host, { tlsVerify: false });
    try {
      assert.equal((await client.headManifest('dst/over', 't'))?.digest, image.digest, 'the tag names the copy');
    } finally {
      await client.close();
    }
    assert.notEqual(image.digest, other.digest);
  });
});
