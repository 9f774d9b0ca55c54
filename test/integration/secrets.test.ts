/**
 * Secrets never reach output. Every registry command of the CLI (inspect plain/--raw/--config, copy
 * push/pull/registry-to-registry, list-tags, delete, login, logout), each with `--debug`, runs with
 * credentials that carry random markers and characters that need escaping (`:` `@` `%` `"` `\`,
 * spaces, non-ASCII), passed every way the CLI takes them, with the right and with a wrong password,
 * against the real registry with htpasswd auth and with token auth (a token issuer of the test's
 * own). Everything Ferry prints or writes (stdout, stderr, the image it writes, temp and cache
 * files; not the auth files it is asked to write) is searched for each marker, its base64 forms
 * at every byte alignment, the credentials' base64/URL/JSON forms, and every token the issuer
 * issued. auth.json is written 0600 in a 0700 directory. The library's errors hold no secret either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { chmod, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { copyImage, getRepositoryTags, isFerryError, parseImageReference } from '../../src/index.js';
import { makeImage } from '../helpers/make-image.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { type RunResult, runFerry } from '../helpers/run.js';
import { makeTempDir } from '../helpers/tmp.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

const marker = (): string => `fm${randomBytes(8).toString('hex')}`;
const M = {
  user: marker(),
  pass: marker(),
  wrong: marker(),
  identity: marker(),
  wrongIdentity: marker(),
  registryToken: marker(),
  proxy: marker(),
  userinfo: marker(),
};
const USER = `u-${M.user}@ x%41"\\é`;
const PASS = `p:${M.pass} @%2F"\\ü€ :end`;
const WRONG = `w:${M.wrong} @%"\\ö €:`;
const IDENTITY = `rt-${M.identity}`;
const WRONG_IDENTITY = `rt-${M.wrongIdentity}`;
const WRONG_REGISTRY_TOKEN = `tok-${M.registryToken}`;
const HELPER = 'ferrysecrets';
/** A helper that has nothing stored and fails to store, echoing its input (the JSON holding the secret, shell-mangled) to stderr. */
const CARELESS_HELPER = 'ferrycareless';

/** Base64 (standard and URL-safe) of the text at each of the three byte alignments: every encoding of a longer string holding it contains one. */
function alignedBase64(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: string[] = [];
  for (let skip = 0; skip < 3; skip++) {
    const part = bytes.subarray(skip);
    const whole = part.subarray(0, part.length - (part.length % 3));
    out.push(whole.toString('base64'), whole.toString('base64url'));
  }
  return out;
}

/** The forms a whole secret could be printed in. */
function encodings(secret: string): string[] {
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    new URLSearchParams({ s: secret }).toString().slice(2),
    Buffer.from(secret, 'utf8').toString('base64'),
    Buffer.from(secret, 'utf8').toString('base64url'),
  ];
}

/** Every string that must not appear: markers in all their forms, the credentials, and the issuer's tokens. */
function forbidden(issuer: TokenServer): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, m] of Object.entries(M)) {
    out.set(m, `marker ${name}`);
    for (const b of alignedBase64(m)) out.set(b, `base64 of marker ${name}`);
  }
  const secrets = { USER, PASS, WRONG, 'USER:PASS': `${USER}:${PASS}`, 'USER:WRONG': `${USER}:${WRONG}` };
  for (const [name, s] of Object.entries(secrets)) for (const e of encodings(s)) out.set(e, `a form of ${name}`);
  for (const token of issuer.issued) {
    out.set(token, 'an issued token');
    // A JWT's claims and signature segments are unique to it (its header is the same for all).
    for (const segment of token.split('.').slice(1))
      if (segment.length >= 16) out.set(segment, 'a segment of an issued token');
  }
  return out;
}

interface Output {
  label: string;
  text: string;
}

