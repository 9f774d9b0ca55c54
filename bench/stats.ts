/**
 * Pure helpers of the benchmark: parsing `/usr/bin/time -f '%e %U %S %M'` output, medians and the
 * Ferry/skopeo ratio.
 */

/** One measured run of one command. */
export interface Sample {
  /** Wall time in seconds (measured by the harness around the child, sub-millisecond). */
  wallS: number;
  /** user + sys CPU seconds of the child and the children it waited for. */
  cpuS: number;
  /** Peak resident set size in MiB. */
  rssMiB: number;
}

/** The medians of several samples. */
export type Summary = Sample;

export interface TimeOutput {
  elapsedS: number;
  userS: number;
  sysS: number;
  maxRssKiB: number;
}

/**
 * Parses what `/usr/bin/time -f '%e %U %S %M'` wrote: the last non-empty line holds the four
 * numbers (a failing command adds a "Command exited with non-zero status N" line before it).
 */
export function parseTimeOutput(text: string): TimeOutput {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const last = lines[lines.length - 1];
  const parts = last?.split(/\s+/) ?? [];
  const nums = parts.map(Number);
  if (parts.length !== 4 || nums.some((n) => !Number.isFinite(n))) {
    throw new Error(`bench: cannot read /usr/bin/time output ${JSON.stringify(text)} (want "%e %U %S %M")`);
  }
  const [elapsedS = 0, userS = 0, sysS = 0, maxRssKiB = 0] = nums;
  return { elapsedS, userS, sysS, maxRssKiB };
}

/** The median (mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Field-by-field medians of samples. */
export function summarize(samples: readonly Sample[]): Summary {
  return {
    wallS: median(samples.map((s) => s.wallS)),
    cpuS: median(samples.map((s) => s.cpuS)),
    rssMiB: median(samples.map((s) => s.rssMiB)),
  };
}

/** a / b, or NaN when either side is missing or b is zero. */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return a / b;
}

/** Megabytes (10^6 bytes) per second. */
export function throughputMBps(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / 1e6 / seconds : Number.NaN;
}
