/**
 * `ferry copy` stopped by SIGINT/SIGTERM: real bin/ferry processes copy from a registry whose layer
 * stalls half-way (or from an oci-archive FIFO that stops), and are signalled once the destination's
 * temp file exists. Each must exit 130/143 with one line on stderr, leave no temp file in the
 * destination or in its private TMPDIR, and leave what the destination held before intact.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { blobPath, makeImage } from '../helpers/make-image.js';
import { ferryBin } from '../helpers/paths.js';
import { waitFor, walk } from '../helpers/poll.js';
import { run, withTestPolicy } from '../helpers/run.js';
import { type StallingRegistry, startStallingRegistry } from '../helpers/stalling-registry.js';
import { withTempDir } from '../helpers/tmp.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let registry: StallingRegistry;

before(async () => {
  registry = await startStallingRegistry();
});

after(async () => {
  await registry.close();
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function spawnFerry(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(ferryBin, withTestPolicy(args), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const err: Buffer[] = [];
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exit = new Promise<Exit>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
  return { child, exit };
}

function childEnv(tmp: string): NodeJS.ProcessEnv {
  return { ...process.env, TMPDIR: tmp, FERRY_BLOB_CACHE: 'memory' };
}

const isTemp = (p: string) => /(^|\/)(\.ferry-blob-|incoming-)[^/]*$/.test(p);
const isFerryTemp = (p: string) => /(^|\/)\.?[^/]*ferry-[a-z-]+-\d+-[0-9a-f]{12}($|\/)/.test(p) || isTemp(p);

/** Starts a copy from the stalling registry to `dest`, signals it once a blob temp file exists, returns how it ended. */
async function stopCopy(
  dest: string,
  watch: string[],
  tmp: string,
  signal: NodeJS.Signals,
  globals: string[] = [],
): Promise<Exit> {
  const { child, exit } = spawnFerry(
    [...globals, 'copy', '-q', '--src-tls-verify=false', `docker://${registry.host}/img:t`, dest],
    childEnv(tmp),
  );
  let exited = false;
  void exit.then(() => {
    exited = true;
  });
  await waitFor('a blob temp file', async () => {
    if (exited) throw new Error(`ferry exited early: ${(await exit).stderr}`);
    for (const root of watch) if ((await walk(root)).some(isTemp)) return true;
    return false;
  });
  child.kill(signal);
  return exit;
}

/** Stopped cleanly: exit code 128 + the signal's number (or, `forced`, killed by that signal: a shell sees the same), one line on stderr. */
function assertStopped(r: Exit, signal: 'SIGINT' | 'SIGTERM', forced = false): void {
  if (forced && r.signal !== null) assert.equal(r.signal, signal);
  else assert.equal(r.code, signal === 'SIGINT' ? 130 : 143, r.stderr);
  assert.equal(r.stderr, signal === 'SIGINT' ? 'ferry: interrupted\n' : 'ferry: terminated\n');
}

/** Every blob of the image `tag` in `layout` exists with its digest, and skopeo reads the image. */
async function assertImageIntact(layout: string, tag: string, blobs: string[]): Promise<void> {
  for (const d of blobs) assert.equal(sha256(await readFile(blobPath(layout, d))), d);
  const r = await run('skopeo', ['inspect', `oci:${layout}:${tag}`]);
  assert.equal(r.code, 0, r.stderr);
}

test('SIGINT during a copy into oci: exits 130, leaves no temp file and the layout image intact', async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const out = join(dir, 'out');
    const keep = await makeImage(out, { tag: 'keep', layers: 2, layerSize: 4096 });
    const keepBlobs = [
      keep.digest,
      keep.instances[0]!.config.digest,
      ...keep.instances[0]!.layers.map((l) => l.digest),
    ];
    const index = await readFile(join(out, 'index.json'));
    const r = await stopCopy(`oci:${out}:new`, [out], tmp, 'SIGINT');
    assertStopped(r, 'SIGINT');
    assert.deepEqual((await walk(out)).filter(isFerryTemp), []);
    assert.deepEqual(await readdir(tmp), []);
    assert.deepEqual(await readFile(join(out, 'index.json')), index, 'index.json unchanged');
    await assertImageIntact(out, 'keep', keepBlobs);
  });
});

