/**
 * Bad-input corpus, references: thousands of mutations of valid references for every transport and
 * for the bare Docker grammar. Each one parses into a reference whose string form parses back to the
 * same reference, or fails with a typed FerryError that names the input without raw control
 * characters; never a TypeError/RangeError, and always within a bounded time (catastrophic regex
 * backtracking counts as a bug).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FerryError } from '../../src/errors.js';
import { parseImageReference } from '../../src/index.js';
import { parseDockerReference, parseNamed } from '../../src/reference/reference.js';
import { quoteInput } from '../../src/util/quote.js';
import { corpusSeed, type Random, seededRandom } from './prng.js';

const HEX64 = 'a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4';
const HEX128 = HEX64 + HEX64;

/** Valid bare Docker references (the grammar of src/reference/). */
const DOCKER_SEEDS = [
  'fedora',
  'fedora:31',
  'library/busybox:latest',
  'quay.io/org/app:1.2',
  'localhost:5000/a/b@sha256:' + HEX64,
  '[::1]:5000/x:tag',
  'registry.example.com/a.b/c__d/e--f:v1.0-rc_1',
  'docker.io/user/app:t@sha512:' + HEX128,
  'index.docker.io/library/ubuntu',
  'a-b.example:443/ns/repo',
];

/** Valid transport-qualified references, every transport. */
const TRANSPORT_SEEDS = [
  ...DOCKER_SEEDS.filter((s) => !(s.includes(':t@') || /:[a-z0-9.]+@/.test(s))).map((s) => `docker://${s}`),
  'oci:/tmp/layout',
  'oci:/tmp/layout:tag',
  'oci:rel/dir:org/app:1.0',
  'oci:/tmp/l:@0',
  'oci-archive:/tmp/a.tar',
  'oci-archive:/tmp/a.tar:v1.2-rc+build',
  'dir:/tmp/image',
  'dir:relative/dir',
  'docker-archive:/tmp/a.tar',
  'docker-archive:/tmp/a.tar:app:1',
  'docker-archive:/tmp/a.tar:@2',
  'docker-archive:/tmp/a.tar:quay.io/org/app',
  'tarball:/tmp/a.tar',
  'tarball:/a.tar:/b.tar.gz:-',
  'containers-storage:app',
  'containers-storage:[overlay@/var/lib/containers]quay.io/app:1',
];

const TYPED_CODES = new Set(['INVALID_REFERENCE', 'UNKNOWN_TRANSPORT', 'NOT_IMPLEMENTED']);

const PIECES = [
  ':',
  '/',
  '@',
  '.',
  '_',
  '-',
  '..',
  '//',
  '::',
  '@@',
  '__',
  '---',
  ':@',
  '@sha256:',
  '@sha256:' + HEX64,
  '@sha256:' + HEX64.toUpperCase(),
  '@sha256:abc',
  '@md5:' + HEX64.slice(0, 32),
  '@sha512:' + HEX64,
  ':latest',
  '[',
  ']',
  '[::1]',
  ':99999999999999999999',
  ':@1',
  ':@-1',
  ':@1e3',
  'A',
  'Z',
  '0',
  ' ',
  '\t',
  '\n',
  '\r',
  '\0',
  '\x1b[31m',
  '\x7f',
  '\u0085',
  'é',
  '\u202e',
  '\u2028',
  '😀',
  '\ud800',
  '%2e%2e',
  '../',
  '~',
  'docker://',
  'oci:',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '\\',
  '"',
  "'",
  '$(id)',
  '`',
  '*',
  '?',
  '#',
];

function mutate(r: Random, s: string): string {
  const at = r.int(s.length + 1);
  switch (r.int(8)) {
    case 0: // insert a piece
      return s.slice(0, at) + r.pick(PIECES) + s.slice(at);
    case 1: // delete a run
      return s.slice(0, at) + s.slice(at + 1 + r.int(4));
    case 2: // replace a character
      return s.slice(0, at) + r.pick(PIECES) + s.slice(at + 1);
    case 3: // repeat a slice
      return s.slice(0, at) + s.slice(at, at + 1 + r.int(8)).repeat(2 + r.int(40)) + s.slice(at);
    case 4: // empty a part between separators
      return s.replace(/[^/:@]+/, '');
    case 5: // upper-case part of it
      return s.slice(0, at) + s.slice(at).toUpperCase();
    case 6: // a random printable or control character
      return s.slice(0, at) + String.fromCharCode(r.int(0x250)) + s.slice(at);
    default: // cut
      return s.slice(0, at);
  }
}

