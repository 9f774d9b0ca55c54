/**
 * A reader of ferry's stdout or stderr that goes away (`ferry sync ... | head -2`): a Go tool such
 * as skopeo dies of SIGPIPE there (a shell sees 141). Ferry stops its work as on SIGINT (aborted
 * operations, temp files removed), prints nothing more on either stream and exits 141; no stack
 * trace, no "Unhandled 'error' event". Output written whole before the reader left is a success (0),
 * as for skopeo. Real bin/ferry processes, a real registry; a stalling fake one only to hold a copy
 * half-way.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyImage, parseImageReference, RegistryClient } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { ferryBin } from '../helpers/paths.js';
import { waitFor, walk } from '../helpers/poll.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { run, withTestPolicy } from '../helpers/run.js';
import { type StallingRegistry, startStallingRegistry } from '../helpers/stalling-registry.js';
import { makeTempDir, withTempDir } from '../helpers/tmp.js';

/** 128 + SIGPIPE: what a shell shows for skopeo killed by a closed pipe. */
const BROKEN_PIPE = 141;
const TAGS = Array.from({ length: 300 }, (_, i) => `t${String(i).padStart(3, '0')}`);
// Long names make long lines: the 300 lines (~140 KiB) cannot all sit in a pipe (64 KiB) at once.
const REPO = `pipe/${'r'.repeat(120)}`;

let work = '';
let src: TestRegistry;
let dest: TestRegistry;
const clients: RegistryClient[] = [];

before(async () => {
  work = await makeTempDir('ferry-epipe-');
  [src, dest] = await Promise.all([startRegistry(), startRegistry(), makeImage(join(work, 'img'), { layers: 1 })]);
  const copied = await copyImage(
    parseImageReference(`oci:${join(work, 'img')}:latest`),
    parseImageReference(`docker://${src.host}/${REPO}:${TAGS[0]}`),
    { destinationOptions: { tlsVerify: false }, blobInfoCache: 'none' },
  );
  const c = await registryClient(src);
  for (const tag of TAGS.slice(1)) await c.putManifest(REPO, tag, copied.manifest, copied.manifestMIMEType);
});

after(async () => {
  for (const c of clients) await c.close();
  await Promise.all([src?.stop(), dest?.stop()]);
});

async function registryClient(reg: TestRegistry): Promise<RegistryClient> {
  const c = await RegistryClient.create(reg.host, { tlsVerify: false });
  clients.push(c);
  return c;
}

