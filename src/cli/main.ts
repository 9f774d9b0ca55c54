/**
 * The `ferry` command line: global flags, the command list, and how errors become exit codes.
 *
 * Adding a command (e.g. `copy`):
 *   1. Create src/cli/copy.ts exporting `registerCopy(program: Command): void`, which declares the
 *      command with `program.command('copy')`, its arguments and flags, and an async action.
 *   2. Keep the file light: at its top import only `commander` types, `./util.js` and
 *      `import type` from '../index.js'. Load the library inside the action:
 *      `const { parseImageReference } = await import('../index.js')` — so `ferry --version` and
 *      `ferry --help` never load it. The CLI imports Ferry only through ../index.js (the public API).
 *   3. Read the global flags with `globalOptions(command)` / `imageOptionsFromGlobals()` from ./util.js.
 *   4. Throw a FerryError for any failure: main() prints `ferry: <message>` and exits 1
 *      (with --debug, the stack too). Write results with `writeStdout()` (./output.js: never
 *      process.stdout/stderr directly, see there why). Pass the ImageOptions of
 *      imageOptionsFromGlobals() (or stopSignal()) to the library, so that Ctrl-C stops the work cleanly.
 *   5. Add `registerCopy` to commands() below (help lists commands in this order), and a test under
 *      test/cli/ or test/integration/.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type * as Ferry from '../index.js';
import { outputSettled, printStderr, printStdout, whenOutputBreaks } from './output.js';
import { runInUserNamespaceIfNeeded } from './userns.js';
import { EXIT_FAILURE, EXIT_USAGE, errorMessage, requestStop } from './util.js';

/**
 * The commands, in help order. Loaded (with commander) only when a command line is parsed:
 * `ferry --version` answers without them.
 */
async function commands(): Promise<ReadonlyArray<(program: Command) => void>> {
  const [
    copy,
    del,
    generateSigstoreKey,
    inspect,
    listTags,
    login,
    logout,
    manifestDigest,
    referrers,
    standaloneSign,
    standaloneVerify,
    sync,
    verify,
  ] = await Promise.all([
    import('./copy.js'),
    import('./delete.js'),
    import('./generate-sigstore-key.js'),
    import('./inspect.js'),
    import('./list-tags.js'),
    import('./login.js'),
    import('./logout.js'),
    import('./manifest-digest.js'),
    import('./referrers.js'),
    import('./standalone-sign.js'),
    import('./standalone-verify.js'),
    import('./sync.js'),
    import('./verify.js'),
  ]);
  return [
    copy.registerCopy,
    del.registerDelete,
    generateSigstoreKey.registerGenerateSigstoreKey,
    inspect.registerInspect,
    listTags.registerListTags,
    login.registerLogin,
    logout.registerLogout,
    manifestDigest.registerManifestDigest,
    referrers.registerReferrers,
    standaloneSign.registerStandaloneSign,
    standaloneVerify.registerStandaloneVerify,
    sync.registerSync,
    verify.registerVerify,
  ];
}

/** The version in the package.json above this file (dist/src/cli/ → the package root). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') {
        return pkg.version;
      }
    } catch {
      // no package.json here: keep walking up
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

export async function buildProgram(): Promise<Command> {
  const [{ Command, Option }, registers] = await Promise.all([import('commander'), commands()]);
  const program = new Command('ferry');
  program
    .description('Various operations with container images and container image registries')
    .version(`ferry version ${packageVersion()}`, '-v, --version', 'print the version number')
    .option('--debug', 'enable debug output (stack traces on errors)')
    .option('--tmpdir <dir>', 'directory used to store temporary files')
    .option('--override-os <os>', 'use OS instead of the running OS for choosing images')
    .option('--override-arch <arch>', 'use ARCH instead of the architecture of the machine for choosing images')
    .option(
      '--override-variant <variant>',
      'use VARIANT instead of the running architecture variant for choosing images',
    )
    .option('--registries.d <dir>', 'use registry configuration files in DIR (e.g. for container signature storage)')
    .addOption(new Option('--insecure-policy', 'run the tool without any policy check').default(false))
    .addOption(new Option('--policy <path>', 'path to a trust policy file'))
    // Settings below are inherited by every command created afterwards with .command().
    .exitOverride()
    .configureOutput({
      writeOut: printStdout,
      writeErr: printStderr,
      outputError: (text, write) => write(text.replace(/^error: /, 'ferry: ')),
    });
  for (const register of registers) register(program);
  // Every command's action loads the library anyway: load it just before, and hand it what start-up deferred.
  program.hook('preAction', async () => {
    await loadLibrary();
  });
  return program;
}

/** The library once a command is about to run (undefined for --version/--help): the stop handlers use it. */
let library: typeof Ferry | undefined;
/** The NODE_EXTRA_CA_CERTS path bin/ferry deferred, for the library's TLS settings. */
let deferredCAPath: string | undefined;

async function loadLibrary(): Promise<typeof Ferry> {
  if (library !== undefined) return library;
  const lib = await import('../index.js');
  if (deferredCAPath !== undefined) lib.deferExtraCACertificates(deferredCAPath);
  library = lib;
  return lib;
}

