/**
 * policy.json scopes of containers-storage: images, as containers/image's storage transport defines
 * them (PolicyConfigurationIdentity / PolicyConfigurationNamespaces, ValidatePolicyConfigurationScope),
 * and, against a real store, the same decisions as skopeo 1.9 for each scope a policy may name.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseImageReference, parsePolicy, policyRequirementsForReference } from '../../../src/index.js';
import { runFerry, runSkopeo } from '../../helpers/run.js';
import { makeTempDir } from '../../helpers/tmp.js';
import { buildOciImage } from './fixtures.js';

const ID = 'a'.repeat(64);
const DIGEST = `sha256:${'b'.repeat(64)}`;

describe('containers-storage: policy.json scopes', () => {
  let dir = '';
  let root = '';
  let run = '';
  const savedConf = process.env.CONTAINERS_STORAGE_CONF;
  before(async () => {
    dir = await makeTempDir('ferry-cs-scopes-');
    root = path.join(dir, 'root');
    run = path.join(dir, 'run');
  });
  after(async () => {
    if (savedConf === undefined) delete process.env.CONTAINERS_STORAGE_CONF;
    else process.env.CONTAINERS_STORAGE_CONF = savedConf;
    await rm(dir, { recursive: true, force: true });
  });

  const scopes = (within: string) => {
    const ref = parseImageReference(`containers-storage:${within}`);
    return [ref.policyConfigurationIdentity(), ...ref.policyConfigurationNamespaces()];
  };

  test('a name: [DRIVER@GRAPHROOT]name:tag, then the repository and its parents, the store, the graph root (no run root)', () => {
    assert.deepEqual(scopes(`[vfs@${root}+${run}:vfs.ignore_chown_errors=true]busybox`), [
      `[vfs@${root}]docker.io/library/busybox:latest`,
      `[vfs@${root}]docker.io/library/busybox`,
      `[vfs@${root}]docker.io/library`,
      `[vfs@${root}]docker.io`,
      `[vfs@${root}]`,
      `[${root}]`,
    ]);
  });

  test('with an ID the name without it comes first; name:tag@digest adds name:tag; an ID alone has only the store', () => {
    assert.deepEqual(scopes(`[vfs@${root}]quay.io/org/app:1@${ID}`), [
      `[vfs@${root}]quay.io/org/app:1@${ID}`,
      `[vfs@${root}]quay.io/org/app:1`,
      `[vfs@${root}]quay.io/org/app`,
      `[vfs@${root}]quay.io/org`,
      `[vfs@${root}]quay.io`,
      `[vfs@${root}]`,
      `[${root}]`,
    ]);
    assert.deepEqual(scopes(`[vfs@${root}]quay.io/org/app:1@${DIGEST}`), [
      `[vfs@${root}]quay.io/org/app:1@${DIGEST}`,
      `[vfs@${root}]quay.io/org/app:1`,
      `[vfs@${root}]quay.io/org/app`,
      `[vfs@${root}]quay.io/org`,
      `[vfs@${root}]quay.io`,
      `[vfs@${root}]`,
      `[${root}]`,
    ]);
    assert.deepEqual(scopes(`[vfs@${root}]@${ID}`), [`[vfs@${root}]@${ID}`, `[vfs@${root}]`, `[${root}]`]);
  });

  test('what the brackets leave out is the resolved store: storage.conf, else the driver already in the graph root; overlay2 is overlay', async () => {
    const conf = path.join(dir, 'storage.conf');
    const confRoot = path.join(dir, 'conf-root');
    await writeFile(conf, `[storage]\ndriver = "overlay2"\ngraphroot = "${confRoot}/"\nrunroot = "${run}"\n`);
    process.env.CONTAINERS_STORAGE_CONF = conf;
    assert.equal(scopes('app:1')[0], `[overlay@${confRoot}]docker.io/library/app:1`);
    // No driver anywhere: the one whose layers the graph root holds.
    await writeFile(conf, `[storage]\ngraphroot = "${confRoot}"\nrunroot = "${run}"\n`);
    await mkdir(path.join(confRoot, 'vfs-layers'), { recursive: true });
    assert.deepEqual(scopes('app:1').slice(-2), [`[vfs@${confRoot}]`, `[${confRoot}]`]);
    assert.equal(scopes(`[${root}]app:1`)[0], `[overlay@${root}]docker.io/library/app:1`);
    delete process.env.CONTAINERS_STORAGE_CONF;
  });

  test('a short ID prefix of an image in the store is scoped by the full ID, as upstream expands it at parse time', async () => {
    const prefixRoot = path.join(dir, 'prefix-root');
    await mkdir(path.join(prefixRoot, 'vfs-images'), { recursive: true });
    const full = `abc${'0'.repeat(61)}`;
    await writeFile(path.join(prefixRoot, 'vfs-images/images.json'), JSON.stringify([{ id: full, names: ['x:1'] }]));
    assert.deepEqual(scopes(`[vfs@${prefixRoot}]abc`), [
      `[vfs@${prefixRoot}]@${full}`,
      `[vfs@${prefixRoot}]`,
      `[${prefixRoot}]`,
    ]);
    assert.equal(scopes(`[vfs@${prefixRoot}]x:1@abc0`)[0], `[vfs@${prefixRoot}]docker.io/library/x:1@${full}`);
    // Not an ID prefix of any image: the name it also is.
    assert.equal(scopes(`[vfs@${prefixRoot}]abd`)[0], `[vfs@${prefixRoot}]docker.io/library/abd:latest`);
  });

  test('policy.json scopes are checked as ValidatePolicyConfigurationScope checks them', () => {
    const policyWith = (scope: string) =>
      parsePolicy(
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { 'containers-storage': { [scope]: [{ type: 'insecureAcceptAnything' }] } },
        }),
        'policy.json',
      );
    for (const good of [
      `[vfs@${root}]`,
      `[${root}]`,
      `[vfs@${root}]busybox`,
      `[vfs@${root}]docker.io/library/busybox:latest`,
      `[vfs@${root}]busybox@${ID}`,
      `[vfs@${root}]busybox@${DIGEST}`,
      `[vfs@${root}]busybox:1@${DIGEST}@${ID}`,
      `[vfs@${root}+${run}]busybox`,
    ]) {
      assert.doesNotThrow(() => policyWith(good), good);
    }
    for (const [bad, why] of [
      ['busybox', /must start with a store specifier/],
      [`[vfs@${root}`, /does not end/],
      ['[]', /must be \[DRIVER@GRAPHROOT\] or \[GRAPHROOT\]/],
      [`[@${root}]`, /must be \[DRIVER@GRAPHROOT\] or \[GRAPHROOT\]/],
      ['[vfs@]', /must be \[DRIVER@GRAPHROOT\] or \[GRAPHROOT\]/],
      ['[vfs@relative/root]', /is not an absolute path/],
      ['[relative]', /is not an absolute path/],
      [`[vfs@${root}]busybox@abc`, /neither a valid digest nor a valid image ID/],
      [`[vfs@${root}]busybox@${ID}@${ID}`, /is not a valid digest/],
      [`[vfs@${root}]busybox@${DIGEST}@abc`, /is not a valid image ID/],
    ] as const) {
      assert.throws(
        () => policyWith(bad),
        (e: unknown) => (e as Error).message.includes('invalid scope') && why.test((e as Error).message),
        bad,
      );
    }
  });

  test('the most specific scope a policy names decides', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: {
          'containers-storage': {
            [`[vfs@${root}]docker.io/library`]: [{ type: 'insecureAcceptAnything' }],
            [`[${root}]`]: [{ type: 'reject' }],
          },
        },
      }),
      'policy.json',
    );
    const scope = (within: string) =>
      policyRequirementsForReference(policy, parseImageReference(`containers-storage:${within}`)).scope;
    assert.equal(
      scope(`[vfs@${root}+${run}]app:1`),
      `transports["containers-storage"][${JSON.stringify(`[vfs@${root}]docker.io/library`)}]`,
    );
    assert.equal(
      scope(`[vfs@${root}]quay.io/app:1`),
      `transports["containers-storage"][${JSON.stringify(`[${root}]`)}]`,
    );
    assert.equal(scope(`[vfs@${dir}/other]app:1`), 'default');
  });
});

describe('containers-storage: policy decisions agree with skopeo', {
  skip: process.getuid?.() === 0 ? false : 'needs root (a store to copy from)',
}, () => {
  let dir = '';
  let root = '';
  let spec = '';
  before(async () => {
    dir = await makeTempDir('ferry-cs-policy-');
    root = path.join(dir, 'root');
    spec = `[vfs@${root}+${path.join(dir, 'run')}]`;
    const src = path.join(dir, 'src');
    await mkdir(path.join(src, 'etc'), { recursive: true });
    await writeFile(path.join(src, 'etc/hello'), 'hello\n');
    await buildOciImage(path.join(dir, 'oci'), 'app', [src], { compression: 'none' });
    const r = await runSkopeo([
      'copy',
      '-q',
      `oci:${path.join(dir, 'oci')}:app`,
      `containers-storage:${spec}quay.io/org/app:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('for each scope a policy may name, ferry copy is allowed exactly when skopeo copy is', async () => {
    const candidates = [
      `[vfs@${root}]quay.io/org/app:1`,
      `[vfs@${root}]quay.io/org/app`,
      `[vfs@${root}]quay.io/org`,
      `[vfs@${root}]quay.io`,
      `[vfs@${root}]`,
      `[${root}]`,
      `[vfs@${root}]quay.io/org/app:2`,
      `[vfs@${root}]quay.io/other`,
      `[overlay@${root}]`,
      `[${root}]quay.io/org/app`,
      `[vfs@${root}+${path.join(dir, 'run')}]quay.io/org/app:1`,
      `[vfs@${dir}]`,
    ];
    let n = 0;
    for (const scope of candidates) {
      const policyFile = path.join(dir, `policy-${n}.json`);
      await writeFile(
        policyFile,
        JSON.stringify({
          default: [{ type: 'reject' }],
          transports: { 'containers-storage': { [scope]: [{ type: 'insecureAcceptAnything' }] } },
        }),
      );
      const src = `containers-storage:${spec}quay.io/org/app:1`;
      const [ferry, skopeo] = await Promise.all([
        runFerry(['--policy', policyFile, 'copy', '-q', src, `dir:${path.join(dir, `ferry-${n}`)}`]),
        runSkopeo(['--policy', policyFile, 'copy', '-q', src, `dir:${path.join(dir, `skopeo-${n}`)}`]),
      ]);
      assert.equal(ferry.code === 0, skopeo.code === 0, `${scope}: ferry ${ferry.stderr} / skopeo ${skopeo.stderr}`);
      // The identity, the namespaces, and nothing else.
      assert.equal(ferry.code === 0, n < 6, `${scope}: ${ferry.stderr}`);
      n++;
    }
  });
});
