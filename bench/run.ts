/**
 * `npm run bench`: Ferry (`bin/ferry`) against skopeo on the same inputs, in turns
 * (Ferry, skopeo, Ferry, skopeo, ...), several runs each; prints medians of wall time, CPU
 * (user+sys) and peak RSS with the ratio Ferry/skopeo, plus the registry requests of each tool's
 * last run (from the registry's access log), and writes the table to bench/results/<date>.md.
 *
 *   npm run bench -- [--runs N] [--scenarios 1,2,4] [--quick] [--tools ferry,skopeo] [--out FILE] [--keep]
 *
 * As root, skopeo's blob-info cache (/var/lib/containers/cache, no flag moves it) is isolated by
 * re-running this harness in a private mount namespace (`unshare -m`) with an empty directory
 * bind-mounted there; "cold" means that directory is emptied before the run. Ferry's cache, when its
 * CLI has `--blob-cache`, is a file in the work dir, emptied the same way.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { makeImage } from '../test/helpers/make-image.js';
import { repoRoot } from '../test/helpers/paths.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { diskWriteSpeed, machineFacts, sha256Speed } from './machine.js';
import { spawnOverhead, TIME_BIN, timedRun } from './measure.js';
import { apiRequests, countPings, countRequests, type RequestCounts } from './requests.js';
import { median, type Sample, summarize, throughputMBps } from './stats.js';
import { renderTable, type ScenarioResult } from './table.js';

type ToolName = 'ferry' | 'skopeo';

interface Options {
  runs: number;
  scenarios: Set<number>;
  quick: boolean;
  tools: ToolName[];
  out?: string;
  keep: boolean;
  /** MiB per layer of the main image (8 layers); default 16, the size of issue 14's goals (4 with --quick). */
  layerMiB?: number;
}

const ALL_SCENARIOS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const SKOPEO_CACHE = '/var/lib/containers/cache';
const NS_ENV = 'FERRY_BENCH_NS';

function usage(msg: string): never {
  process.stderr.write(
    `bench: ${msg}\nusage: npm run bench -- [--runs N] [--scenarios 1,2,...] [--quick] [--tools ferry,skopeo] [--layer-mib N] [--out FILE] [--keep]\n`,
  );
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runs: 5,
    scenarios: new Set(ALL_SCENARIOS),
    quick: false,
    tools: ['ferry', 'skopeo'],
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) usage(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--runs': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage('--runs wants a positive integer');
        o.runs = n;
        break;
      }
      case '--scenarios': {
        const list = value()
          .split(',')
          .map((s) => Number(s.trim()));
        if (list.some((n) => !ALL_SCENARIOS.includes(n)))
          usage(`--scenarios wants numbers from 1 to ${ALL_SCENARIOS.length}`);
        o.scenarios = new Set(list);
        break;
      }
      case '--tools': {
        const list = value()
          .split(',')
          .map((s) => s.trim());
        if (list.length === 0 || list.some((t) => t !== 'ferry' && t !== 'skopeo'))
          usage('--tools wants ferry and/or skopeo');
        o.tools = list as ToolName[];
        break;
      }
      case '--quick':
        o.quick = true;
        break;
      case '--layer-mib': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) usage('--layer-mib wants a positive integer');
        o.layerMiB = n;
        break;
      }
      case '--keep':
        o.keep = true;
        break;
      case '--out':
        o.out = value();
        break;
      case '--help':
      case '-h':
        usage('help');
        break;
      default:
        usage(`unknown argument ${a}`);
    }
  }
  return o;
}

/** As root, re-runs this process in a private mount namespace so skopeo's cache can be replaced. */
function reexecInNamespace(): void {
  if (process.env[NS_ENV] !== undefined || process.geteuid?.() !== 0) return;
  if (spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status !== 0) {
    process.stderr.write(
      `bench: unshare -m does not work here; skopeo's cache in ${SKOPEO_CACHE} cannot be isolated\n`,
    );
    process.exit(3);
  }
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [NS_ENV]: '1' },
  });
  process.exit(r.status ?? 1);
}

interface Tool {
  name: ToolName;
  command: string;
  prefix: string[];
  env: NodeJS.ProcessEnv;
  /** Directory holding the tool's blob-info cache files (emptied for a cold run), if it has one. */
  cacheDir?: string;
  /** Extra `copy` arguments (Ferry's --blob-cache). */
  copyArgs: string[];
}

