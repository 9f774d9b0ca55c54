/**
 * `ferry sync` against real Distribution registries and the real skopeo: a YAML file (tag list, tag
 * regex, semver range) gives the destination tags and digests skopeo sync gives with the same file; a
 * no-op sync of a 500-tag repository sends one HEAD per tag and side (counted by a proxy in front of
 * each registry) and nothing else but pings and the tag list, and prints its per-image lines in plan
 * order (that of the JSON summary) while the images run in parallel, each as soon as the images
 * before it are decided (HEADs held by a fault proxy); docker→dir and dir→docker; --dry-run
 * writes nothing; --keep-going goes past a failure and exits non-zero; shards' union is the whole.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage, parseImageReference, RegistryClient, syncImages } from '../../src/index.js';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.js';
import { type MadeImage, makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry, runSkopeo } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';

let work = '';
let src: TestRegistry;
let ours: TestRegistry;
let theirs: TestRegistry;
const clients: RegistryClient[] = [];

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function client(reg: { host: string }): Promise<RegistryClient> {
  const c = await RegistryClient.create(reg.host, { tlsVerify: false });
  clients.push(c);
  return c;
}

/** Pushes a made image to `repo:tag`, then puts the same manifest under every other tag. */
async function push(layout: string, repo: string, tags: string[]): Promise<void> {
  const [first, ...rest] = tags as [string, ...string[]];
  const copied = await copyImage(
    parseImageReference(`oci:${layout}:latest`),
    parseImageReference(`docker://${src.host}/${repo}:${first}`),
    { destinationOptions: { tlsVerify: false }, blobInfoCache: 'none', imageListSelection: 'all' },
  );
  const c = await client(src);
  for (const tag of rest) await c.putManifest(repo, tag, copied.manifest, copied.manifestMIMEType);
}

/** tag → digest of a repository (empty when the repository does not exist). */
async function tagDigests(reg: { host: string }, repo: string): Promise<Record<string, string>> {
  const c = await client(reg);
  let tags: string[];
  try {
    tags = await c.listTags(repo);
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const tag of tags.sort()) out[tag] = (await c.headManifest(repo, tag))?.digest ?? 'missing';
  return out;
}

interface Summary {
  copied: number;
  skipped: number;
  bytes: number;
  images: { source: string; status: string }[];
}

/**
 * The per-image lines (`Copied SOURCE …`, `Skipped SOURCE: …`) name the images in plan order, the
 * order of the JSON summary, however the parallel images finished.
 */
function assertLinesInPlanOrder(output: string, verb: string, summary: Summary): void {
  const named = output
    .split('\n')
    .filter((l) => l.startsWith(`${verb} `))
    .map((l) => l.split(' ')[1]?.replace(/:$/, ''));
  assert.equal(named.length, summary.images.length, output);
  assert.deepEqual(
    named,
    summary.images.map((i) => i.source),
  );
}

const MANY = Array.from({ length: 500 }, (_, i) => `t${String(i).padStart(3, '0')}`);

before(async () => {
  work = await makeTempDir('ferry-sync-');
  let made: MadeImage[];
  [src, ours, theirs, ...made] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry(),
    makeImage(join(work, 'a'), { layers: 1, layerSize: 2000, seed: 7 }),
    makeImage(join(work, 'b'), { layers: 1, layerSize: 2000, seed: 8 }),
  ]);
  assert.equal(made.length, 2);
  const a = join(work, 'a');
  const b = join(work, 'b');
  await push(a, 'lib/alpha', ['a1', 'a3']);
  await push(b, 'lib/alpha', ['a2']);
  await push(a, 'lib/beta', ['v1-x', 'other']);
  await push(b, 'lib/beta', ['v2-x']);
  await push(a, 'lib/gamma', ['1.0.0', '2.0.0', 'latest']);
  await push(b, 'lib/gamma', ['1.2.0', '1.5.0-rc1', 'v1.3']);
  await push(a, 'big/many', MANY);
});