function leaks(outputs: readonly Output[], issuer: TokenServer): string[] {
  const found: string[] = [];
  const bad = forbidden(issuer);
  for (const { label, text } of outputs) {
    for (const [needle, what] of bad) {
      const at = text.indexOf(needle);
      if (at !== -1)
        found.push(`${label}: ${what} at ${at}: …${text.slice(Math.max(0, at - 80), at + needle.length + 40)}…`);
    }
  }
  return found;
}

/** Every file under `dir` as text (binary files too: the markers are ASCII). */
async function filesUnder(dir: string): Promise<Output[]> {
  const out: Output[] = [];
  let entries: string[];
  try {
    entries = (await readdir(dir, { recursive: true })) as string[];
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    if ((await stat(path)).isFile()) out.push({ label: `file ${path}`, text: (await readFile(path)).toString('utf8') });
  }
  return out;
}

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

let work = '';
let cache = '';
let basic: TestRegistry;
let token: TestRegistry;
let issuer: TokenServer;
let sandboxes = 0;

/** A fresh HOME, runtime dir, Docker config dir, temp dir and output dir for one scenario. */
interface Sandbox {
  root: string;
  /** Holds what the test writes for Ferry to read (auth files, helper store) and the auth files login writes: not searched. */
  creds: string;
  out: string;
  env: NodeJS.ProcessEnv;
  /** Everything the runs in this sandbox printed, and what they wrote, for the leak check. */
  outputs: Output[];
}