function emptyDir(dir: string): void {
  for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { recursive: true, force: true });
}

/**
 * Copies the built CLI (bin/, dist/src/, package.json; node_modules linked) into the work dir, so
 * a rebuild of dist/ by someone else during a long run cannot break or change the Ferry measured.
 */
function snapshotFerry(work: string): string {
  const root = path.join(work, 'ferry');
  mkdirSync(root);
  cpSync(path.join(repoRoot, 'bin'), path.join(root, 'bin'), { recursive: true });
  cpSync(path.join(repoRoot, 'dist', 'src'), path.join(root, 'dist', 'src'), { recursive: true });
  cpSync(path.join(repoRoot, 'dist', 'cli'), path.join(root, 'dist', 'cli'), { recursive: true });
  cpSync(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'));
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'));
  return path.join(root, 'bin', 'ferry');
}

/** Whether the Ferry under test has a command (`ferry help CMD` names an unknown one). */
function ferryHasCommand(ferryBin: string, command: string): boolean {
  // An unknown command's --help prints the general help (status 0): look for the command's own usage line.
  const r = spawnSync(ferryBin, [command, '--help'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes(`Usage: ferry ${command} `);
}

function ferryHasBlobCacheFlag(ferryBin: string): boolean {
  const r = spawnSync(ferryBin, ['copy', '--blob-cache', 'none', 'oci:/nonexistent-a:x', 'oci:/nonexistent-b:x'], {
    encoding: 'utf8',
  });
  return !/unknown option/i.test(`${r.stderr}${r.stdout}`);
}

function makeTools(work: string, names: ToolName[]): { tools: Tool[]; cacheNote: string } {
  const notes: string[] = [];
  const tools: Tool[] = [];
  for (const name of names) {
    if (name === 'skopeo') {
      const dir = path.join(work, 'skopeo-cache');
      mkdirSync(dir);
      const env = { ...process.env };
      if (process.env[NS_ENV] === '1') {
        mkdirSync(SKOPEO_CACHE, { recursive: true });
        execFileSync('mount', ['--bind', dir, SKOPEO_CACHE]);
        notes.push(`skopeo: ${SKOPEO_CACHE} replaced by an empty dir (unshare -m)`);
      } else {
        // rootless skopeo keeps its cache under $HOME/.local/share/containers/cache
        env['HOME'] = dir;
        env['XDG_DATA_HOME'] = path.join(dir, '.local', 'share');
        notes.push('skopeo: HOME pointed at an empty dir (not root)');
      }
      tools.push({ name, command: 'skopeo', prefix: [], env, cacheDir: dir, copyArgs: [] });
    } else {
      const dir = path.join(work, 'ferry-cache');
      mkdirSync(dir);
      const ferryBin = snapshotFerry(work);
      const flag = ferryHasBlobCacheFlag(ferryBin);
      notes.push(flag ? 'Ferry: --blob-cache FILE in an empty dir' : 'Ferry: no --blob-cache flag (run plainly)');
      tools.push({
        name,
        command: ferryBin,
        prefix: [],
        env: { ...process.env },
        ...(flag ? { cacheDir: dir } : {}),
        copyArgs: flag ? ['--blob-cache', path.join(dir, 'blob-info-cache-v1.sqlite')] : [],
      });
    }
  }
  return { tools, cacheNote: notes.join('; ') };
}

interface Scenario {
  num: number;
  id: string;
  name: string;
  /** Uses the registry (requests are counted). */
  registry: boolean;
  /** Once per tool, untimed, before its runs. */
  setup?: (tool: Tool) => Promise<void>;
  /** Before each timed run, untimed. */
  prep?: (tool: Tool, run: number) => Promise<void>;
  args: (tool: Tool, run: number) => string[];
  /** After each timed run, untimed; a string is a problem to report. */
  check?: (tool: Tool, run: number) => Promise<string | undefined>;
  /** Bytes moved, for a MB/s note. */
  bytes?: number;
  /** The most API requests (pings apart) Ferry's last run may make; more is reported as a problem. */
  ferryRequestGoal?: number;
  /** Issue 14's goals: the most Ferry's median wall time may be, as a multiple of skopeo's. */
  wallRatioGoal?: number;
  /** Issue 14's goals: the most Ferry's median peak RSS may be, in MiB. */
  ferryRssGoalMiB?: number;
}

async function blobBytes(layout: string): Promise<number> {
  const dir = path.join(layout, 'blobs', 'sha256');
  let total = 0;
  for (const f of await readdir(dir)) total += (await stat(path.join(dir, f))).size;
  return total;
}

/** Layer media types of the image an OCI layout's only tag points to. */
async function layerMediaTypes(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const digest = index.manifests[0]?.digest ?? '';
  const manifest = JSON.parse(
    await readFile(path.join(layout, 'blobs', 'sha256', digest.replace('sha256:', '')), 'utf8'),
  ) as {
    layers: { mediaType: string }[];
  };
  return manifest.layers.map((l) => l.mediaType);
}

/** Tags the manifest `repo:from` as each of `tags` (plain http, 8 PUTs at a time). */
async function tagManifest(host: string, repo: string, from: string, tags: string[]): Promise<void> {
  const base = `http://${host}/v2/${repo}/manifests`;
  const got = await fetch(`${base}/${from}`, {
    headers: {
      accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  if (!got.ok) throw new Error(`GET ${repo}:${from}: HTTP ${got.status}`);
  const type = got.headers.get('content-type') ?? 'application/vnd.oci.image.manifest.v1+json';
  const body = Buffer.from(await got.arrayBuffer());
  const queue = [...tags];
  const worker = async (): Promise<void> => {
    for (let tag = queue.shift(); tag !== undefined; tag = queue.shift()) {
      const put = await fetch(`${base}/${tag}`, { method: 'PUT', headers: { 'content-type': type }, body });
      await put.arrayBuffer();
      if (put.status !== 201) throw new Error(`PUT ${repo}:${tag}: HTTP ${put.status}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function logSize(reg: TestRegistry): Promise<number> {
  return (await stat(reg.logPath)).size;
}

async function logSince(reg: TestRegistry, offset: number): Promise<string> {
  const buf = await readFile(reg.logPath);
  return buf.subarray(offset).toString('utf8');
}

function log(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

async function runScenario(
  s: Scenario,
  tools: Tool[],
  runs: number,
  reg: TestRegistry,
  work: string,
  overheadS: number,
): Promise<ScenarioResult> {
  const samples = new Map<ToolName, Sample[]>();
  const requests = new Map<ToolName, RequestCounts>();
  const pings = new Map<ToolName, number>();
  const problems: string[] = [];
  const failed = new Set<ToolName>();
  for (const tool of tools) {
    samples.set(tool.name, []);
    try {
      await s.setup?.(tool);
    } catch (e) {
      failed.add(tool.name);
      problems.push(`${tool.name} setup failed: ${(e as Error).message.slice(0, 300)}`);
    }
  }
  for (let run = 1; run <= runs; run++) {
    for (const tool of tools) {
      if (failed.has(tool.name)) continue;
      await s.prep?.(tool, run);
      const before = await logSize(reg);
      try {
        const sample = await timedRun(tool.command, [...tool.prefix, ...s.args(tool, run)], {
          env: tool.env,
          timeFile: path.join(work, 'time.out'),
          overheadS,
        });
        samples.get(tool.name)!.push(sample);
        log(`${s.id} ${tool.name} run ${run}: ${sample.wallS.toFixed(3)} s`);
      } catch (e) {
        failed.add(tool.name);
        problems.push(`${tool.name} failed: ${(e as Error).message.slice(0, 400)}`);
        log(`${s.id} ${tool.name} run ${run} FAILED: ${(e as Error).message}`);
        continue;
      }
      if (s.registry) {
        await sleep(150); // the registry writes its access-log line after the response
        const seen = await logSince(reg, before);
        requests.set(tool.name, countRequests(seen));
        pings.set(tool.name, countPings(seen));
      }
      const problem = await s.check?.(tool, run);
      if (problem !== undefined && !problems.includes(problem)) problems.push(problem);
    }
  }
  const result: ScenarioResult = { id: s.id, name: s.name };
  const notes: string[] = [];
  for (const tool of tools) {
    const list = samples.get(tool.name)!;
    if (list.length === 0 || failed.has(tool.name)) continue;
    const summary = summarize(list);
    result[tool.name] = summary;
    if (s.bytes !== undefined) notes.push(`${tool.name} ${throughputMBps(s.bytes, summary.wallS).toFixed(0)} MB/s`);
  }
  if (s.registry) {
    const f = requests.get('ferry');
    const k = requests.get('skopeo');
    if (f !== undefined) result.ferryRequests = f;
    if (k !== undefined) result.skopeoRequests = k;
    for (const tool of tools) {
      const c = requests.get(tool.name);
      if (c === undefined || s.ferryRequestGoal === undefined) continue;
      notes.push(
        `${tool.name} ${apiRequests(c, pings.get(tool.name) ?? 0)} requests + ${pings.get(tool.name) ?? 0} ping(s)`,
      );
    }
    const fc = requests.get('ferry');
    if (fc !== undefined && s.ferryRequestGoal !== undefined) {
      const n = apiRequests(fc, pings.get('ferry') ?? 0);
      notes.push(
        n <= s.ferryRequestGoal
          ? `goal ≤ ${s.ferryRequestGoal} requests met`
          : `GOAL MISSED: ${n} > ${s.ferryRequestGoal} requests`,
      );
    }
  }
  notes.push(...goalNotes(s, result));
  result.note = [...notes, ...problems].join('; ');
  return result;
}

/** "goal wall ≤ 0.8× skopeo: met (0.74×)" or "GOAL MISSED: …", for each goal the scenario has. */
function goalNotes(s: Scenario, result: ScenarioResult): string[] {
  const out: string[] = [];
  const f = result.ferry;
  const k = result.skopeo;
  if (s.wallRatioGoal !== undefined && f !== undefined && k !== undefined && k.wallS > 0) {
    const ratio = f.wallS / k.wallS;
    const what = `wall ≤ ${s.wallRatioGoal}× skopeo`;
    out.push(
      ratio <= s.wallRatioGoal
        ? `goal ${what} met (${ratio.toFixed(2)}×)`
        : `GOAL MISSED: ${what} (${ratio.toFixed(2)}×)`,
    );
  }
  if (s.ferryRssGoalMiB !== undefined && f !== undefined) {
    const what = `Ferry peak RSS ≤ ${s.ferryRssGoalMiB} MiB`;
    out.push(
      f.rssMiB <= s.ferryRssGoalMiB
        ? `goal ${what} met (${f.rssMiB.toFixed(0)} MiB)`
        : `GOAL MISSED: ${what} (${f.rssMiB.toFixed(0)} MiB)`,
    );
  }
  return out;
}

function dateStamp(d: Date): string {
  return d.toISOString().slice(0, 10);
}

async function startupTimes(tools: Tool[], work: string, n: number, overheadS: number): Promise<string> {
  const walls = new Map<ToolName, number[]>();
  const rss = new Map<ToolName, number[]>();
  for (let i = 0; i < n; i++) {
    for (const tool of tools) {
      const s = await timedRun(tool.command, [...tool.prefix, '--version'], {
        env: tool.env,
        timeFile: path.join(work, 'time.out'),
        overheadS,
      });
      walls.set(tool.name, [...(walls.get(tool.name) ?? []), s.wallS]);
      rss.set(tool.name, [...(rss.get(tool.name) ?? []), s.rssMiB]);
    }
  }
  const parts = tools.map(
    (t) =>
      `${t.name} --version: ${(median(walls.get(t.name)!) * 1000).toFixed(1)} ms, ${median(rss.get(t.name)!).toFixed(0)} MiB`,
  );
  const f = walls.get('ferry');
  const k = walls.get('skopeo');
  if (f !== undefined && k !== undefined) parts.push(`ratio ${(median(f) / median(k)).toFixed(1)}`);
  return `Start-up (median of ${n} runs each, alternating): ${parts.join('; ')}.`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  if (!existsSync(TIME_BIN)) usage(`${TIME_BIN} is missing (Debian package \`time\`: scripts/install-system-deps.sh)`);
  reexecInNamespace();
  const started = new Date();
  const loadStart = os.loadavg();
  const work = await mkdir(path.join(os.tmpdir(), `ferry-bench-${process.pid}`), { recursive: true }).then(() =>
    path.join(os.tmpdir(), `ferry-bench-${process.pid}`),
  );
  let reg: TestRegistry | undefined;
  try {
    const { tools, cacheNote } = makeTools(work, options.tools);
    const clearCache = async (tool: Tool): Promise<void> => {
      if (tool.cacheDir !== undefined) emptyDir(tool.cacheDir);
    };
    const copy = (tool: Tool, ...args: string[]): string[] => ['copy', '-q', ...tool.copyArgs, ...args];
    const S = '--src-tls-verify=false';
    const D = '--dest-tls-verify=false';
    // skopeo 1.9.3's sync has no -q (its output is discarded anyway).
    const sync = (tool: Tool, from: string, to: string): string[] => [
      'sync',
      ...tool.copyArgs,
      '--src',
      'docker',
      '--dest',
      'docker',
      S,
      D,
      from,
      to,
    ];

    const q = options.quick;
    const MiB = 1024 * 1024;
    const main = { layers: 8, layerSize: (options.layerMiB ?? (q ? 4 : 16)) * MiB };
    const largeSize = q ? 128 * MiB : 1024 * MiB;
    const multi = { layers: 2, layerSize: q ? 2 * MiB : 16 * MiB };
    const img = path.join(work, 'img');
    const large = path.join(work, 'large');
    const multiDir = path.join(work, 'multi');
    const sel = options.scenarios;

    log(`work dir ${work}; generating images`);
    let t0 = Date.now();
    if ([1, 2, 3, 4, 7, 8, 9].some((n) => sel.has(n)))
      await makeImage(img, { tag: 't', ...main, seed: 1, entropy: 0.5 });
    if (sel.has(5)) await makeImage(large, { tag: 't', layers: 1, layerSize: largeSize, seed: 2, entropy: 0.5 });
    if (sel.has(6)) {
      await makeImage(multiDir, {
        tag: 't',
        ...multi,
        seed: 3,
        entropy: 0.5,
        platforms: ['linux/amd64', 'linux/arm64/v8', 'linux/ppc64le', 'linux/s390x'],
      });
    }
    log(`images made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const imgBytes = existsSync(img) ? await blobBytes(img) : 0;
    const largeBytes = existsSync(large) ? await blobBytes(large) : 0;
    const multiBytes = existsSync(multiDir) ? await blobBytes(multiDir) : 0;

    reg = await startRegistry({ accessLog: true });
    const R = reg.host;
    // Sources for the pulls, pushed once by skopeo (untimed) with an empty, then discarded, cache.
    const seed = async (layout: string, repo: string): Promise<void> => {
      execFileSync('skopeo', ['copy', '-q', D, `oci:${layout}:t`, `docker://${R}/${repo}:t`], { stdio: 'inherit' });
    };
    if ([2, 3, 4, 8, 9].some((n) => sel.has(n))) await seed(img, 'src/img');
    if (sel.has(5)) await seed(large, 'large/src');
    // Scenario 9's repository: the same image under SYNC_TAGS tags (issue 14: "the same 500-tag
    // repository"), made untimed by one skopeo copy and then one manifest PUT per further tag.
    const SYNC_TAGS = 500;
    if (sel.has(9)) {
      execFileSync('skopeo', ['copy', '-q', S, D, `docker://${R}/src/img:t`, `docker://${R}/src/many:t0`], {
        stdio: 'inherit',
      });
      await tagManifest(
        R,
        'src/many',
        't0',
        Array.from({ length: SYNC_TAGS - 1 }, (_, i) => `t${i + 1}`),
      );
    }
    for (const t of tools) await clearCache(t);

    const pullDir = (tool: Tool, what: string): string => path.join(work, `${what}-${tool.name}`);
    const freshDir = (what: string) => async (tool: Tool) => {
      await clearCache(tool);
      await rm(pullDir(tool, what), { recursive: true, force: true });
    };

    const allScenarios: Scenario[] = [
      {
        num: 1,
        id: '1',
        name: `push oci → registry, new repo, cold cache (8 × ${main.layerSize / MiB} MiB)`,
        registry: true,
        prep: clearCache,
        args: (t, i) => copy(t, D, `oci:${img}:t`, `docker://${R}/push/${t.name}-r${i}:t`),
        bytes: imgBytes,
        wallRatioGoal: 0.8,
      },
      {
        num: 2,
        id: '2',
        name: 'pull registry → oci, new dir, cold cache',
        registry: true,
        prep: freshDir('pull'),
        args: (t) => copy(t, S, `docker://${R}/src/img:t`, `oci:${pullDir(t, 'pull')}:t`),
        bytes: imgBytes,
        wallRatioGoal: 0.8,
        ferryRssGoalMiB: 80,
      },
      {
        num: 3,
        id: '3a',
        name: 'registry → registry, new repo, same registry, cold cache',
        registry: true,
        prep: clearCache,
        args: (t, i) => copy(t, S, D, `docker://${R}/src/img:t`, `docker://${R}/xcold/${t.name}-r${i}:t`),
      },
      {
        num: 3,
        id: '3b',
        name: 'registry → registry, new repo, same registry, warm cache (mounts)',
        registry: true,
        // warm the cache with one untimed copy: it learns where every blob lives
        setup: async (t) => {
          await clearCache(t);
          execFileSync(
            t.command,
            [...t.prefix, ...copy(t, S, D, `docker://${R}/src/img:t`, `docker://${R}/xwarm/${t.name}-warmup:t`)],
            {
              env: t.env,
              stdio: ['ignore', 'ignore', 'pipe'],
            },
          );
        },
        args: (t, i) => copy(t, S, D, `docker://${R}/src/img:t`, `docker://${R}/xwarm/${t.name}-r${i}:t`),
      },
      {
        num: 4,
        id: '4',
        name: 're-copy oci → registry repo that has everything, cold cache',
        registry: true,
        prep: clearCache,
        args: (t) => copy(t, D, `oci:${img}:t`, `docker://${R}/src/img:t`),
      },
      {
        num: 5,
        id: '5a',
        name: `push one ${largeSize / MiB} MiB layer oci → registry, new repo`,
        registry: true,
        prep: clearCache,
        args: (t, i) => copy(t, D, `oci:${large}:t`, `docker://${R}/large/${t.name}-r${i}:t`),
        bytes: largeBytes,
      },
      {
        num: 5,
        id: '5b',
        name: `pull one ${largeSize / MiB} MiB layer registry → oci, new dir`,
        registry: true,
        prep: freshDir('lpull'),
        args: (t) => copy(t, S, `docker://${R}/large/src:t`, `oci:${pullDir(t, 'lpull')}:t`),
        bytes: largeBytes,
      },
      {
        num: 6,
        id: '6',
        name: `multi-arch index, 4 platforms × ${multi.layers} × ${multi.layerSize / MiB} MiB, --all, oci → registry new repo`,
        registry: true,
        prep: clearCache,
        args: (t, i) => copy(t, '--all', D, `oci:${multiDir}:t`, `docker://${R}/multi/${t.name}-r${i}:t`),
        bytes: multiBytes,
      },
      {
        num: 7,
        id: '7',
        name: 'recompress gzip → zstd, oci → oci, new dir',
        registry: false,
        prep: freshDir('zstd'),
        // skopeo 1.9.3 has no --dest-force-compress-format: it recompresses on --dest-compress-format alone
        args: (t) =>
          copy(
            t,
            '--dest-compress-format',
            'zstd',
            ...(t.name === 'ferry' ? ['--dest-force-compress-format'] : []),
            `oci:${img}:t`,
            `oci:${pullDir(t, 'zstd')}:t`,
          ),
        check: async (t) => {
          const types = await layerMediaTypes(pullDir(t, 'zstd'));
          const bad = types.filter((m) => !m.endsWith('+zstd'));
          return bad.length === 0 ? undefined : `${t.name} left ${bad.length} layers not zstd (${bad[0]})`;
        },
      },
    ];
    // A no-op copy: the destination already holds the image (seeded once per tool, untimed, by skopeo).
    allScenarios.push({
      num: 8,
      id: '8',
      name: 'no-op copy registry → registry (the destination holds the image), same registry',
      registry: true,
      setup: async (t) => {
        execFileSync('skopeo', ['copy', '-q', S, D, `docker://${R}/src/img:t`, `docker://${R}/noop/${t.name}:t`], {
          stdio: 'inherit',
        });
      },
      prep: clearCache,
      args: (t) => copy(t, S, D, `docker://${R}/src/img:t`, `docker://${R}/noop/${t.name}:t`),
      ferryRequestGoal: 3,
      wallRatioGoal: 1.5,
    });
    // A no-op sync of a repository of SYNC_TAGS tags, synced once before (untimed). Same arguments for
    // both tools (skopeo's interface); a Ferry without the sync command shows skopeo alone with the reason.
    allScenarios.push({
      num: 9,
      id: '9',
      name: `no-op sync registry → registry of one repository of ${SYNC_TAGS} tags (nothing changed)`,
      registry: true,
      setup: async (t) => {
        if (t.name === 'ferry' && !ferryHasCommand(t.command, 'sync')) throw new Error('ferry has no sync command yet');
        await clearCache(t);
        execFileSync(t.command, [...t.prefix, ...sync(t, `${R}/src/many`, `${R}/sync-${t.name}`)], {
          env: t.env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
      },
      args: (t) => sync(t, `${R}/src/many`, `${R}/sync-${t.name}`),
      wallRatioGoal: 0.3,
    });
    const scenarios = allScenarios.filter((s) => sel.has(s.num));

    const facts = machineFacts();
    const overheadS = await spawnOverhead(path.join(work, 'time.out'));
    const results: ScenarioResult[] = [];
    for (const s of scenarios) {
      t0 = Date.now();
      results.push(await runScenario(s, tools, options.runs, reg, work, overheadS));
      log(`scenario ${s.id} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      for (const t of tools)
        for (const what of ['pull', 'lpull', 'zstd']) await rm(pullDir(t, what), { recursive: true, force: true });
    }

    const extra: string[] = [];
    if (sel.has(5)) {
      const sha = sha256Speed(q ? 256 * MiB : 1024 * MiB);
      const disk = await diskWriteSpeed(work, q ? 256 * MiB : 1024 * MiB);
      extra.push(
        `Scenario 5 reference speeds on this machine: sha256 (node:crypto, in memory) ${sha.toFixed(0)} MB/s; ` +
          `sequential disk write with fsync ${disk.toFixed(0)} MB/s. Layer blob: ${(largeBytes / 1e6).toFixed(0)} MB gzip.`,
      );
    }
    extra.push(await startupTimes(tools, work, 20, overheadS));

    const table = renderTable(results);
    const load = (l: number[]): string => l.map((x) => x.toFixed(1)).join(' ');
    const header = [
      `# Ferry vs skopeo benchmark, ${started.toISOString().replace(/\.\d+Z$/, 'Z')}`,
      '',
      `Machine: ${facts.cores} cores (${facts.cpuModel}), ${facts.memoryGiB} GiB, ${facts.kernel}; Node ${facts.node}; ${facts.skopeo}; registry: ${facts.registry} on 127.0.0.1 (plain http).`,
      `Load average at start ${load(loadStart)}, at end ${load(os.loadavg())} (other work on the machine inflates and scatters the times).`,
      `Runs: ${options.runs} per tool per scenario, in turns (${tools.map((t) => t.name).join(', ')}, ...); medians.${q ? ' --quick (small images).' : ''}`,
      `Images: ${main.layers} × ${main.layerSize / MiB} MiB layers, entropy 0.5, gzip (${(imgBytes / 1e6).toFixed(1)} MB of blobs)` +
        (sel.has(5) ? `; large: 1 × ${largeSize / MiB} MiB` : '') +
        (sel.has(6)
          ? `; multi-arch: 4 × ${multi.layers} × ${multi.layerSize / MiB} MiB (${(multiBytes / 1e6).toFixed(1)} MB)`
          : '') +
        '.',
      `Blob-info caches: ${cacheNote}. Cold = emptied before each run; warm (3b) = kept after one untimed copy.`,
      `Wall: measured around the child by the harness, minus its own spawn cost (${(overheadS * 1000).toFixed(1)} ms, median of /usr/bin/time true); CPU = user+sys and RSS = peak, from /usr/bin/time. Requests: the last run of each tool, from the registry access log (HEAD/GET/POST/PATCH/PUT; POSTs with mount=).`,
      '',
    ].join('\n');
    const text = `${header}\n${table}\n${extra.join('\n\n')}\n`;
    process.stdout.write(`\n${text}`);

    const full = sel.size === ALL_SCENARIOS.length && !q && options.tools.length === 2;
    const out =
      options.out ??
      path.join(repoRoot, 'bench', 'results', `${dateStamp(started)}${full ? '' : q ? '-quick' : '-partial'}.md`);
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, text);
    log(`wrote ${out}`);
  } finally {
    await reg?.stop();
    if (options.keep) log(`kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

await main();
