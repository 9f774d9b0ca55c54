/**
 * containers-storage reads the store's description once where once is enough: a policy check works
 * out a reference's scopes (storage.conf, the graph root's drivers, images.json for an ID prefix)
 * once, and Store.resolve reads storage.conf once. Reads are counted with spies on node:fs, which
 * the modules import by name (syncBuiltinESMExports carries the spies to those bindings).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { parseImageReference, parsePolicy, policyRequirementsForReference } from '../../../src/index.js';
import { Store } from '../../../src/transports/containers-storage/store.js';
import { makeTempDir } from '../../helpers/tmp.js';

type Counted = 'openSync' | 'readFileSync' | 'statSync';

/** Counts calls of fs[name] whose path argument satisfies `match`, until restored. */
function countCalls(names: readonly Counted[], match: (p: string) => boolean): { counts: Record<Counted, number> } {
  const counts: Record<Counted, number> = { openSync: 0, readFileSync: 0, statSync: 0 };
  for (const name of names) {
    const original = fs[name] as (...args: unknown[]) => unknown;
    originals.push([name, original]);
    (fs as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && match(args[0])) counts[name]++;
      return original.apply(fs, args);
    };
  }
  syncBuiltinESMExports();
  return { counts };
}
const originals: [Counted, unknown][] = [];
function restore(): void {
  for (const [name, original] of originals.splice(0)) (fs as unknown as Record<string, unknown>)[name] = original;
  syncBuiltinESMExports();
}

describe('containers-storage: the store is read once per reference and per resolution', () => {
  let dir = '';
  let conf = '';
  let root = '';
  const full = `abc${'0'.repeat(61)}`;
  const savedConf = process.env.CONTAINERS_STORAGE_CONF;
  before(async () => {
    dir = await makeTempDir('ferry-cs-reads-');
    root = path.join(dir, 'root');
    conf = path.join(dir, 'storage.conf');
    // No driver named: the graph root's DRIVER-layers directories are looked at (the prior-driver scan).
    await writeFile(conf, `[storage]\ngraphroot = "${root}"\nrunroot = "${path.join(dir, 'run')}"\n`);
    await mkdir(path.join(root, 'vfs-layers'), { recursive: true });
    await mkdir(path.join(root, 'vfs-images'), { recursive: true });
    await writeFile(path.join(root, 'vfs-images/images.json'), JSON.stringify([{ id: full, names: ['x:1'] }]));
    process.env.CONTAINERS_STORAGE_CONF = conf;
  });
  afterEach(restore);
  after(async () => {
    restore();
    if (savedConf === undefined) delete process.env.CONTAINERS_STORAGE_CONF;
    else process.env.CONTAINERS_STORAGE_CONF = savedConf;
    await rm(dir, { recursive: true, force: true });
  });

  test('a policy check reads storage.conf, the graph root and images.json once, and a second check reads nothing', () => {
    const policy = parsePolicy(
      JSON.stringify({
        default: [{ type: 'reject' }],
        transports: { 'containers-storage': { [`[vfs@${root}]`]: [{ type: 'insecureAcceptAnything' }] } },
      }),
      'policy.json',
    );
    const images = path.join(root, 'vfs-images', 'images.json');
    const { counts } = countCalls(
      ['openSync', 'readFileSync', 'statSync'],
      (p) => p === conf || p === images || p.startsWith(`${root}/`),
    );
    const ref = parseImageReference('containers-storage:abc');
    const choice = policyRequirementsForReference(policy, ref);
    assert.equal(choice.scope, `transports["containers-storage"][${JSON.stringify(`[vfs@${root}]`)}]`);
    // The ID prefix was expanded against images.json, the driver found by the scan.
    assert.equal(ref.policyConfigurationIdentity(), `[vfs@${root}]@${full}`);
    assert.deepEqual(counts, { openSync: 1, readFileSync: 1, statSync: 6 });
    policyRequirementsForReference(policy, ref);
    assert.deepEqual(counts, { openSync: 1, readFileSync: 1, statSync: 6 });
  });

  test('the namespaces a caller is given are its own copy', () => {
    const ref = parseImageReference('containers-storage:x:1');
    ref.policyConfigurationNamespaces().length = 0;
    assert.deepEqual(ref.policyConfigurationNamespaces().slice(-2), [`[vfs@${root}]`, `[${root}]`]);
  });

  test('Store.resolve reads storage.conf once for the roots, the driver and the driver options', async () => {
    await writeFile(
      conf,
      `[storage]\ndriver = "vfs"\ngraphroot = "${root}"\nrunroot = "${path.join(dir, 'run')}"\n[storage.options]\nmount_program = "/bin/true"\n`,
    );
    const { counts } = countCalls(['openSync'], (p) => p === conf);
    const store = await Store.resolve({}, 'test');
    assert.equal(store.driver, 'vfs');
    assert.equal(store.graphRoot, root);
    assert.deepEqual(store.options, ['mount_program=/bin/true']);
    assert.equal(counts.openSync, 1);
    // Everything given in the brackets: storage.conf is not read at all.
    await Store.resolve({ driver: 'vfs', graphRoot: root, runRoot: path.join(dir, 'run'), options: [] }, 'test');
    assert.equal(counts.openSync, 1);
  });
});