async function sandbox(): Promise<Sandbox> {
  const root = join(work, `sandbox-${sandboxes++}`);
  const creds = join(root, 'creds');
  const bin = join(creds, 'bin');
  for (const d of ['home', 'tmp', 'out', 'creds/run', 'creds/docker', 'creds/bin'])
    await mkdir(join(root, d), { recursive: true });
  await writeFile(join(creds, 'registries.conf'), '');
  // A credential helper that keeps one record in a file beside itself.
  await writeFile(
    join(bin, `docker-credential-${HELPER}`),
    [
      '#!/bin/sh',
      'd=$(dirname "$0")',
      'case "$1" in',
      '  get) cat >/dev/null; if [ -f "$d/store.json" ]; then cat "$d/store.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;',
      '  store) cat >"$d/store.json" ;;',
      '  erase) cat >/dev/null; if [ -f "$d/store.json" ]; then rm -f "$d/store.json"; else echo "credentials not found in native keychain"; exit 1; fi ;;',
      '  *) exit 1 ;;',
      'esac',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  await writeFile(
    join(bin, `docker-credential-${CARELESS_HELPER}`),
    [
      '#!/bin/sh',
      'input=$(cat)',
      'if [ "$1" = get ]; then echo "credentials not found in native keychain"; exit 1; fi',
      'echo "cannot $1: $input" >&2',
      'exit 1',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: join(root, 'home'),
    TMPDIR: join(root, 'tmp'),
    XDG_RUNTIME_DIR: join(creds, 'run'),
    XDG_CACHE_HOME: cache,
    DOCKER_CONFIG: join(creds, 'docker'),
    CONTAINERS_REGISTRIES_CONF: join(creds, 'registries.conf'),
    ...(process.env.FERRY_BLOB_CACHE === undefined ? {} : { FERRY_BLOB_CACHE: process.env.FERRY_BLOB_CACHE }),
  };
  return { root, creds, out: join(root, 'out'), env, outputs: [] };
}

function authFileDoc(host: string, entry: Record<string, string>): string {
  return JSON.stringify({ auths: { [host]: entry } });
}

const basicEntry = (password: string): Record<string, string> => ({
  auth: Buffer.from(`${USER}:${password}`, 'utf8').toString('base64'),
});

/** How a scenario hands the credentials over: flags for one image (`''`, `src-`, `dest-`, or both of a copy) and files/env in the sandbox. */
type Way =
  | 'creds'
  | 'username-password'
  | 'authfile'
  | 'REGISTRY_AUTH_FILE'
  | 'docker-config'
  | 'credential-helper'
  | 'registries.conf-helper'
  | 'identity-token'
  | 'registry-token';
type Role = 'single' | 'src' | 'dest' | 'both';

/** Writes the files `way` reads `secret` (a password, an identity token or a bearer token) from. */
async function prepare(way: Way, host: string, secret: string, box: Sandbox): Promise<void> {
  const entry = way === 'identity-token' ? { auth: '', identitytoken: secret } : basicEntry(secret);
  if (way === 'authfile' || way === 'REGISTRY_AUTH_FILE' || way === 'identity-token') {
    await writeFile(join(box.creds, 'auth.json'), authFileDoc(host, entry), { mode: 0o600 });
  }
  if (way === 'REGISTRY_AUTH_FILE') box.env.REGISTRY_AUTH_FILE = join(box.creds, 'auth.json');
  if (way === 'docker-config') await writeFile(join(box.creds, 'docker', 'config.json'), authFileDoc(host, entry));
  if (way === 'credential-helper')
    await writeFile(join(box.creds, 'docker', 'config.json'), JSON.stringify({ credHelpers: { [host]: HELPER } }));
  if (way === 'registries.conf-helper')
    await writeFile(join(box.creds, 'registries.conf'), `credential-helpers = ["${HELPER}"]\n`);
  if (way === 'credential-helper' || way === 'registries.conf-helper') {
    await writeFile(
      join(box.creds, 'bin', 'store.json'),
      JSON.stringify({ ServerURL: host, Username: USER, Secret: secret }),
    );
  }
}

function credentialFlags(way: Way, role: Role, secret: string, box: Sandbox): string[] {
  const prefixes = role === 'single' ? [''] : role === 'both' ? ['src-', 'dest-'] : [`${role}-`];
  const authfile = join(box.creds, 'auth.json');
  switch (way) {
    case 'creds':
      return prefixes.flatMap((p) => [`--${p}creds`, `${USER}:${secret}`]);
    case 'username-password':
      return prefixes.flatMap((p) => [`--${p}username`, USER, `--${p}password`, secret]);
    case 'registry-token':
      return prefixes.flatMap((p) => [`--${p}registry-token`, secret]);
    case 'authfile':
    case 'identity-token':
      // copy's own --authfile serves both images; the prefixed ones one each.
      return role === 'both' ? ['--authfile', authfile] : prefixes.flatMap((p) => [`--${p}authfile`, authfile]);
    default:
      return [];
  }
}

interface Step {
  label: string;
  args: string[];
  input?: string;
  /** Added to the sandbox's environment for this step. */
  env?: NodeJS.ProcessEnv;
}

/** Runs steps (each with --debug) in order, recording every output; returns the results. */
async function runSteps(steps: readonly Step[], box: Sandbox): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const step of steps) {
    const env = { ...box.env, ...step.env };
    const r = await runFerry(['--debug', ...step.args], {
      env,
      ...(step.input === undefined ? {} : { input: step.input }),
      timeoutMs: 60_000,
    });
    box.outputs.push(
      { label: `${step.label} stdout`, text: r.stdout },
      { label: `${step.label} stderr`, text: r.stderr },
    );
    results.push(r);
  }
  return results;
}

let scenarios = 0;

/**
 * `all`: every non-login command (inspect plain/--raw/--config, list-tags, copy docker→oci,
 * oci→docker and docker→docker, delete); `core`: one of each kind of credential use (inspect for
 * one image, copy docker→oci for a source, oci→docker for a destination); `read`: inspect and
 * copy docker→oci. The whole set runs for the flag ways, the core (to keep the file fast) for the
 * ways that only change where the same credentials are found.
 */
type CommandSet = 'all' | 'core' | 'read';

/** The commands of `set` against `reg` with the secret handed over `way`: with `right` each must succeed, else each must fail. */
async function commandsScenario(
  reg: TestRegistry,
  way: Way,
  secret: string,
  right: boolean,
  set: CommandSet = 'all',
): Promise<Output[]> {
  const box = await sandbox();
  await prepare(way, reg.host, secret, box);
  const n = scenarios++;
  const cert = reg.certDir!;
  const flags = (role: Role): string[] => credentialFlags(way, role, secret, box);
  const name = `${way} ${right ? 'right' : 'wrong'} #${n}`;
  const app = `docker://${reg.host}/sec/app`;
  const reads: Step[] = [
    { label: `${name} inspect`, args: ['inspect', '--cert-dir', cert, ...flags('single'), `${app}:v1`] },
    { label: `${name} inspect --raw`, args: ['inspect', '--raw', '--cert-dir', cert, ...flags('single'), `${app}:v1`] },
    {
      label: `${name} inspect --config`,
      args: ['inspect', '--config', '--cert-dir', cert, ...flags('single'), `${app}:v1`],
    },
    { label: `${name} list-tags`, args: ['list-tags', '--cert-dir', cert, ...flags('single'), app] },
    {
      label: `${name} copy docker→oci`,
      args: [
        'copy',
        '--blob-cache',
        join(box.out, 'pull.sqlite'),
        '--src-cert-dir',
        cert,
        ...flags('src'),
        `${app}:v1`,
        `oci:${join(box.out, 'pulled')}:v1`,
      ],
    },
  ];
  const writes: Step[] = [
    {
      label: `${name} copy oci→docker`,
      args: [
        'copy',
        '--blob-cache',
        join(box.out, 'push.sqlite'),
        '--dest-cert-dir',
        cert,
        ...flags('dest'),
        `oci:${join(work, 'other')}:v1`,
        `docker://${reg.host}/sec/del-${n}:v1`,
      ],
    },
    {
      label: `${name} copy docker→docker`,
      args: [
        'copy',
        '--blob-cache',
        join(box.out, 'copy.sqlite'),
        '--src-cert-dir',
        cert,
        '--dest-cert-dir',
        cert,
        ...flags('both'),
        `${app}:v1`,
        `docker://${reg.host}/sec/copy-${n}:v1`,
      ],
    },
    {
      label: `${name} delete`,
      args: ['delete', '--cert-dir', cert, ...flags('single'), `docker://${reg.host}/sec/del-${n}:v1`],
    },
  ];
  const chosenReads = set === 'all' ? reads : [reads[0]!, reads[4]!];
  const chosenWrites = set === 'all' ? writes : set === 'core' ? [writes[0]!] : [];
  const results = await Promise.all([...chosenReads.map((s) => runSteps([s], box)), runSteps(chosenWrites, box)]);
  const steps = [...chosenReads, ...chosenWrites];
  results.flat().forEach((r, i) => {
    const label = steps[i]!.label;
    if (right) assert.equal(r.code, 0, `${label} failed:\n${r.stderr}`);
    else {
      assert.notEqual(r.code, 0, `${label} succeeded with a wrong secret`);
      // Refused for the secret and nothing else: the secret was sent, and the failure path is the one under test.
      assert.match(r.stderr, /HTTP 401|invalid_grant/, `${label} failed for another reason:\n${r.stderr}`);
    }
  });
  await collectFiles(box);
  return box.outputs;
}

/** Adds what Ferry wrote in the sandbox (output images, blob-info caches, HOME, temp dir) to its outputs. */
async function collectFiles(box: Sandbox): Promise<void> {
  for (const dir of [box.out, join(box.root, 'home'), join(box.root, 'tmp')])
    box.outputs.push(...(await filesUnder(dir)));
}

function assertNoLeaks(outputs: readonly Output[]): void {
  const found = leaks(outputs, issuer);
  assert.deepEqual(found, [], `secrets in the output:\n${found.join('\n')}`);
}

before(async () => {
  work = await makeTempDir('ferry-secrets-');
  cache = join(work, 'cache');
  issuer = await startTokenServer({ users: { [USER]: PASS }, refreshTokens: { [IDENTITY]: USER } });
  [basic, token] = await Promise.all([
    startRegistry({ auth: 'htpasswd', tls: true, username: USER, password: PASS }),
    startRegistry({ auth: 'token', token: issuer.registrySettings, tls: true }),
    makeImage(join(work, 'oci'), { tag: 'v1', layers: 1, layerSize: 4096, seed: 71 }),
    makeImage(join(work, 'other'), { tag: 'v1', layers: 1, layerSize: 4096, seed: 72 }),
  ]);
  for (const reg of [basic, token]) {
    await copyImage(
      parseImageReference(`oci:${join(work, 'oci')}:v1`),
      parseImageReference(`docker://${reg.host}/sec/app:v1`),
      {
        destinationOptions: { certDir: reg.certDir!, credentials: { username: USER, password: PASS } },
      },
    );
  }
});

after(async () => {
  await Promise.all([basic?.stop(), token?.stop()]);
  await issuer?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the leak detector', () => {
  it('finds the credentials in their base64, URL and JSON forms', () => {
    const samples = [
      Buffer.from(`${USER}:${PASS}`).toString('base64'),
      Buffer.from(`x${PASS}`).toString('base64url'),
      Buffer.from(`xy${USER}`).toString('base64'),
      encodeURIComponent(PASS),
      JSON.stringify({ password: WRONG }),
    ];
    for (const s of samples)
      assert.notDeepEqual(leaks([{ label: 'sample', text: `before ${s} after` }], issuer), [], s);
  });
});

const WAYS: [Way, CommandSet][] = [
  ['creds', 'all'],
  ['username-password', 'all'],
  ['authfile', 'core'],
  ['REGISTRY_AUTH_FILE', 'core'],
  ['docker-config', 'core'],
  ['credential-helper', 'core'],
  ['registries.conf-helper', 'core'],
];

// Two scenarios at a time: each already runs several commands at once.
describe('htpasswd registry: every command with --debug, right and wrong password', { concurrency: 2 }, () => {
  for (const [way, set] of WAYS) {
    it(`credentials by ${way} (${set} commands): no secret in any output`, async () => {
      const outputs = await Promise.all([
        commandsScenario(basic, way, PASS, true, set),
        commandsScenario(basic, way, WRONG, false, set),
      ]);
      assertNoLeaks(outputs.flat());
    });
  }
});

describe('token registry: every command with --debug, right and wrong secrets; no issued token in any output', {
  concurrency: 2,
}, () => {
  for (const [way, set] of [
    ['creds', 'all'],
    ['authfile', 'core'],
    ['credential-helper', 'core'],
  ] as [Way, CommandSet][]) {
    it(`credentials by ${way} (${set} commands): no secret and no token in any output`, async () => {
      const outputs = await Promise.all([
        commandsScenario(token, way, PASS, true, set),
        commandsScenario(token, way, WRONG, false, set),
      ]);
      assertNoLeaks(outputs.flat());
    });
  }

  it('an identity (refresh) token in auth.json: no identity token, refresh token or access token in any output', async () => {
    const outputs = await Promise.all([
      commandsScenario(token, 'identity-token', IDENTITY, true, 'core'),
      commandsScenario(token, 'identity-token', WRONG_IDENTITY, false, 'core'),
    ]);
    assertNoLeaks(outputs.flat());
  });

  it('--registry-token: the token given is not printed', async () => {
    const res = await fetch(`${issuer.realm}?service=${issuer.service}&scope=repository:sec/app:pull`, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}` },
    });
    const given = ((await res.json()) as { token: string }).token;
    assert.ok(issuer.issued.includes(given));
    const outputs = await Promise.all([
      commandsScenario(token, 'registry-token', given, true, 'read'),
      commandsScenario(token, 'registry-token', WRONG_REGISTRY_TOKEN, false, 'read'),
    ]);
    assertNoLeaks(outputs.flat());
  });
});

describe('a token issuer that quotes what it was sent', () => {
  it('an issuer that quotes the credentials and refresh token it was sent in its refusals: Ferry does not print them', async () => {
    issuer.echo = true;
    let outputs: Output[][];
    try {
      outputs = await Promise.all([
        commandsScenario(token, 'creds', WRONG, false, 'read'),
        commandsScenario(token, 'identity-token', WRONG_IDENTITY, false, 'read'),
      ]);
    } finally {
      issuer.echo = false;
    }
    assertNoLeaks(outputs.flat());
  });
});

describe('login and logout with --debug', { concurrency: 2 }, () => {
  for (const which of ['htpasswd', 'token'] as const) {
    it(`${which} registry: login (-p, --password-stdin, stored, helper) and logout print no secret; auth.json is 0600 in a 0700 dir`, async () => {
      const reg = which === 'htpasswd' ? basic : token;
      const box = await sandbox();
      const cert = reg.certDir!;
      const fresh = join(box.creds, 'new', 'dir', 'auth.json');
      const loose = join(box.creds, 'loose.json');
      await writeFile(loose, '{}', { mode: 0o644 });
      await chmod(loose, 0o644);
      const login = (...args: string[]): string[] => ['login', '--cert-dir', cert, ...args, reg.host];
      const ok = await runSteps(
        [
          { label: `${which} login -p --authfile`, args: login('--authfile', fresh, '-u', USER, '-p', PASS) },
          {
            label: `${which} login --password-stdin --verbose into REGISTRY_AUTH_FILE`,
            args: login('--verbose', '-u', USER, '--password-stdin'),
            input: `${PASS}\n`,
            env: { REGISTRY_AUTH_FILE: loose },
          },
          { label: `${which} login with stored credentials`, args: login('--authfile', fresh) },
          { label: `${which} login to the default auth file`, args: login('-u', USER, '-p', PASS) },
        ],
        box,
      );
      for (const [i, r] of ok.entries()) assert.equal(r.code, 0, `login ${i} failed:\n${r.stderr}`);
      assert.match(ok[1]!.stdout, /Used: +\S*loose\.json/);
      assert.match(ok[2]!.stdout, /Existing credentials are valid/);
      const stored = JSON.parse(await readFile(fresh, 'utf8')) as { auths: Record<string, { auth: string }> };
      assert.equal(Buffer.from(stored.auths[reg.host]!.auth, 'base64').toString('utf8'), `${USER}:${PASS}`);
      const runtime = join(box.creds, 'run', 'containers');
      for (const file of [fresh, loose, join(runtime, 'auth.json')])
        assert.equal(await modeOf(file), 0o600, `mode of ${file}`);
      for (const dir of [join(box.creds, 'new'), join(box.creds, 'new', 'dir'), runtime])
        assert.equal(await modeOf(dir), 0o700, `mode of ${dir}`);

      const bad = join(box.creds, 'bad.json');
      await writeFile(bad, authFileDoc(reg.host, basicEntry(WRONG)), { mode: 0o600 });
      const refused = await runSteps(
        [
          {
            label: `${which} login -p wrong`,
            args: login('--authfile', join(box.creds, 'never.json'), '-u', USER, '-p', WRONG),
          },
          {
            label: `${which} login --password-stdin wrong`,
            args: login('--authfile', join(box.creds, 'never.json'), '-u', USER, '--password-stdin'),
            input: WRONG,
          },
          { label: `${which} login with stored wrong credentials`, args: login('--authfile', bad) },
          {
            label: `${which} login to a URL with userinfo`,
            args: [
              'login',
              '--cert-dir',
              cert,
              '--authfile',
              join(box.creds, 'never.json'),
              '-u',
              USER,
              '-p',
              WRONG,
              `https://x:${M.userinfo}@${reg.host}`,
            ],
          },
        ],
        box,
      );
      for (const [i, r] of refused.entries()) assert.notEqual(r.code, 0, `wrong login ${i} succeeded`);
      await assert.rejects(stat(join(box.creds, 'never.json')), 'a refused login wrote the auth file');

      const out = await runSteps(
        [
          { label: `${which} logout --authfile`, args: ['logout', '--authfile', loose, reg.host] },
          { label: `${which} logout --all`, args: ['logout', '--all'] },
          { label: `${which} logout --authfile bad`, args: ['logout', '--authfile', bad, reg.host] },
        ],
        box,
      );
      for (const [i, r] of out.entries()) assert.equal(r.code, 0, `logout ${i} failed:\n${r.stderr}`);
      for (const file of [loose, join(runtime, 'auth.json'), bad])
        assert.equal(await modeOf(file), 0o600, `mode of ${file} after logout`);

      // Through a credential helper named in registries.conf.
      await writeFile(join(box.creds, 'registries.conf'), `credential-helpers = ["${HELPER}"]\n`);
      const helper = await runSteps(
        [
          { label: `${which} login into a helper`, args: login('-u', USER, '-p', PASS) },
          { label: `${which} login into a helper, wrong`, args: login('-u', USER, '-p', WRONG) },
          { label: `${which} logout from a helper`, args: ['logout', reg.host] },
        ],
        box,
      );
      assert.equal(helper[0]!.code, 0, helper[0]!.stderr);
      assert.notEqual(helper[1]!.code, 0);
      assert.equal(helper[2]!.code, 0, helper[2]!.stderr);

      await writeFile(join(box.creds, 'registries.conf'), `credential-helpers = ["${CARELESS_HELPER}"]\n`);
      const [careless] = await runSteps(
        [{ label: `${which} login into a helper that echoes its input`, args: login('-u', USER, '-p', PASS) }],
        box,
      );
      assert.notEqual(careless!.code, 0);
      assert.match(careless!.stderr, /docker-credential-ferrycareless store/);
      await collectFiles(box);
      assertNoLeaks(box.outputs);
    });
  }
});