after(async () => {
  for (const c of clients) await c.close();
  await Promise.all([src?.stop(), ours?.stop(), theirs?.stop()]);
});

describe('ferry sync', () => {
  it('a YAML file (tag list, tag regex, semver range) gives what skopeo sync gives with the same file', async () => {
    const yaml = join(work, 'sync.yaml');
    await writeFile(
      yaml,
      [
        `${src.host}:`,
        '  images:',
        '    lib/alpha:',
        '      - a1',
        '      - "a3"',
        '  images-by-tag-regex:',
        '    lib/beta: ^v[0-9]+-x$',
        '  images-by-semver:',
        '    lib/gamma: ">= 1.1.0, < 2.0.0"',
        '  tls-verify: false',
        '',
      ].join('\n'),
    );
    ok(
      await runFerry([
        'sync',
        '--src',
        'yaml',
        '--dest',
        'docker',
        '--dest-tls-verify=false',
        yaml,
        `${ours.host}/mirror`,
      ]),
      'ferry sync',
    );
    ok(
      await runSkopeo([
        '--insecure-policy',
        'sync',
        '--src',
        'yaml',
        '--dest',
        'docker',
        '--dest-tls-verify=false',
        yaml,
        `${theirs.host}/mirror`,
      ]),
      'skopeo sync',
    );
    const want = await tagDigests(src, 'lib/alpha');
    const alpha = await tagDigests(ours, 'mirror/alpha');
    assert.deepEqual(alpha, { a1: want['a1'], a3: want['a3'] });
    assert.deepEqual(alpha, await tagDigests(theirs, 'mirror/alpha'));
    const beta = await tagDigests(ours, 'mirror/beta');
    assert.deepEqual(Object.keys(beta), ['v1-x', 'v2-x']);
    assert.deepEqual(beta, await tagDigests(theirs, 'mirror/beta'));
    // 1.5.0-rc1 is a pre-release (excluded by a range without one); v1.3 is read as 1.3.0 (Masterminds).
    const gamma = await tagDigests(ours, 'mirror/gamma');
    const srcGamma = await tagDigests(src, 'lib/gamma');
    assert.deepEqual(gamma, { '1.2.0': srcGamma['1.2.0'], 'v1.3': srcGamma['v1.3'] });
    // Debian's skopeo 1.9.3 predates images-by-semver: yaml.v3 ignores the key, so it syncs no gamma.
    assert.deepEqual(await tagDigests(theirs, 'mirror/gamma'), {});
  });

  it("a YAML registry's credentials reach a registry with htpasswd auth, for Ferry as for skopeo, and never show", async () => {
    const locked = await startRegistry({ auth: 'htpasswd' });
    try {
      const credentials = { username: locked.username ?? '', password: locked.password ?? '' };
      await copyImage(
        parseImageReference(`oci:${join(work, 'a')}:latest`),
        parseImageReference(`docker://${locked.host}/sec/app:1`),
        {
          destinationOptions: { tlsVerify: false, credentials },
          blobInfoCache: 'none',
        },
      );
      const yaml = join(work, 'locked.yaml');
      await writeFile(
        yaml,
        `${locked.host}:\n  images:\n    sec/app:\n  credentials:\n    username: ${credentials.username}\n    password: "${credentials.password.replace(/["\\]/g, (c) => `\\${c}`)}"\n  tls-verify: false\n`,
      );
      const r = ok(
        await runFerry([
          'sync',
          '--src',
          'yaml',
          '--dest',
          'docker',
          '--dest-tls-verify=false',
          yaml,
          `${ours.host}/locked`,
        ]),
        'ferry sync',
      );
      ok(
        await runSkopeo([
          '--insecure-policy',
          'sync',
          '--src',
          'yaml',
          '--dest',
          'docker',
          '--dest-tls-verify=false',
          yaml,
          `${theirs.host}/locked`,
        ]),
        'skopeo sync',
      );
      const got = await tagDigests(ours, 'locked/app');
      assert.deepEqual(Object.keys(got), ['1']);
      assert.deepEqual(got, await tagDigests(theirs, 'locked/app'));
      assert.ok(!(r.stdout + r.stderr).includes(credentials.password));
    } finally {
      await locked.stop();
    }
  });

  it('a no-op sync of a 500-tag repository sends one HEAD per tag and side, and nothing else but pings and the tag list; lines come in plan order', async () => {
    const dest = `${ours.host}/noop`;
    const first = ok(
      await runFerry(
        [
          'sync',
          '--src',
          'docker',
          '--dest',
          'docker',
          '--src-tls-verify=false',
          '--dest-tls-verify=false',
          '--summary-format',
          'json',
          `${src.host}/big/many`,
          dest,
        ],
        { timeoutMs: 300_000 },
      ),
      'first sync',
    );
    const copied = JSON.parse(first.stdout) as Summary;
    assert.equal(copied.copied, 500);
    assertLinesInPlanOrder(first.stderr, 'Copied', copied);
    let proxies: FaultProxy[] = [];
    try {
      proxies = [await startFaultProxy(src), await startFaultProxy(ours)];
      const [ps, pd] = proxies as [FaultProxy, FaultProxy];
      const started = Date.now();
      const again = ok(
        await runFerry(
          [
            'sync',
            '--src',
            'docker',
            '--dest',
            'docker',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            '--summary-format',
            'json',
            `${ps.host}/big/many`,
            `${pd.host}/noop`,
          ],
          { timeoutMs: 300_000 },
        ),
        'no-op sync',
      );
      const summary = JSON.parse(again.stdout) as Summary;
      assert.deepEqual([summary.copied, summary.skipped, summary.bytes], [0, 500, 0]);
      assertLinesInPlanOrder(again.stderr, 'Skipped', summary);
      const nonZero = (p: FaultProxy) => Object.fromEntries(Object.entries(p.requests).filter(([, n]) => n > 0));
      const s = nonZero(ps);
      const d = nonZero(pd);
      process.stderr.write(
        `no-op sync of 500 tags: ${Date.now() - started} ms; source ${JSON.stringify(s)}, destination ${JSON.stringify(d)}\n`,
      );
      assert.equal(s['manifest-head'], 500);
      assert.equal(d['manifest-head'], 500);
      // Source: the tag list (one "other" request) and at most one ping per client; destination: HEADs and its ping.
      assert.deepEqual(
        Object.keys(s).sort(),
        ['manifest-head', 'other', 'ping'].filter((k) => k in s),
      );
      assert.ok((s['other'] ?? 0) <= 1 && (s['ping'] ?? 0) <= 2, JSON.stringify(s));
      assert.deepEqual(
        Object.keys(d).sort(),
        ['manifest-head', 'ping'].filter((k) => k in d),
      );
      assert.ok((d['ping'] ?? 0) <= 1, JSON.stringify(d));
    } finally {
      for (const p of proxies) await p.stop();
    }
  });

  it('copies to one destination repository go one at a time: each blob is uploaded once, not once per tag in flight', async () => {
    // Tags of one repository share blobs; Distribution rewrites a repository's links in place, so
    // parallel copies into one repository raced there ("manifest blob unknown" on a manifest PUT).
    const logged = await startRegistry({ accessLog: true });
    try {
      const tags = Array.from({ length: 12 }, (_, i) => `s${i}`);
      const layout = join(work, 'shared');
      await makeImage(layout, { layers: 3, layerSize: 4000, seed: 11 });
      await push(layout, 'shared/img', tags);
      const r = ok(
        await runFerry([
          'sync',
          '--src',
          'docker',
          '--dest',
          'docker',
          '--src-tls-verify=false',
          '--dest-tls-verify=false',
          '--summary-format',
          'json',
          `${src.host}/shared/img`,
          `${logged.host}/mirror`,
        ]),
        'sync',
      );
      assert.equal((JSON.parse(r.stdout) as Summary).copied, 12);
      await new Promise((done) => setTimeout(done, 200)); // the registry logs after answering
      const log = await readFile(logged.logPath, 'utf8');
      const uploads = [...log.matchAll(/"POST \/v2\/mirror\/img\/blobs\/uploads\/\S* HTTP/g)].length;
      assert.equal(uploads, 4, 'three layers and a config, each uploaded once');
      assert.deepEqual(
        Object.values(await tagDigests(logged, 'mirror/img')),
        Object.values(await tagDigests(src, 'shared/img')),
      );
    } finally {
      await logged.stop();
    }
  });

  it('an image decided early waits for the images planned before it, and no longer', async () => {
    // Plan: alpha:a1 (its HEAD held 1 s), three beta tags (fast), gamma:1.0.0 (its HEAD held 4 s). The
    // beta lines must come right after alpha's, long before gamma is decided.
    let proxies: FaultProxy[] = [];
    try {
      const held = (what: RegExp, stallMs: number) =>
        startFaultProxy(src, { stallMs, rules: [{ kind: 'stall', on: 'manifest-head', path: what }] });
      proxies = [await held(/alpha\/manifests\/a1$/, 1000), await held(/gamma\/manifests\/1\.0\.0$/, 4000)];
      const [first, last] = proxies as [FaultProxy, FaultProxy];
      const yaml = join(work, 'order.yaml');
      const registry = (host: string, repo: string, tags: string[]) => [
        `${host}:`,
        '  images:',
        `    ${repo}:`,
        ...tags.map((t) => `      - "${t}"`),
        '  tls-verify: false',
      ];
      await writeFile(
        yaml,
        [
          ...registry(first.host, 'lib/alpha', ['a1']),
          ...registry(src.host, 'lib/beta', ['v1-x', 'v2-x', 'other']),
          ...registry(last.host, 'lib/gamma', ['1.0.0']),
          '',
        ].join('\n'),
      );
      const told: { source: string; at: number }[] = [];
      const result = await syncImages({
        sourceKind: 'yaml',
        source: yaml,
        destinationKind: 'docker',
        destination: `${ours.host}/order`,
        dryRun: true,
        copy: { insecurePolicy: true, destinationOptions: { tlsVerify: false } },
        onImage: (r) => told.push({ source: r.source.replace(/^docker:\/\/[^/]+\/lib\//, ''), at: Date.now() }),
      });
      assert.equal(first.counts.stall, 1);
      assert.equal(last.counts.stall, 1);
      const order = ['alpha:a1', 'beta:v1-x', 'beta:v2-x', 'beta:other', 'gamma:1.0.0'];
      assert.deepEqual(
        told.map((t) => t.source),
        order,
      );
      assert.deepEqual(
        result.images.map((r) => r.status),
        order.map(() => 'would-copy'),
      );
      const at = (i: number): number => told[i]?.at ?? Number.NaN;
      assert.ok(at(3) - at(0) < 500, `the beta lines waited ${at(3) - at(0)} ms after alpha's`);
      assert.ok(at(4) - at(3) > 1500, `gamma came ${at(4) - at(3)} ms after the beta lines`);
    } finally {
      for (const p of proxies) await p.stop();
    }
  });

  it('a multi-arch source is skipped when up to date: by the list digest with --all, by one GET of the list without', async () => {
    await makeImage(join(work, 'multi'), {
      layers: 1,
      layerSize: 2000,
      seed: 9,
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    await push(join(work, 'multi'), 'lib/multi', ['m1']);
    for (const all of [[], ['--all']]) {
      const dest = all.length === 0 ? 'one' : 'every';
      const args = [
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        '--summary-format',
        'json',
        ...all,
      ];
      ok(await runFerry(['sync', ...args, `${src.host}/lib/multi`, `${ours.host}/${dest}`]), `first sync ${all}`);
      const proxy = await startFaultProxy(src);
      try {
        const r = ok(
          await runFerry(['sync', ...args, `${proxy.host}/lib/multi`, `${ours.host}/${dest}`]),
          `no-op sync ${all}`,
        );
        assert.equal((JSON.parse(r.stdout) as { skipped: number }).skipped, 1);
        assert.equal(proxy.requests['manifest-head'], 1);
        assert.equal(proxy.requests['manifest-get'], all.length === 0 ? 1 : 0);
        assert.equal(proxy.requests['blob-get'] + proxy.requests['blob-head'], 0);
      } finally {
        await proxy.stop();
      }
    }
  });

  it('docker→dir and dir→docker keep the digests; skopeo names the directories alike', async () => {
    const dir = join(work, 'dirs');
    ok(
      await runFerry([
        'sync',
        '--src',
        'docker',
        '--dest',
        'dir',
        '--src-tls-verify=false',
        `${src.host}/lib/alpha`,
        dir,
      ]),
      'to dir',
    );
    for (const tag of ['a1', 'a2', 'a3']) assert.ok(existsSync(join(dir, `alpha:${tag}`, 'manifest.json')), tag);
    const theirsDir = join(work, 'skopeo-dirs');
    ok(
      await runSkopeo([
        '--insecure-policy',
        'sync',
        '--src',
        'docker',
        '--dest',
        'dir',
        '--src-tls-verify=false',
        `${src.host}/lib/alpha`,
        theirsDir,
      ]),
      'skopeo to dir',
    );
    for (const tag of ['a1', 'a2', 'a3']) assert.ok(existsSync(join(theirsDir, `alpha:${tag}`, 'manifest.json')), tag);
    ok(
      await runFerry([
        'sync',
        '--src',
        'dir',
        '--dest',
        'docker',
        '--dest-tls-verify=false',
        dir,
        `${ours.host}/fromdir`,
      ]),
      'from dir',
    );
    assert.deepEqual(await tagDigests(ours, 'fromdir/alpha'), await tagDigests(src, 'lib/alpha'));
  });

  it('--dry-run prints what would be copied and writes nothing', async () => {
    const dir = join(work, 'dry');
    const r = ok(
      await runFerry([
        'sync',
        '--dry-run',
        '--src',
        'docker',
        '--dest',
        'dir',
        '--src-tls-verify=false',
        `${src.host}/lib/beta`,
        dir,
      ]),
      'dry run',
    );
    const lines = r.stdout.split('\n').filter((l) => l.startsWith('Would copy docker://'));
    assert.deepEqual(lines.map((l) => l.replace(/^Would copy \S+ to dir:.*\//, '')).sort(), [
      'beta:other',
      'beta:v1-x',
      'beta:v2-x',
    ]);
    assert.equal(existsSync(dir), false);
    const d = ok(
      await runFerry([
        'sync',
        '--dry-run',
        '--src',
        'docker',
        '--dest',
        'docker',
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
        `${src.host}/lib/beta`,
        `${ours.host}/dry`,
      ]),
      'dry run to docker',
    );
    assert.equal(d.stdout.split('\n').filter((l) => l.startsWith('Would copy')).length, 3);
    assert.deepEqual(await tagDigests(ours, 'dry/beta'), {});
  });

  it('--keep-going copies the rest after a failure and exits non-zero; without it the sync stops', async () => {
    const dir = join(work, 'keep');
    await mkdir(join(dir, 'alpha:a2'), { recursive: true }); // skopeo (and Ferry) refuse to overwrite a directory
    const r = await runFerry([
      'sync',
      '--keep-going',
      '--parallel-images',
      '1',
      '--summary-format',
      'json',
      '--src',
      'docker',
      '--dest',
      'dir',
      '--src-tls-verify=false',
      `${src.host}/lib/alpha`,
      dir,
    ]);
    assert.notEqual(r.code, 0);
    const summary = JSON.parse(r.stdout) as {
      copied: number;
      failed: number;
      images: { destination: string; status: string }[];
    };
    assert.deepEqual([summary.copied, summary.failed], [2, 1]);
    assert.ok(existsSync(join(dir, 'alpha:a1', 'manifest.json')));
    assert.ok(existsSync(join(dir, 'alpha:a3', 'manifest.json')));
    assert.match(r.stderr, /alpha:a2/);

    const stop = join(work, 'stop');
    await mkdir(join(stop, 'alpha:a2'), { recursive: true });
    const s = await runFerry([
      'sync',
      '--parallel-images',
      '1',
      '--src',
      'docker',
      '--dest',
      'dir',
      '--src-tls-verify=false',
      `${src.host}/lib/alpha`,
      stop,
    ]);
    assert.notEqual(s.code, 0);
    assert.match(s.stderr, /stopped at the first failure.*refusing to overwrite/);
    assert.ok(existsSync(join(stop, 'alpha:a1', 'manifest.json')), 'the image before the failure is copied');
    assert.equal(existsSync(join(stop, 'alpha:a3')), false, 'no image after the failure is started');
  });

  it('enforces the trust policy per image, as copy does: a rejecting policy.json copies nothing and exits non-zero', async () => {
    const policy = join(work, 'reject.json');
    await writeFile(policy, JSON.stringify({ default: [{ type: 'reject' }] }));
    const r = await runFerry([
      '--policy',
      policy,
      'sync',
      '--keep-going',
      '--src',
      'docker',
      '--dest',
      'docker',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `${src.host}/lib/beta`,
      `${ours.host}/rejected`,
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /sync failed: 3 image\(s\)/);
    assert.match(r.stderr, /reject/i);
    assert.deepEqual(await tagDigests(ours, 'rejected/beta'), {});
    // A destination already up to date is no way around the policy: the HEAD shortcut is not taken.
    const one = [
      '--src',
      'docker',
      '--dest',
      'docker',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `${src.host}/lib/beta:v1-x`,
      `${ours.host}/present`,
    ];
    ok(await runFerry(['sync', ...one]), 'sync without a policy');
    const again = await runFerry(['--policy', policy, 'sync', ...one]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /reject/i);
    const accepting = join(work, 'accept.json');
    await writeFile(accepting, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    assert.match(ok(await runFerry(['--policy', accepting, 'sync', ...one]), 'accepting policy').stdout, /^Skipped /m);
  });

  it('--shard INDEX/COUNT splits the images; the shards together are exactly the whole', async () => {
    const plan = async (...extra: string[]): Promise<string[]> => {
      const r = ok(
        await runFerry(
          [
            'sync',
            '--dry-run',
            '--summary-format',
            'json',
            ...extra,
            '--src',
            'docker',
            '--dest',
            'docker',
            '--src-tls-verify=false',
            '--dest-tls-verify=false',
            `${src.host}/big/many`,
            `${ours.host}/sharded`,
          ],
          { timeoutMs: 300_000 },
        ),
        `plan ${extra.join(' ')}`,
      );
      return (JSON.parse(r.stdout) as { images: { source: string }[] }).images.map((i) => i.source).sort();
    };
    const whole = await plan();
    assert.equal(whole.length, 500);
    const shards = [await plan('--shard', '0/3'), await plan('--shard', '1/3'), await plan('--shard', '2/3')];
    for (const s of shards) assert.ok(s.length > 100 && s.length < 250, `an uneven shard: ${s.length}`);
    assert.deepEqual(shards.flat().sort(), whole);
    assert.equal(new Set(shards.flat()).size, 500);
    // Stable across runs: the same shard again is the same list.
    assert.deepEqual(await plan('--shard', '1/3'), shards[1]);
  });
});
