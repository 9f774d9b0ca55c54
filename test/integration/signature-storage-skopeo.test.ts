/**
 * Registry signature storage against skopeo 1.9.3: lookaside signatures skopeo writes (`--sign-by`,
 * GnuPG) are read by Ferry byte for byte and verify; signatures Ferry stores are read back by skopeo
 * (and accepted under a signedBy policy); a sigstore signature Ferry stores as an attachment is read
 * by skopeo with use-sigstore-attachments. Both tools get the same `--registries.d` directory.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyImage } from '../../src/copy/index.js';
import { type Digest, digestHex } from '../../src/digest/digest.js';
import { verifySignature } from '../../src/signature/simple/verify.js';
import { parseDirReference } from '../../src/transports/dir/reference.js';
import { parseDockerImageReference } from '../../src/transports/docker/reference.js';
import { parseOciReference } from '../../src/transports/oci-layout/reference.js';
import { GpgHome } from '../helpers/gpg.js';
import { makeImage } from '../helpers/make-image.js';
import { fixturePath } from '../helpers/paths.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

describe('registry signature storage: interoperability with skopeo', () => {
  let reg: TestRegistry;
  let dir: string;
  let plain: string;
  let digest: Digest;
  let home: GpgHome | undefined;
  let env: NodeJS.ProcessEnv;
  let fingerprint: string;
  let publicKeys: Buffer;

  before(async () => {
    reg = await startRegistry();
    dir = await makeTempDir('ferry-sig-interop-');
    home = await GpgHome.create(join(dir, 'gnupg'));
    env = home.env();
    fingerprint = home.generateKey('Interop <interop@ferry.invalid>', 'ed25519');
    assert.match(fingerprint, /^[0-9A-F]{40}$/);
    publicKeys = home.gpg(['--export']);
    const made = await makeImage(join(dir, 'oci'), { tag: 't', layers: 1, layerSize: 10_000, seed: 41 });
    digest = made.digest as Digest;
    plain = join(dir, 'plain');
    await copyImage(parseOciReference(`${dir}/oci:t`), parseDirReference(plain));
  });
  after(async () => {
    home?.close();
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A registries.d directory with one file; `lookaside` for both tools' reads and writes. */
  async function registriesD(name: string, yaml: string): Promise<string> {
    const d = join(dir, name);
    await mkdir(d);
    await writeFile(join(d, 'sigs.yaml'), yaml);
    return d;
  }
  /** `TOOL --registries.d RD [GLOBALS] copy [FLAGS] FROM TO`, TLS verification off on the registry side. */
  const copyWith = (
    tool: typeof runFerry,
    rd: string,
    from: string,
    to: string,
    more: { globals?: string[]; flags?: string[]; env?: NodeJS.ProcessEnv } = {},
  ) => {
    const tls = from.startsWith('docker://') ? '--src-tls-verify=false' : '--dest-tls-verify=false';
    const args = ['--registries.d', rd, ...(more.globals ?? []), 'copy', ...(more.flags ?? []), tls, from, to];
    return tool(args, more.env === undefined ? {} : { env: more.env });
  };
  const signaturePath = (base: string, repo: string, n: number): string =>
    join(base, `${repo}@sha256=${digestHex(digest)}`, `signature-${n}`);

  test('skopeo copy --sign-by stores a lookaside signature that Ferry reads byte for byte and verifies', async () => {
    const base = join(dir, 'skopeo-lookaside');
    const rd = await registriesD('rd-skopeo', `docker:\n  ${reg.host}/interop:\n    lookaside: file://${base}\n`);
    const image = `${reg.host}/interop/by-skopeo:1`;
    const signed = await copyWith(runSkopeo, rd, `dir:${plain}`, `docker://${image}`, {
      flags: ['--sign-by', fingerprint],
      env,
    });
    assert.equal(signed.code, 0, signed.stderr);
    const stored = await readFile(signaturePath(base, 'interop/by-skopeo', 1));
    await assert.rejects(readFile(signaturePath(base, 'interop/by-skopeo', 2)), { code: 'ENOENT' });

    const src = await parseDockerImageReference(`//${image}`).newImageSource({ tlsVerify: false, registriesDDir: rd });
    let read: Buffer[];
    try {
      read = await src.getSignatures();
    } finally {
      await src.close();
    }
    assert.equal(read.length, 1);
    assert.deepEqual(read[0], stored);
    const verified = await verifySignature(read[0]!, publicKeys, { expectedDigest: digest, expectedIdentity: image });
    assert.equal(verified.fingerprint, fingerprint);

    // The CLI's global --registries.d reaches the docker source too.
    const out = join(dir, 'from-skopeo');
    const copied = await copyWith(runFerry, rd, `docker://${image}`, `dir:${out}`);
    assert.equal(copied.code, 0, copied.stderr);
    assert.deepEqual(await readFile(join(out, 'signature-1')), stored);
  });

  test('signatures Ferry stores in the lookaside are read back by skopeo, and accepted under a signedBy policy', async () => {
    const base = join(dir, 'ferry-lookaside');
    const rd = await registriesD(
      'rd-ferry',
      `default-docker:\n  lookaside: file://${base}\n  lookaside-staging: file://${base}\n`,
    );
    const image = `${reg.host}/interop/by-ferry:1`;
    const signedDir = join(dir, 'ferry-signed');
    await copyImage(parseDirReference(plain), parseDirReference(signedDir));
    const sign = await runFerry(
      ['standalone-sign', join(signedDir, 'manifest.json'), image, fingerprint, '-o', join(signedDir, 'signature-1')],
      { env },
    );
    assert.equal(sign.code, 0, sign.stderr);
    const signature = await readFile(join(signedDir, 'signature-1'));

    const pushed = await copyWith(runFerry, rd, `dir:${signedDir}`, `docker://${image}`);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.deepEqual(await readFile(signaturePath(base, 'interop/by-ferry', 1)), signature);

    const keyPath = join(dir, 'interop.gpg');
    await writeFile(keyPath, publicKeys);
    const policy = join(dir, 'signed-by.json');
    await writeFile(
      policy,
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          docker: { [reg.host]: [{ type: 'signedBy', keyType: 'GPGKeys', keyPath }] },
          dir: { '': [{ type: 'insecureAcceptAnything' }] },
        },
      }),
    );
    const back = join(dir, 'from-ferry');
    const pulled = await copyWith(runSkopeo, rd, `docker://${image}`, `dir:${back}`, { globals: ['--policy', policy] });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(await readFile(join(back, 'signature-1')), signature);
    // The same policy refuses the image when its signatures are not where registries.d says.
    const elsewhere = await registriesD('rd-elsewhere', `default-docker:\n  lookaside: file://${join(dir, 'empty')}\n`);
    const refused = await copyWith(runSkopeo, elsewhere, `docker://${image}`, `dir:${join(dir, 'refused')}`, {
      globals: ['--policy', policy],
    });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /signature/i);
  });

  test('a sigstore signature Ferry stores as an attachment is read by skopeo with use-sigstore-attachments', async () => {
    const cosign = await readFile(fixturePath('signature', 'sigstore', 'dir-img-cosign-valid', 'signature-1'));
    const rd = await registriesD(
      'rd-sigstore',
      `default-docker:\n  lookaside: file://${join(dir, 'sigstore-lookaside')}\n  use-sigstore-attachments: true\n`,
    );
    const image = `${reg.host}/interop/cosign:1`;
    const cosignDir = join(dir, 'cosign-signed');
    await copyImage(parseDirReference(plain), parseDirReference(cosignDir));
    await writeFile(join(cosignDir, 'signature-1'), cosign);
    const pushed = await copyWith(runFerry, rd, `dir:${cosignDir}`, `docker://${image}`);
    assert.equal(pushed.code, 0, pushed.stderr);

    const back = join(dir, 'cosign-back');
    const pulled = await copyWith(runSkopeo, rd, `docker://${image}`, `dir:${back}`);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.deepEqual(await readFile(join(back, 'signature-1')), cosign);
    // It went to the attachment tag, not to the lookaside.
    await assert.rejects(readFile(signaturePath(join(dir, 'sigstore-lookaside'), 'interop/cosign', 1)), {
      code: 'ENOENT',
    });

    // The reverse: skopeo writes the attachment of the same image; Ferry reads it byte for byte, and
    // the attachment manifests both tools wrote are the same bytes.
    const bySkopeo = `${reg.host}/interop/cosign-by-skopeo:1`;
    const skopeoPush = await copyWith(runSkopeo, rd, `dir:${cosignDir}`, `docker://${bySkopeo}`);
    assert.equal(skopeoPush.code, 0, skopeoPush.stderr);
    const src = await parseDockerImageReference(`//${bySkopeo}`).newImageSource({
      tlsVerify: false,
      registriesDDir: rd,
    });
    try {
      assert.deepEqual(await src.getSignatures(), [cosign]);
    } finally {
      await src.close();
    }
    const tag = `sha256-${digestHex(digest)}.sig`;
    const raw = async (repo: string): Promise<string> => {
      const r = await runSkopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}:${tag}`]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    assert.equal(await raw('interop/cosign'), await raw('interop/cosign-by-skopeo'));

    // Appending a second signature to an existing attachment: the same bytes again.
    const fulcio = await readFile(
      fixturePath('signature', 'sigstore', 'dir-img-cosign-fulcio-rekor-valid', 'signature-1'),
    );
    const fulcioDir = join(dir, 'fulcio-signed');
    await copyImage(parseDirReference(plain), parseDirReference(fulcioDir));
    await writeFile(join(fulcioDir, 'signature-1'), fulcio);
    for (const [tool, repo] of [
      [runSkopeo, 'interop/cosign-by-skopeo'],
      [runFerry, 'interop/cosign'],
    ] as const) {
      const r = await copyWith(tool, rd, `dir:${fulcioDir}`, `docker://${reg.host}/${repo}:1`);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(await raw('interop/cosign'), await raw('interop/cosign-by-skopeo'));
    assert.equal((JSON.parse(await raw('interop/cosign')) as { layers: unknown[] }).layers.length, 2);
  });
});
