// Bundles the compiled CLI (dist/src/cli/main.js and everything it reaches, dependencies included)
// into one CommonJS module (wrapped as the function node would wrap it), dist/cli/ferry.cjs, which bin/ferry runs.
//
// Why: the CLI is start-up bound for short commands. Node's ESM loader resolves, reads and links
// ~150 files one by one (about 0.15 s here); one script compiles in one go, and bin/ferry keeps
// V8's code cache for it, so later runs skip most compilation. The library itself
// (`import 'ferry'`) stays the plain tsc output under dist/src.
//
// Native add-ons (zstd-napi, lzma-native, better-sqlite3) stay outside: they are loaded from node_modules at
// run time, only by the commands that need them.
//
// Two source patterns need a hand here, because a bundle has no `import.meta`:
//   - `createRequire(import.meta.url)('pkg')` (a lazy, synchronous load) becomes `require('pkg')`,
//     which esbuild then bundles and still runs lazily;
//   - any other `import.meta.url` becomes the bundle's own file URL.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'cli', 'ferry.cjs');
const LAZY_REQUIRE = 'createRequire(import.meta.url)(';

/** @type {import('esbuild').Plugin} */
const lazyRequire = {
  name: 'ferry-lazy-require',
  setup(build) {
    build.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replaceAll(LAZY_REQUIRE, 'require('), loader: 'js' };
    });
  },
};

// undici (bundled for connections through a proxy): its HTTP/2 client loads node:http2 when undici
// loads (~12 ms of start-up), and copes when it is missing. Ferry never enables HTTP/2 (`allowH2`
// stays off), so in the bundle that one import finds nothing.
/** @type {import('esbuild').Plugin} */
const noHttp2 = {
  name: 'ferry-no-http2',
  setup(build) {
    build.onResolve({ filter: /^node:http2$/ }, (args) =>
      /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/.test(args.importer)
        ? { path: 'http2', namespace: 'ferry-no-http2' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'ferry-no-http2' }, () => ({
      contents: "throw new Error('node:http2 is left out of the ferry bundle');",
      loader: 'js',
    }));
  },
};

// node:child_process costs ~3 ms of every command's start-up, and is needed only by the few that run
// another program (credential helpers, gpg, the user-namespace re-exec, commander's executable
// subcommands, which Ferry has none of). Every import of it in the bundle gets this module instead:
// the same functions, each loading node:child_process on its first call.
/** @type {import('esbuild').Plugin} */
const lazyChildProcess = {
  name: 'ferry-lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.namespace === 'ferry-lazy'
        ? { path: 'node:child_process', external: true } // the real one, from inside the lazy module
        : { path: 'child_process', namespace: 'ferry-lazy' },
    );
    build.onLoad({ filter: /.*/, namespace: 'ferry-lazy' }, async () => {
      const real = await import('node:child_process');
      const names = Object.keys(real).filter((k) => k !== 'default' && typeof real[k] === 'function');
      const lines = names.map((n) => `export function ${n}(...args) { return load().${n}(...args); }`);
      return {
        contents: `let m;\nconst load = () => (m ??= require('node:child_process'));\n${lines.join('\n')}\n`,
        loader: 'js',
        resolveDir: root,
      };
    });
  },
};

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: `${out}.tmp`,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // The add-ons themselves stay outside (better-sqlite3's JavaScript is bundled; its .node file is
  // loaded by path: blobinfocache/sqlite.ts).
  external: ['zstd-napi', 'lzma-native', '*.node'],
  // `await import('node:fs/promises')` becomes a require: bin/ferry runs the bundle through node:vm,
  // which has no loader for import().
  supported: { 'dynamic-import': false },
  define: { 'import.meta.url': '__ferryBundleUrl' },
  banner: { js: "const __ferryBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [lazyRequire, noHttp2, lazyChildProcess],
  legalComments: 'none',
  // Without whitespace and comments the bundle is a third smaller (3.1 -> 2.1 MiB): every command
  // reads it whole and V8 scans it, ~4 ms of a no-op registry copy. Names stay (--debug stack traces
  // name the functions; their line:column point into the bundle, not the sources).
  minifyWhitespace: true,
  logLevel: 'warning',
  metafile: true,
});
if (result.errors.length > 0) process.exit(1);
// ASCII only: node then reads the file without a UTF-8 decode pass (~10 ms for 1.7 MB with a few
// non-ASCII characters, mostly in comments). esbuild escapes strings but leaves comments and regular
// expression literals alone; \uXXXX means the same character in those, and in identifiers.
const text = await readFile(`${out}.tmp`, 'utf8');
if (/\\[^\x00-\x7f]/.test(text))
  throw new Error('bundle: a backslash before a non-ASCII character cannot be escaped safely');
const ascii = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
// The file is one function expression, the CommonJS wrapper that bin/ferry calls: the launcher
// compiles the text as read, without building a 2 MiB wrapped copy on every command (~1 ms).
await writeFile(`${out}.tmp`, `(function (exports, require, module, __filename, __dirname) {${ascii}\n})`);
// Readers (bin/ferry) see the old bundle or the new one, never half of one.
await rename(`${out}.tmp`, out);
const bytes = ascii.length;
process.stdout.write(`bundle: ${out.slice(root.length + 1)} (${(bytes / 1024 / 1024).toFixed(1)} MiB)\n`);
