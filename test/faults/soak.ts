/**
 * `npm run soak`: many copies (push, pull into a layout that holds another image, registry →
 * registry) of single and multi-arch images through fault proxies that inject random faults from a
 * seed, until at least --faults faults were injected. Prints the seed, the faults by kind and what
 * became of the copies; exits 1 if any copy was corrupt, hung or failed with an untyped error, if
 * fewer than 90 % succeeded, or if too few faults were injected.
 *
 *   node dist/test/faults/soak.js [--seed N] [--faults N] [--max-copies N] [--probability P] [--minutes M]
 *   (or FERRY_SOAK_SEED=N)
 */
import { parseArgs } from 'node:util';
import { FAULT_KINDS, type FaultKind, type FaultProxy, seededRandom } from '../helpers/fault-proxy.js';
import { type Direction, FaultStage, type Judged, type Verdict } from './scenario.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    faults: { type: 'string', default: '220' },
    'max-copies': { type: 'string', default: '800' },
    probability: { type: 'string', default: '0.05' },
    minutes: { type: 'string', default: '9' },
  },
});

const seed = Number(values.seed ?? process.env.FERRY_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
const wantFaults = Number(values.faults);
const maxCopies = Number(values['max-copies']);
const probability = Number(values.probability);
const deadline = Date.now() + Number(values.minutes) * 60_000;
const CLIENT_TIMEOUT_MS = 1000;
const STALL_MS = 2500;
const COPY_TIMEOUT_MS = 60_000;

if (![seed, wantFaults, maxCopies, probability].every(Number.isFinite)) {
  console.error('soak: --seed, --faults, --max-copies and --probability take numbers');
  process.exit(2);
}

interface Failure {
  n: number;
  direction: Direction;
  image: string;
  kinds: FaultKind[];
  judged: Judged;
}

function injectedSince(p: FaultProxy, from: number): FaultKind[] {
  return p.injected.slice(from).map((f) => f.kind);
}

async function main(): Promise<number> {
  console.log(`soak: seed ${seed} (replay: npm run soak -- --seed ${seed})`);
  const stage = await FaultStage.start({
    single: 4,
    multi: 2,
    stallMs: STALL_MS,
    copyTimeoutMs: COPY_TIMEOUT_MS,
    registryOptions: { retryDelayMs: 200, registryTimeoutMs: CLIENT_TIMEOUT_MS },
  });
  const started = Date.now();
  const verdicts: Record<Verdict, number> = { success: 0, clean: 0, corrupt: 0, untyped: 0, hang: 0 };
  const failures: Failure[] = [];
  const failedWith = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const codes = new Map<string, number>();
  let copies = 0;
  try {
    const pick = seededRandom(seed);
    stage.pa.setRandom({ seed: seed + 1, probability });
    stage.pb.setRandom({ seed: seed + 2, probability });
    const directions: Direction[] = ['push', 'pull', 'copy'];
    const faults = (): number => stage.pa.total() + stage.pb.total();
    while (faults() < wantFaults && copies < maxCopies && Date.now() < deadline) {
      const direction = directions[Math.floor(pick() * directions.length)] ?? 'push';
      const image = stage.images[Math.floor(pick() * stage.images.length)] ?? stage.images[0];
      if (image === undefined) throw new Error('no images staged');
      const [fa, fb] = [stage.pa.injected.length, stage.pb.injected.length];
      const judged = await stage.run(direction, image);
      copies++;
      verdicts[judged.verdict]++;
      const kinds = [...injectedSince(stage.pa, fa), ...injectedSince(stage.pb, fb)];
      if (judged.verdict !== 'success') {
        failures.push({ n: copies, direction, image: image.name, kinds, judged });
        for (const k of new Set(kinds)) failedWith[k]++;
        const key = judged.code ?? judged.verdict;
        codes.set(key, (codes.get(key) ?? 0) + 1);
      }
      if (copies % 25 === 0) {
        console.log(
          `  ${copies} copies, ${faults()} faults, ${verdicts.success} ok, ${copies - verdicts.success} not, ${Math.round((Date.now() - started) / 1000)} s`,
        );
      }
    }
    stage.calm();
    // The images staged before the faults (registry a was restarted under them) must still be whole.
    const lost = await stage.sourceProblems();
    const byKind = FAULT_KINDS.map((k) => [k, stage.pa.counts[k] + stage.pb.counts[k]] as const);
    const total = faults();
    const rate = copies === 0 ? 0 : verdicts.success / copies;
    console.log('');
    console.log(`seed:                 ${seed}`);
    console.log(
      `settings:             probability ${probability} per request, client idle timeout ${CLIENT_TIMEOUT_MS} ms, stall ${STALL_MS} ms, retry delay 200 ms, copy timeout ${COPY_TIMEOUT_MS} ms`,
    );
    console.log(`faults injected:      ${total}`);
    for (const [k, n] of byKind)
      console.log(`  ${k.padEnd(30)} ${String(n).padStart(4)}   (in ${failedWith[k]} failed copies)`);
    console.log(`copies attempted:     ${copies}`);
    console.log(`succeeded:            ${verdicts.success} (${(rate * 100).toFixed(1)} %)`);
    console.log(`failed cleanly:       ${verdicts.clean} (typed error, destination clean)`);
    console.log(`failed untyped:       ${verdicts.untyped}`);
    console.log(`corrupt:              ${verdicts.corrupt}`);
    console.log(`hangs:                ${verdicts.hang}`);
    console.log(`staged images intact: ${lost.length === 0 ? 'yes' : `no: ${lost.join('; ')}`}`);
    console.log(`duration:             ${Math.round((Date.now() - started) / 1000)} s`);
    if (codes.size > 0) console.log(`failure codes:        ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
    for (const f of failures.slice(0, 30)) {
      console.log(
        `  #${f.n} ${f.direction} ${f.image} [${f.kinds.join(', ') || 'no fault'}] ${f.judged.verdict}: ${f.judged.detail.slice(0, 240)}`,
      );
    }
    const problems: string[] = [];
    if (verdicts.corrupt > 0) problems.push(`${verdicts.corrupt} corrupt`);
    if (lost.length > 0) problems.push('staged images damaged');
    if (verdicts.hang > 0) problems.push(`${verdicts.hang} hangs`);
    if (verdicts.untyped > 0) problems.push(`${verdicts.untyped} untyped failures`);
    if (rate < 0.9) problems.push(`success ${(rate * 100).toFixed(1)} % < 90 %`);
    if (total < 200) problems.push(`only ${total} faults injected (want ≥ 200)`);
    console.log(problems.length === 0 ? '\nsoak: PASS' : `\nsoak: FAIL (${problems.join(', ')})`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await stage.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error('soak: could not run:', e);
    process.exit(2);
  },
);