function debugRequested(program: Command, argv: readonly string[]): boolean {
  return program.opts()['debug'] === true || argv.includes('--debug');
}

/** Prints an error the way skopeo does (one line, no stack) and returns the exit code. */
function report(e: unknown, debug: boolean): number {
  printStderr(`ferry: ${errorMessage(e)}\n`);
  if (debug) {
    let cause: unknown = e;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      if (cause instanceof Error && cause.stack !== undefined) printStderr(`${cause.stack}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
  }
  return EXIT_FAILURE;
}

/**
 * bin/ferry starts node without NODE_EXTRA_CA_CERTS (node would parse it at start-up) and passes
 * it as FERRY_NODE_EXTRA_CA_CERTS: put it back for child processes (credential helpers) and let
 * the TLS settings add those CAs when a TLS connection is first made.
 */
function takeDeferredExtraCACertificates(): void {
  const path = process.env.FERRY_NODE_EXTRA_CA_CERTS;
  if (path === undefined) return;
  delete process.env.FERRY_NODE_EXTRA_CA_CERTS;
  process.env.NODE_EXTRA_CA_CERTS = path;
  deferredCAPath = path;
  // A library loaded already (main() called twice in one process) takes it now.
  library?.deferExtraCACertificates(path);
}

/**
 * How a stop ends the process: 128 + the signal's number, and one line on stderr. SIGPIPE is a
 * reader of stdout or stderr gone (output.ts): skopeo dies of that signal, printing nothing.
 */
const STOPS = {
  SIGINT: { name: 'SIGINT', code: 130, line: 'ferry: interrupted\n' },
  SIGTERM: { name: 'SIGTERM', code: 143, line: 'ferry: terminated\n' },
  SIGPIPE: { name: 'SIGPIPE', code: 141, line: '' },
} as const;
type Stop = (typeof STOPS)[keyof typeof STOPS];

function exitStopped(stop: Stop): never {
  if (stop.line !== '') printStderr(stop.line);
  // Kept-alive connections and timers of the aborted work must not hold the process.
  process.exit(stop.code);
}

/** How long aborted work may take to clean up after itself before the process removes its temp files and exits. */
const STOP_GRACE_MS = 10_000;

function exitNow(stop: Stop): never {
  // The same module instance as the commands' (one bundle): it knows this process's temp files.
  library?.removeOwnTempsSync();
  if (stop.line !== '') printStderr(stop.line);
  // A thread blocked in the OS (opening a FIFO no one writes) would hold process.exit() forever:
  // die of the signal itself, as without a handler (a shell sees 128 + its number all the same).
  process.removeAllListeners(stop.name);
  // Node ignores SIGPIPE; a listener that comes and goes gives it back its default action.
  if (stop.name === 'SIGPIPE') process.once('SIGPIPE', () => {}).removeAllListeners('SIGPIPE');
  process.kill(process.pid, stop.name);
  process.exit(stop.code);
}

/**
 * On SIGINT/SIGTERM, or a reader of stdout/stderr gone (EPIPE, as SIGPIPE), the command's work is
 * aborted through stopSignal(): transports remove their temp files as their operations fail, then
 * main() exits with the signal's code. A second signal, or work still running after STOP_GRACE_MS,
 * exits at once (removing this process's temp files first); a second EPIPE changes nothing.
 */
function catchStopSignals(): { stopped(): Stop | undefined; release(): void } {
  let stop: Stop | undefined;
  const on = (name: keyof typeof STOPS) => {
    if (stop !== undefined) exitNow(stop);
    const first = STOPS[name];
    stop = first;
    setTimeout(() => exitNow(first), STOP_GRACE_MS).unref();
    requestStop(new Error(name === 'SIGPIPE' ? 'output closed by its reader' : `received ${name}`));
  };
  const onInt = () => on('SIGINT');
  const onTerm = () => on('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  // output.ts calls this once; a stop under way already (Ctrl-C, then the reader left) goes on as it was.
  whenOutputBreaks(() => {
    if (stop === undefined) on('SIGPIPE');
  });
  return {
    stopped: () => stop,
    release() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      whenOutputBreaks(undefined);
    },
  };
}

/** Runs the CLI on `argv` (node's form: [node, script, ...args]) and returns the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  takeDeferredExtraCACertificates();
  // Rootless containers-storage: the command runs again inside a user namespace (userns.ts).
  const inNamespace = await runInUserNamespaceIfNeeded(argv);
  if (inNamespace !== undefined) return inNamespace;
  const signals = catchStopSignals();
  try {
    return await run(argv, signals.stopped);
  } finally {
    // A line printed last may find its reader gone only now.
    await outputSettled();
    const stop = signals.stopped();
    if (stop !== undefined) exitStopped(stop);
    signals.release();
  }
}

async function run(argv: readonly string[], stopped: () => Stop | undefined): Promise<number> {
  const program = await buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    // A stopped command's error is the stop itself: main() reports that, in one line.
    if (stopped() !== undefined) return EXIT_FAILURE;
    const { CommanderError } = await import('commander');
    if (e instanceof CommanderError) {
      // commander already printed its message (help, version, or a usage error).
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') {
        return e.exitCode;
      }
      return EXIT_USAGE;
    }
    return report(e, debugRequested(program, argv));
  }
}