describe('files Ferry keeps between runs', () => {
  it('the code cache every run above shared holds no secret', async () => {
    const files = await filesUnder(cache);
    assert.ok(files.length > 0, 'the runs wrote no code cache: the scan would be vacuous');
    assertNoLeaks(files);
  });
});

describe('a registry that quotes the credentials it was sent in its error bodies', () => {
  it('Ferry prints its message without them (CLI with --debug, and the library error)', async () => {
    const echo = createServer((req, res) => {
      const header = req.headers.authorization ?? '';
      const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString('utf8') : '';
      const body = JSON.stringify({
        errors: [{ code: 'UNAUTHORIZED', message: `no access for ${decoded} (${header})` }],
      });
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Basic realm="echo"' });
      res.end(body);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const address = echo.address();
    const host = `127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
    try {
      const box = await sandbox();
      const results = await runSteps(
        [
          {
            label: 'inspect at an echoing registry',
            args: ['inspect', '--tls-verify=false', '--creds', `${USER}:${WRONG}`, `docker://${host}/sec/app:v1`],
          },
          {
            label: 'login at an echoing registry',
            args: [
              'login',
              '--tls-verify=false',
              '--authfile',
              join(box.creds, 'auth.json'),
              '-u',
              USER,
              '-p',
              WRONG,
              host,
            ],
          },
        ],
        box,
      );
      for (const r of results) assert.match(r.stderr, /no access for <redacted>/);
      let e: unknown;
      try {
        await getRepositoryTags(parseImageReference(`docker://${host}/sec/app`), {
          tlsVerify: false,
          credentials: { username: USER, password: WRONG },
        });
      } catch (err) {
        e = err;
      }
      assert.ok(isFerryError(e, 'UNAUTHORIZED'), String(e));
      box.outputs.push({
        label: 'library error at an echoing registry',
        text: inspect(e, { depth: Infinity, showHidden: true }),
      });
      assertNoLeaks(box.outputs);
    } finally {
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
  });
});

