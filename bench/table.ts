/** Renders the benchmark's results as a markdown table (pure: no I/O). */
import { formatCounts, type RequestCounts } from './requests.js';
import { ratio, type Summary } from './stats.js';

export interface ScenarioResult {
  /** Scenario number and variant, e.g. `3b`. */
  id: string;
  name: string;
  ferry?: Summary;
  skopeo?: Summary;
  /** Registry requests of the last run of each tool (undefined: no registry involved). */
  ferryRequests?: RequestCounts;
  skopeoRequests?: RequestCounts;
  /** Free text: throughput, why a tool failed, ... */
  note?: string;
}

function num(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function wallDigits(v: number | undefined): number {
  return v !== undefined && v < 0.1 ? 3 : 2;
}

/** `0.83` (ratio Ferry/skopeo), or `—` when either side is missing. */
export function formatRatio(a: number | undefined, b: number | undefined): string {
  const r = ratio(a ?? Number.NaN, b ?? Number.NaN);
  return Number.isFinite(r) ? r.toFixed(2) : '—';
}

const HEADER = [
  '#',
  'scenario',
  'wall s Ferry',
  'wall s skopeo',
  'wall F/s',
  'CPU s Ferry',
  'CPU s skopeo',
  'CPU F/s',
  'RSS MiB Ferry',
  'RSS MiB skopeo',
  'RSS F/s',
  'requests Ferry H/G/Po/Pa/Pu; mounts',
  'requests skopeo',
  'notes',
];

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** One markdown table row per scenario, medians of each tool side by side with the ratios. */
export function renderTable(results: readonly ScenarioResult[]): string {
  const lines = [`| ${HEADER.join(' | ')} |`, `|${HEADER.map(() => '---').join('|')}|`];
  for (const r of results) {
    const f = r.ferry;
    const s = r.skopeo;
    const row = [
      r.id,
      r.name,
      num(f?.wallS, wallDigits(f?.wallS)),
      num(s?.wallS, wallDigits(s?.wallS)),
      formatRatio(f?.wallS, s?.wallS),
      num(f?.cpuS, 2),
      num(s?.cpuS, 2),
      formatRatio(f?.cpuS, s?.cpuS),
      num(f?.rssMiB, 0),
      num(s?.rssMiB, 0),
      formatRatio(f?.rssMiB, s?.rssMiB),
      r.ferryRequests === undefined && r.skopeoRequests === undefined ? '—' : formatCounts(r.ferryRequests),
      r.ferryRequests === undefined && r.skopeoRequests === undefined ? '—' : formatCounts(r.skopeoRequests),
      r.note ?? '',
    ];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}