/** The tags of `repo` in `reg` ([] when the repository does not exist). */
async function tagsOf(reg: TestRegistry, repo: string): Promise<string[]> {
  try {
    return await (await registryClient(reg)).listTags(repo);
  } catch {
    return [];
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Starts bin/ferry with stdout and stderr on pipes; `closed` names the pipes whose reading end this
 * process closes before ferry writes anything (ferry's first write there fails with EPIPE).
 */
function spawnFerry(
  args: string[],
  closed: Array<'stdout' | 'stderr'>,
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(ferryBin, withTestPolicy(args), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  for (const name of closed) child[name]?.destroy();
  if (!closed.includes('stdout')) child.stdout?.on('data', (b: Buffer) => out.push(b));
  if (!closed.includes('stderr')) child.stderr?.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const exit = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  return { child, exit };
}

function syncArgs(destination: string, ...more: string[]): string[] {
  return [
    'sync',
    '--src',
    'docker',
    '--dest',
    'docker',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    ...more,
    `${src.host}/${REPO}`,
    destination,
  ];
}

/** Stopped by the closed pipe: 141 (not killed, not a crash), and nothing on the stream still read. */
function assertBrokenPipeExit(r: Exit, quietStream: 'stdout' | 'stderr'): void {
  assert.equal(r.signal, null, `ferry was killed by ${r.signal}`);
  assert.equal(r.code, BROKEN_PIPE, r.stderr);
  assert.equal(r[quietStream], '', `nothing more is printed on ${quietStream}`);
}

describe('a reader of stdout or stderr that goes away', () => {
  it('`ferry sync | head -2`: two lines, then exit 141 with nothing on stderr, and the sync stops', async () => {
    const namespace = `${dest.host}/head`;
    const script = 'set -o pipefail; "$@" | head -2; echo "ferry exited $?" >&2';
    const r = await run('bash', ['-c', script, 'bash', ferryBin, ...withTestPolicy(syncArgs(namespace))], {
      timeoutMs: 300_000,
    });
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 2, r.stdout);
    for (const l of lines) assert.match(l, /^Copied /);
    assert.equal(r.stderr, `ferry exited ${BROKEN_PIPE}\n`, 'no stack trace, no "Unhandled \'error\' event"');
    const synced = await tagsOf(dest, `head/${'r'.repeat(120)}`);
    assert.ok(synced.length < TAGS.length, `the sync went on to copy all ${synced.length} tags`);
  });

  it('sync with stdout closed before its first line: exits 141, silent on stderr, copies far fewer than every tag', async () => {
    const { exit } = spawnFerry(syncArgs(`${dest.host}/early`), ['stdout']);
    const r = await exit;
    assertBrokenPipeExit(r, 'stderr');
    const synced = await tagsOf(dest, `early/${'r'.repeat(120)}`);
    assert.ok(synced.length < TAGS.length / 2, `${synced.length} of ${TAGS.length} tags copied after the reader left`);
  });

  it('sync --summary-format json with stderr (its per-image lines) closed: exits 141 without the summary on stdout', async () => {
    const { exit } = spawnFerry(syncArgs(`${dest.host}/json`, '--summary-format', 'json'), ['stderr']);
    assertBrokenPipeExit(await exit, 'stdout');
  });

  it('sync with both streams closed: a second EPIPE does not re-enter the stop (still 141)', async () => {
    const { exit } = spawnFerry(syncArgs(`${dest.host}/both`), ['stdout', 'stderr']);
    const r = await exit;
    assert.equal(r.signal, null);
    assert.equal(r.code, BROKEN_PIPE);
  });

  it('list-tags whose reader is gone before the answer: 141; a reader that leaves after the whole answer: 0', async () => {
    const args = ['list-tags', '--tls-verify=false', `docker://${src.host}/${REPO}`];
    const gone = spawnFerry(args, ['stdout']);
    assertBrokenPipeExit(await gone.exit, 'stderr');

    // Nothing is read until ferry has exited: the answer (~3 KiB) went whole into the pipe, as for
    // `skopeo list-tags | head -1`.
    const late = spawn(ferryBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    late.stdout.pause();
    const err: Buffer[] = [];
    late.stderr.on('data', (b: Buffer) => err.push(b));
    const code = await new Promise<number | null>((resolve) => late.on('exit', (c) => resolve(c)));
    late.stdout.destroy();
    assert.equal(code, 0, Buffer.concat(err).toString('utf8'));
  });

  it('inspect with stdout closed: 141 and nothing on stderr; the same with --debug', async () => {
    for (const globals of [[], ['--debug']]) {
      const { exit } = spawnFerry(
        [...globals, 'inspect', '--tls-verify=false', `docker://${src.host}/${REPO}:${TAGS[0]}`],
        ['stdout'],
      );
      assertBrokenPipeExit(await exit, 'stderr');
    }
  });

  it('an error message whose stderr reader is gone: 141 instead of 1 (skopeo dies writing it)', async () => {
    const { exit } = spawnFerry(['inspect', '--tls-verify=false', `docker://${src.host}/no/such:tag`], ['stderr']);
    assertBrokenPipeExit(await exit, 'stdout');
  });
});

describe('a copy whose progress reader goes away', () => {
  let stalling: StallingRegistry;

  before(async () => {
    stalling = await startStallingRegistry();
  });

  after(async () => {
    await stalling.close();
  });

  it('EPIPE on a progress line mid-layer: exits 141, removes its temp files, leaves the layout as it was', async () => {
    await withTempDir(async (dir) => {
      const tmp = join(dir, 'tmp');
      const out = join(dir, 'out');
      await makeImage(out, { tag: 'keep', layers: 1, layerSize: 4096 });
      await mkdir(tmp);
      const before = await walk(out);
      const index = await readFile(join(out, 'index.json'));
      const { child, exit } = spawnFerry(
        ['copy', '--src-tls-verify=false', `docker://${stalling.host}/img:t`, `oci:${out}:new`],
        [],
        // No body timeout within the test: a failure line cannot be what meets the closed pipe.
        { ...process.env, TMPDIR: tmp, FERRY_BLOB_CACHE: 'memory', FERRY_REGISTRY_TIMEOUT_MS: '600000' },
      );
      let exited = false;
      void exit.then(() => {
        exited = true;
      });
      await waitFor('the layer half-way', async () => {
        if (exited) throw new Error(`ferry exited early: ${(await exit).stderr}`);
        return stalling.held.length > 0 && (await walk(out)).length > before.length;
      });
      child.stderr?.destroy();
      // The next progress line ("Progress: …", at most every 5 s while bytes move, counted from
      // ferry's own start) meets the closed pipe: bytes trickle in until ferry exits, ~12 s' worth,
      // never the layer's last one, so the copy cannot end first.
      const res = stalling.held.at(-1);
      let sent = stalling.layer.length >> 1;
      const trickle = setInterval(() => {
        const upTo = Math.min(sent + 16384, stalling.layer.length - 1);
        if (upTo > sent) res?.write(stalling.layer.subarray(sent, upTo));
        sent = upTo;
      }, 100);
      let r: Exit;
      try {
        r = await exit;
      } finally {
        clearInterval(trickle);
      }
      assertBrokenPipeExit(r, 'stdout');
      assert.deepEqual(await walk(out), before, 'no temp file, no blob of the new image left in the layout');
      assert.deepEqual(await readFile(join(out, 'index.json')), index, 'index.json unchanged: no "new" tag');
      assert.deepEqual(await readdir(tmp), []);
    });
  });
});