/** The parts of `input` an error message could be naming (the whole, after the transport, the path). */
function namedParts(input: string, transportQualified: boolean): string[] {
  if (!transportQualified) return [input];
  const within = input.slice(input.indexOf(':') + 1);
  const colon = within.indexOf(':');
  return [input, within, within.slice(2), colon === -1 ? within : within.slice(0, colon)];
}

function checkError(e: unknown, input: string, transportQualified: boolean): void {
  if (!(e instanceof FerryError)) {
    assert.fail(
      `input ${quoteInput(input)} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of a FerryError`,
    );
  }
  assert.ok(TYPED_CODES.has(e.code), `input ${quoteInput(input)}: unexpected code ${e.code}`);
  assert.doesNotMatch(
    e.message,
    /[\u0000-\u001f\u007f-\u009f]/,
    `input ${quoteInput(input)}: raw control character in the message`,
  );
  assert.ok(e.message.length < 4096, `input ${quoteInput(input)}: message of ${e.message.length} characters`);
  const named = namedParts(input, transportQualified).some((p) =>
    e.message.includes(quoteInput(p).replace(/…\(\d+ more characters\)$/, '')),
  );
  assert.ok(named, `input ${quoteInput(input)}: the message does not name it: ${e.message}`);
}

/**
 * Per-input bound: 250 ms plus 1 µs per character (path normalisation is linear), generous for a
 * loaded machine and far below what catastrophic backtracking costs.
 */
function timed<T>(input: string, fn: () => T): T {
  const start = performance.now();
  try {
    return fn();
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < 250 + input.length / 1000, `input of ${input.length} characters took ${ms.toFixed(0)} ms`);
  }
}

function checkDocker(input: string): 'ok' | 'error' {
  let ref: ReturnType<typeof parseDockerReference>;
  try {
    ref = timed(input, () => parseDockerReference(input));
  } catch (e) {
    checkError(e, input, false);
    return 'error';
  }
  const text = ref.toString();
  assert.equal(parseDockerReference(text).toString(), text, `round trip of ${quoteInput(input)}`);
  assert.equal(parseDockerReference(ref.familiar).toString(), text, `familiar round trip of ${quoteInput(input)}`);
  assert.equal(parseNamed(text).toString(), text);
  assert.ok(ref.name.length <= 255);
  return 'ok';
}

function checkTransport(input: string): 'ok' | 'error' {
  let ref: ReturnType<typeof parseImageReference>;
  try {
    ref = timed(input, () => parseImageReference(input));
  } catch (e) {
    checkError(e, input, true);
    return 'error';
  }
  const text = ref.toString();
  const again = parseImageReference(text);
  assert.equal(again.toString(), text, `round trip of ${quoteInput(input)}`);
  assert.equal(again.transport.name, ref.transport.name);
  return 'ok';
}

function run(
  seeds: readonly string[],
  perSeed: number,
  check: (s: string) => 'ok' | 'error',
  r: Random,
): { ok: number; error: number } {
  const counts = { ok: 0, error: 0 };
  for (const seed of seeds) {
    assert.equal(check(seed), 'ok', `seed ${seed} must be valid`);
    for (let i = 0; i < perSeed; i++) {
      let s = seed;
      for (let n = 1 + r.int(4); n > 0; n--) s = mutate(r, s);
      counts[check(s)]++;
    }
  }
  return counts;
}

test('mutated Docker references parse and round-trip, or fail typed and naming the input', (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const counts = run(DOCKER_SEEDS, 300, checkDocker, r);
  t.diagnostic(`docker grammar: ${counts.ok} parsed, ${counts.error} refused`);
  assert.ok(counts.ok > 100 && counts.error > 1000, 'the mutations reach both outcomes');
});