test('SIGTERM during a copy into dir: exits 143 and leaves the previous dir: image as it was', async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    await makeImage(join(dir, 'src'), { tag: 'keep', layers: 1, layerSize: 4096 });
    const out = join(dir, 'out');
    const copied = await run('skopeo', [
      '--insecure-policy',
      'copy',
      '-q',
      `oci:${join(dir, 'src')}:keep`,
      `dir:${out}`,
    ]);
    assert.equal(copied.code, 0, copied.stderr);
    const before = await walk(dir);
    const r = await stopCopy(`dir:${out}`, [dir], tmp, 'SIGTERM');
    assertStopped(r, 'SIGTERM');
    assert.deepEqual(await walk(dir), before);
    assert.deepEqual(await readdir(tmp), []);
  });
});

for (const [transport, signal] of [
  ['docker-archive', 'SIGINT'],
  ['oci-archive', 'SIGTERM'],
] as const) {
  test(`${signal} during a copy into ${transport}: leaves the old archive byte for byte and an empty TMPDIR (one line even with --debug)`, async () => {
    await withTempDir(async (dir) => {
      const tmp = join(dir, 'tmp');
      await mkdir(tmp);
      const archive = join(dir, 'image.tar');
      await makeImage(join(dir, 'src'), { tag: 'keep', layers: 1, layerSize: 4096 });
      const target =
        transport === 'docker-archive' ? `${transport}:${archive}:keep:v1` : `${transport}:${archive}:keep`;
      const made = await run('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${join(dir, 'src')}:keep`, target]);
      assert.equal(made.code, 0, made.stderr);
      const old = await readFile(archive);
      const r = await stopCopy(`${transport}:${archive}`, [tmp], tmp, signal, ['--debug']);
      assertStopped(r, signal);
      assert.deepEqual(await readFile(archive), old);
      assert.deepEqual(await readdir(dir), ['image.tar', 'src', 'tmp']);
      assert.deepEqual(await readdir(tmp), []);
    });
  });
}

for (const [transport, started] of [
  // oci-archive: extracted into a temp layout; docker-archive: copied into a temp tar (a FIFO cannot be seeked).
  ['oci-archive', (p: string) => p.includes('/blobs/')],
  ['docker-archive', (p: string) => p.endsWith('/archive.tar')],
] as const) {
  test(`SIGINT while a ${transport} source is read from a FIFO removes its temp dir`, async () => {
    await withTempDir(async (dir) => {
      const tmp = join(dir, 'tmp');
      await mkdir(tmp);
      await makeImage(join(dir, 'src'), { tag: 'keep', layers: 1, layerSize: 2 * 1024 * 1024, entropy: 1 });
      const archive = join(dir, 'image.tar');
      const made = await run('skopeo', [
        '--insecure-policy',
        'copy',
        '-q',
        `oci:${join(dir, 'src')}:keep`,
        `${transport}:${archive}`,
      ]);
      assert.equal(made.code, 0, made.stderr);
      const bytes = await readFile(archive);
      const fifo = join(dir, 'fifo');
      assert.equal((await run('mkfifo', [fifo])).code, 0);
      const out = join(dir, 'out');
      const { child, exit } = spawnFerry(['copy', '-q', `${transport}:${fifo}`, `oci:${out}:t`], childEnv(tmp));
      // Half the archive, then the writer stays open: the reading waits.
      const writer = createWriteStream(fifo);
      writer.on('error', () => {}); // the reader may be gone first
      writer.write(bytes.subarray(0, bytes.length >> 1));
      try {
        await waitFor('the temp copy', async () => (await walk(tmp)).some(started));
        child.kill('SIGINT');
        assertStopped(await exit, 'SIGINT');
      } finally {
        writer.destroy();
      }
      assert.deepEqual(await readdir(tmp), []);
      assert.deepEqual((await walk(out)).filter(isFerryTemp), []);
    });
  });
}

test('a second signal exits at once, removing the temp dir of work that could not stop', async () => {
  await withTempDir(async (dir) => {
    const tmp = join(dir, 'tmp');
    await mkdir(tmp);
    const fifo = join(dir, 'fifo');
    assert.equal((await run('mkfifo', [fifo])).code, 0);
    // No writer ever opens the FIFO: opening it for reading blocks in a thread, where no abort reaches.
    const { child, exit } = spawnFerry(
      ['copy', '-q', `oci-archive:${fifo}`, `oci:${join(dir, 'out')}:t`],
      childEnv(tmp),
    );
    await waitFor('the extraction temp dir', async () => (await readdir(tmp)).length > 0);
    let exited = false;
    void exit.then(() => {
      exited = true;
    });
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(exited, false, 'the first signal cannot stop a blocked open');
    child.kill('SIGINT');
    assertStopped(await exit, 'SIGINT', true);
    assert.deepEqual(await readdir(tmp), []);
  });
});
