#!/usr/bin/env node
// The launcher bin/ferry starts (`node bin/ferry.cjs ARGS` works too). It runs the bundled CLI,
// dist/cli/ferry.cjs, which `npm ci` (or `npm run build`) makes from the TypeScript sources.
//
// Start-up is most of what a short command costs, so this file does two things first:
//   - V8's code cache: the bundle is compiled through node:vm with the cache a previous run of the
//     same kind of command left in ${XDG_CACHE_HOME:-~/.cache}/ferry/code/, so V8 skips most
//     parsing and compiling. A missing or stale cache (new build, other Node) is made again at
//     exit. The cache only ever speeds things up: any error reading or writing it is ignored.
//   - Liftoff only, for registry commands behind HTTPS_PROXY / HTTP_PROXY, the one case that loads
//     undici (direct connections use node:http): undici parses HTTP with llhttp compiled to
//     WebAssembly, and by default V8 also compiles it with its optimising compiler, ~0.15 s of CPU
//     per command for code that only parses response headers. But any V8 flag also changes the
//     hash that code caches are checked against, node's own built-in modules included (their
//     loading then takes ~3 times as long), for good: unsetting it does not bring the hash back.
//     So the flag is set only after the built-ins such a command needs are loaded, and only in a
//     run that found a valid cache: the run that writes the cache keeps the default flags.
// It also gives commands that move blobs (copy, sync) a young-generation collector, for memory
// rather than time: see below.
'use strict';
const { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

// `ferry --version` alone, what scripts check first: answered from package.json, without the bundle.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  // A reader already gone: status 141 and no stack trace, as src/cli/output.ts does for commands.
  process.stdout.on('error', () => {
    process.exitCode = 141;
  });
  process.stdout.write(`ferry version ${version}\n`);
  return;
}

const { createRequire } = require('node:module');
const { homedir } = require('node:os');
const { Script } = require('node:vm');

const bundle = join(__dirname, '..', 'dist', 'cli', 'ferry.cjs');
let source;
let built;
try {
  source = readFileSync(bundle, 'latin1'); // the bundle is ASCII (scripts/bundle.mjs): no decoding pass
  built = statSync(bundle);
} catch (e) {
  if (e?.code !== 'ENOENT') throw e;
  process.stderr.write('ferry: not built yet: run `npm run build` (or `npm ci`) in the ferry folder\n');
  process.exit(1);
}

/** FNV-1a, 32 bits, in hex: names cache files; not a security boundary. */
function fnv(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// One cache file per install (path), build (size, mtime, Node) and kind of command: V8 stores the
// functions a run compiled, so `copy oci: docker://` and `inspect oci:` each keep their own.
const cacheDir = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ferry', 'code');
const install = fnv(bundle);
const build = fnv(`${built.size}:${built.mtimeMs}:${process.version}:${process.arch}`);
const TRANSPORTS = ['containers-storage', 'dir', 'docker', 'docker-archive', 'oci', 'oci-archive', 'tarball'];
const transports = [...new Set(args.map((a) => /^([a-z-]+):/.exec(a)?.[1]).filter((t) => TRANSPORTS.includes(t)))];
// The command is the first argument that is neither a global option nor the value of one
// (`ferry --insecure-policy copy ...`, `ferry --policy FILE copy ...`): src/cli/main.ts lists them.
const GLOBAL_WITH_VALUE = ['--tmpdir', '--override-os', '--override-arch', '--override-variant', '--registries.d', '--policy'];
function commandName() {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (GLOBAL_WITH_VALUE.includes(a)) i++;
    else if (!a.startsWith('-')) return /^[a-z][a-z-]{0,31}$/.test(a) ? a : 'other';
  }
  return 'other';
}
const commandArg = commandName();
const command = [commandArg, ...transports].join('-');
const cacheFile = join(cacheDir, `${install}-${build}-${command}.bin`);
let cached;
try {
  cached = readFileSync(cacheFile);
} catch {
  // none yet
}

// The bundle is already wrapped as a CommonJS module function (scripts/bundle.mjs).
const script = new Script(source, {
  filename: bundle,
  cachedData: cached,
});
const cacheValid = cached !== undefined && script.cachedDataRejected === false;
const usesRegistry = commandArg === 'login' || args.some((a) => a.startsWith('docker://'));
const proxied = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'].some((name) => process.env[name]);
if (usesRegistry && proxied && cacheValid) {
  for (const name of ['http', 'net', 'tls', 'stream', 'crypto', 'fs/promises', 'assert', 'diagnostics_channel', 'string_decoder', 'zlib', 'child_process']) {
    require(`node:${name}`);
  }
  require('node:v8').setFlagsFromString('--liftoff-only');
}
// Commands that move blobs get a young-generation collector (src/util/young-garbage.ts): a pull's
// dead 64 KiB read buffers are collected every few MiB instead of piling up to ~32 MiB. `gc` exists
// only under --expose-gc, a V8 flag, so the same rule applies: never in the run that writes the
// cache, and set only when the first collection is due (after 4 MiB of blobs: the command's
// built-ins are loaded by then; a copy that moves no blob never sets it, nor loads node:v8).
if ((commandArg === 'copy' || commandArg === 'sync') && cacheValid) {
  let gc;
  globalThis[Symbol.for('ferry.collectYoungGarbage')] = () => {
    if (gc === undefined) {
      require('node:v8').setFlagsFromString('--expose-gc');
      gc = require('node:vm').runInNewContext('gc');
    }
    gc({ type: 'minor' });
  };
}
if (!cacheValid) {
  process.once('exit', () => {
    try {
      const data = script.createCachedData();
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, data);
      renameSync(tmp, cacheFile);
      // Caches of this install's earlier builds are dead weight, and so are those of installs long
      // gone (a removed checkout, an old global install): a file not written for 30 days goes (one
      // in use is only made again, at the cost of one slower start), and at most 256 stay.
      const files = [];
      for (const name of readdirSync(cacheDir)) {
        if (!name.endsWith('.bin') && !name.endsWith('.tmp')) continue;
        if (name.startsWith(`${install}-`) && !name.startsWith(`${install}-${build}-`)) {
          rmSync(join(cacheDir, name), { force: true });
          continue;
        }
        try {
          files.push({ name, mtimeMs: statSync(join(cacheDir, name)).mtimeMs });
        } catch {
          // removed meanwhile by another ferry
        }
      }
      files.sort((a, b) => b.mtimeMs - a.mtimeMs);
      const expired = Date.now() - 30 * 24 * 3600 * 1000;
      for (const [i, f] of files.entries()) {
        if (i >= 256 || f.mtimeMs < expired) rmSync(join(cacheDir, f.name), { force: true });
      }
    } catch {
      // read-only home, full disk, a race with another ferry: the next run compiles again
    }
  });
}
const cli = { exports: {} };
script.runInThisContext()(cli.exports, createRequire(bundle), cli, bundle, dirname(bundle));
cli.exports.main(process.argv).then((code) => {
  process.exitCode = code;
});