describe('library errors on a wrong secret', () => {
  async function failure(run: () => Promise<unknown>): Promise<unknown> {
    try {
      await run();
    } catch (e) {
      return e;
    }
    assert.fail('expected a failure');
  }

  it('util.inspect of the FerryError (cause and details, any depth) holds no secret', async () => {
    const pull = (
      reg: TestRegistry,
      auth: { credentials: { username: string; password: string } } | { authFile: string },
    ) =>
      failure(() =>
        copyImage(
          parseImageReference(`docker://${reg.host}/sec/app:v1`),
          parseImageReference(`oci:${join(work, 'lib-out')}:v1`),
          {
            sourceOptions: { certDir: reg.certDir!, ...auth },
          },
        ),
      );
    const identityFile = join(work, 'lib-identity.json');
    await writeFile(identityFile, authFileDoc(token.host, { auth: '', identitytoken: WRONG_IDENTITY }), {
      mode: 0o600,
    });
    const push = (reg: TestRegistry) =>
      failure(() =>
        copyImage(
          parseImageReference(`oci:${join(work, 'oci')}:v1`),
          parseImageReference(`docker://${reg.host}/sec/lib:v1`),
          {
            destinationOptions: { certDir: reg.certDir!, credentials: { username: USER, password: WRONG } },
          },
        ),
      );
    const tags = (reg: TestRegistry) =>
      failure(() =>
        getRepositoryTags(parseImageReference(`docker://${reg.host}/sec/app`), {
          certDir: reg.certDir!,
          credentials: { username: USER, password: WRONG },
        }),
      );
    const errors = await Promise.all([
      pull(basic, { credentials: { username: USER, password: WRONG } }),
      pull(token, { credentials: { username: USER, password: WRONG } }),
      pull(token, { authFile: identityFile }),
      push(basic),
      push(token),
      tags(basic),
      tags(token),
    ]);
    const outputs = errors.map((e, i) => {
      assert.ok(isFerryError(e), `error ${i} is a FerryError: ${String(e)}`);
      assert.ok(['UNAUTHORIZED', 'DENIED'].includes(e.code), `error ${i}: ${e.code} ${e.message}`);
      return {
        label: `library error ${i}`,
        text: `${inspect(e, { depth: Infinity, showHidden: true })}\n${JSON.stringify(e)}\n${JSON.stringify(e.details)}`,
      };
    });
    assertNoLeaks(outputs);
  });

  it('a malformed proxy URL holding a password: a typed error that names the variable, not the URL', async () => {
    const proxy = `http://proxyuser:${M.proxy}@[::1`;
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = proxy;
    let e: unknown;
    try {
      e = await failure(() =>
        getRepositoryTags(parseImageReference(`docker://${basic.host}/sec/app`), {
          certDir: basic.certDir!,
          credentials: { username: USER, password: PASS },
        }),
      );
    } finally {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    }
    assert.ok(isFerryError(e, 'INVALID_CONFIG'), `${String(e)}`);
    assert.match(e.message, /HTTPS_PROXY/);
    const box = await sandbox();
    box.env.HTTPS_PROXY = proxy;
    const [r] = await runSteps(
      [
        {
          label: 'list-tags through a malformed proxy URL',
          args: [
            'list-tags',
            '--cert-dir',
            basic.certDir!,
            '--creds',
            `${USER}:${PASS}`,
            `docker://${basic.host}/sec/app`,
          ],
        },
      ],
      box,
    );
    assert.notEqual(r!.code, 0);
    assertNoLeaks([...box.outputs, { label: 'proxy error', text: inspect(e, { depth: Infinity, showHidden: true }) }]);
  });
});
