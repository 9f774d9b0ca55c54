/**
 * Helpers shared by the CLI commands. This file stays light: it never imports ../index.js at run
 * time (only types), so `ferry --version` and `ferry --help` load no library code.
 */
import { setMaxListeners } from 'node:events';
import type { Command } from 'commander';
import type { ImageOptions } from '../index.js';

/** skopeo 1.9.3 exits 1 both for failures and for usage errors (unknown command, missing argument). */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 1;

/** The global flags (before or after the command name), as commander parses them. */
export interface GlobalOptions {
  debug: boolean;
  tmpdir?: string;
  overrideOs?: string;
  overrideArch?: string;
  overrideVariant?: string;
  /** `--registries.d DIR`: where signature storage is configured. */
  registriesD?: string;
  insecurePolicy: boolean;
  policy?: string;
}

/** The global flags seen from inside a command's action (`this` of the action, or its last argument). */
/** A commander argument parser for a repeatable flag: the values in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function globalOptions(command: Command): GlobalOptions {
  const o = command.optsWithGlobals() as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    debug: o['debug'] === true,
    tmpdir: str(o['tmpdir']),
    overrideOs: str(o['overrideOs']),
    overrideArch: str(o['overrideArch']),
    overrideVariant: str(o['overrideVariant']),
    registriesD: str(o['registries.d']),
    insecurePolicy: o['insecurePolicy'] === true,
    policy: str(o['policy']),
  };
}

const stopping = new AbortController();
// Every request and stream of a command listens to it.
setMaxListeners(0, stopping.signal);

/** Fires when the command must stop (SIGINT/SIGTERM, see main.ts): every command passes it to the library. */
export function stopSignal(): AbortSignal {
  return stopping.signal;
}

/** Aborts the running command's work through stopSignal(). */
export function requestStop(reason: unknown): void {
  stopping.abort(reason);
}

/** The part of ImageOptions the global flags set (temp dir, platform override, registries.d), with the command's stop signal. */
export function imageOptionsFromGlobals(g: GlobalOptions): ImageOptions {
  const options: ImageOptions = { signal: stopping.signal };
  if (g.tmpdir !== undefined) options.tmpDir = g.tmpdir;
  if (g.overrideOs !== undefined) options.os = g.overrideOs;
  if (g.overrideArch !== undefined) options.architecture = g.overrideArch;
  if (g.overrideVariant !== undefined) options.variant = g.overrideVariant;
  if (g.registriesD !== undefined) options.registriesDDir = g.registriesD;
  return options;
}

/** The message of any thrown value, for `ferry: <message>` lines. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
