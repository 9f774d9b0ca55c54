/**
 * The import graph of src/ keeps DESIGN.md's floors: no file imports from a floor above its own,
 * rooms on one floor stay apart (save the pairs listed), and there is no circle, type-only imports
 * included. Every import counts: static, `export ... from`, `import type` and dynamic `import('...')`.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, test } from 'node:test';
import ts from 'typescript';
import { repoRoot } from '../helpers/paths.js';

/**
 * docs/DESIGN.md's floors as data, ground first. A room is a folder of src/ (a transport folder is
 * its own room); floor 1 is ordered inside (errors < util < digest, compression < reference).
 */
const FLOORS: ReadonlyArray<readonly [room: string, floor: number]> = [
  ['errors', 1],
  ['util', 1.1],
  ['digest', 1.2],
  ['compression', 1.2],
  ['reference', 1.3],
  ['manifest', 2],
  ['config', 3],
  ['blobinfocache', 3],
  ['signature', 3],
  ['registry-client', 4],
  // The contract (types.ts, reference-base.ts, registry.ts) and the helpers several transports share.
  ['transports', 5],
  ['transports/shared', 5],
  ['transports/tar', 5],
  ['transports/*', 6],
  ['image', 7],
  ['copy', 7],
  // skopeo sync's job: on copy/ and on the two transports it names (docker: tag lists and HEADs; dir:).
  ['sync', 7.5],
  ['index', 8],
  ['cli', 9],
];

/** Floors whose rooms may use each other (the contract and its shared helpers). */
const OPEN_FLOORS: ReadonlySet<number> = new Set([5]);
/** Other imports between two rooms of one floor that DESIGN.md allows. */
const SAME_FLOOR_ALLOWED: ReadonlySet<string> = new Set(['copy -> image']);

const SRC = join(repoRoot, 'src');

/** `src/`-relative paths (posix) of every .ts file under src/. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [relative(SRC, path).split('\\').join('/')] : [];
  });
}

/** Every relative import of every file: `from -> to`, both `src/`-relative .ts paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles()) {
    const info = ts.preProcessFile(readFileSync(join(SRC, file), 'utf8'), true, true);
    const targets = info.importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => posix.normalize(posix.join(posix.dirname(file), name)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The room a file is in: its top folder, or `transports/<folder>`; `errors` and `index` for the two root files. */
function roomOf(file: string): string {
  const parts = file.replace(/\.ts$/, '').split('/');
  if (parts.length === 1) return parts[0] as string;
  if (parts[0] === 'transports' && parts.length > 2) return `transports/${parts[1]}`;
  return parts[0] as string;
}

function floorOf(room: string): number | undefined {
  const exact = FLOORS.find(([r]) => r === room);
  if (exact) return exact[1];
  if (room.startsWith('transports/')) return FLOORS.find(([r]) => r === 'transports/*')?.[1];
  return undefined;
}

/** Why an import breaks the floors, or undefined when it keeps them. */
function floorViolation(from: string, to: string): string | undefined {
  const [a, b] = [roomOf(from), roomOf(to)];
  if (a === b) return undefined;
  const [fa, fb] = [floorOf(a), floorOf(b)];
  if (fa === undefined || fb === undefined)
    return `room ${fa === undefined ? a : b} has no floor (add it to DESIGN.md and FLOORS)`;
  if (fb > fa) return `up from floor ${fa} (${a}) to floor ${fb} (${b})`;
  if (fb === fa && !OPEN_FLOORS.has(Math.floor(fa)) && !SAME_FLOOR_ALLOWED.has(`${a} -> ${b}`)) {
    return `across floor ${fa}, ${a} -> ${b}`;
  }
  return undefined;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

describe('import graph of src/', () => {
  const graph = importGraph();

  test('the graph is read: imports of every kind are seen', () => {
    const edges = (from: string) => graph.get(from) ?? [];
    // static, `export ... from`, `import type` and dynamic imports, one of each
    assert.ok(edges('copy/copy.ts').includes('transports/types.ts'), 'a static import is missing');
    assert.ok(edges('index.ts').includes('copy/index.ts'), 'an `export ... from` is missing');
    assert.ok(edges('manifest/types.ts').includes('manifest/blob-info.ts'), 'an `import type` is missing');
    assert.ok(edges('transports/dir/reference.ts').includes('transports/dir/source.ts'), 'a dynamic import is missing');
    for (const [from, targets] of graph) {
      for (const to of targets) assert.ok(graph.has(to), `${from} imports ${to}, which is not a file of src/`);
    }
  });

  test('no file imports from a floor above its own, nor across a floor', () => {
    const offending: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) {
        const why = floorViolation(from, to);
        if (why !== undefined) offending.push(`src/${from} -> src/${to}: ${why}`);
      }
    }
    assert.deepEqual(offending, [], `imports that break the floors:\n${offending.join('\n')}`);
  });

  test('the CLI imports Ferry only through its public API (src/index.ts)', () => {
    const offending = [...graph]
      .filter(([from]) => roomOf(from) === 'cli')
      .flatMap(([from, targets]) =>
        targets.filter((to) => roomOf(to) !== 'cli' && to !== 'index.ts').map((to) => `src/${from} -> src/${to}`),
      );
    assert.deepEqual(offending, [], `CLI imports around the public API:\n${offending.join('\n')}`);
  });

  test('there are no import cycles, type-only imports included', () => {
    const report = cycles(graph).map((component) => {
      const inside = new Set(component);
      const edges = component.flatMap((from) =>
        (graph.get(from) ?? []).filter((to) => inside.has(to)).map((to) => `  src/${from} -> src/${to}`),
      );
      return `cycle of ${component.length} file(s):\n${edges.join('\n')}`;
    });
    assert.deepEqual(report, [], report.join('\n'));
  });

  test('the checker catches what it must: an upward import, a crossing and a circle', () => {
    assert.match(floorViolation('manifest/oci.ts', 'transports/types.ts') ?? '', /^up from floor 2/);
    assert.match(
      floorViolation('transports/oci-archive/layout.ts', 'transports/oci-layout/layout.ts') ?? '',
      /^across floor 6/,
    );
    assert.match(floorViolation('newroom/x.ts', 'errors.ts') ?? '', /has no floor/);
    assert.equal(floorViolation('copy/single.ts', 'image/image.ts'), undefined);
    const circle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['a.ts']],
      ['c.ts', ['a.ts']],
    ]);
    assert.deepEqual(cycles(circle), [['a.ts', 'b.ts']]);
  });
});