test('mutated references of every transport parse and round-trip, or fail typed and naming the input', (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const counts = run(TRANSPORT_SEEDS, 150, checkTransport, r);
  t.diagnostic(`transports: ${counts.ok} parsed, ${counts.error} refused`);
  assert.ok(counts.ok > 500 && counts.error > 500, 'the mutations reach both outcomes');
});

test('huge references are refused or accepted in bounded time', () => {
  const fills = ['a', 'a.', 'a-', 'a_', 'a/', '1', ':', '@', '[', 'a-a.', 'A'];
  const cases = [
    ...fills.flatMap((fill) => [1_000, 50_000].map((size) => ({ fill, size }))),
    ...['a', 'a/', 'a-'].map((fill) => ({ fill, size: 1_000_000 })),
  ];
  for (const { fill, size } of cases) {
    const body = fill.repeat(Math.ceil(size / fill.length)).slice(0, size);
    for (const tail of ['', '!', ':tag', '@sha256:' + HEX64]) {
      checkDocker(body + tail);
      checkDocker(`example.com/${body}${tail}`);
      for (const prefix of [
        'docker://',
        'oci:/tmp/l:',
        'oci-archive:/a:',
        'docker-archive:/a:',
        'dir:',
        'tarball:',
        'oci:',
      ]) {
        checkTransport(prefix + body + tail);
      }
    }
  }
});

test('transport names that are Object.prototype members are unknown transports', () => {
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) {
    assert.throws(
      () => parseImageReference(`${name}:x`),
      (e: unknown) => e instanceof FerryError && e.code === 'UNKNOWN_TRANSPORT',
    );
  }
});

test('hand-picked edge cases', () => {
  for (const input of [
    '',
    ':',
    'docker:',
    'docker:/',
    'docker://',
    'oci:',
    'oci::',
    'oci::@',
    'dir:',
    'tarball:',
    'tarball::',
    'docker-archive:',
    'docker-archive::',
    'docker-archive:/a:@',
    'docker-archive:/a:@99999999999999999999',
    'oci:/a:@99999999999999999999',
    'oci:/a\0b',
    'dir:/a\0b',
    'tarball:/a\0',
    'oci-archive:/a\0:x',
    'docker-archive:/a\0',
    'docker://a\0b',
    'docker://a@@sha256:' + HEX64,
    'docker://a:b:c',
    'docker://a@sha256:' + HEX64 + '@sha256:' + HEX64,
    'docker://../x',
    'docker://a/../b',
    'docker://a/./b',
  ]) {
    checkTransport(input);
  }
  for (const input of [
    '',
    '@',
    ':',
    'a@',
    'a:',
    '/a',
    'a/',
    'a//b',
    'a:b:c',
    'A',
    HEX64,
    'a@sha256:' + HEX64.slice(1),
    'a@' + HEX64,
    'a\u0000',
    '\u001b[2Ja',
    'a@sha256:' + HEX64 + '\n',
  ]) {
    checkDocker(input);
  }
});

test('withTag and withDigest take mutated tags and digests: a reference that round-trips or a typed error', (t) => {
  const r = seededRandom(corpusSeed());
  t.diagnostic(`seed ${r.seed} (replay: FERRY_CORPUS_SEED=${r.seed})`);
  const base = parseDockerReference('quay.io/org/app');
  for (let i = 0; i < 1500; i++) {
    const digest = i % 2 === 0;
    let s = digest ? `sha256:${HEX64}` : 'v1.2-rc_3';
    for (let n = 1 + r.int(3); n > 0; n--) s = mutate(r, s);
    try {
      const ref = timed(s, () => (digest ? base.withDigest(s) : base.withTag(s)));
      assert.equal(parseDockerReference(ref.toString()).toString(), ref.toString(), `round trip of ${quoteInput(s)}`);
    } catch (e) {
      if (!(e instanceof FerryError) || e.code !== 'INVALID_REFERENCE')
        assert.fail(`${quoteInput(s)}: ${e instanceof Error ? e.stack : String(e)}`);
      assert.doesNotMatch(e.message, /[\u0000-\u001f\u007f-\u009f]/, `${quoteInput(s)}: raw control character`);
    }
  }
});
