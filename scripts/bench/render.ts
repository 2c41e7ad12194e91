/**
 * The bench's rendering, apart from its measuring (docs/architecture.md, "Floors"): rows of samples
 * in, a Markdown table, the goals and benchmark-action entries out. Pure.
 */
import type { BenchEntry, BenchFiles } from '../../harness/src/report/bench.js';
import { bindingCause, type CeilingResult } from './ceiling.js';
import { median } from './measure.js';

export type RowKey = 'direct' | 'plain' | 'proxy' | 'haproxy' | 'wrk' | 'driver' | 'ceiling' | 'ceiling-docker';

export interface Sample {
  rps: number;
  requests: number;
  /** CPU µs per request of the load generator (wrk, or this process for the driver). */
  genUs: number | null;
  /** CPU µs per request of the component in the middle (proxy: this process; haproxy). */
  midUs: number | null;
  /** Σ replicas' CPU µs per request. */
  repUs: number | null;
  errors: number;
  p50ms: number;
  p99ms: number;
  load1: number;
  note: string | null;
}

export interface Row {
  key: RowKey;
  label: string;
  /** The benchmark entry name: stable across runs and machines (no versions in it). */
  stableName: string;
  what: string;
  genName: string | null;
  midName: string | null;
  samples: Sample[];
  skipped: string | null;
  error: string | null;
}

export const fmtInt = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '—' : Math.round(x).toLocaleString('en-US');
export const fmt = (x: number | null | undefined, d = 1): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
export const medianOf = (xs: (number | null)[]): number | null => {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : median(v);
};

export interface Ratio {
  name: string;
  value: number | null;
  goal: number;
  /** The goal is a ceiling (value ≤ goal: a cost), not a floor (value ≥ goal: a throughput). */
  atMost?: boolean;
  /** A quantity, not a ratio (e.g. 'ms'): printed with no decimals, its entry in that unit. */
  unit?: string;
  why: string;
}

export const ratioMet = (r: Ratio): boolean => r.value !== null && (r.atMost === true ? r.value <= r.goal : r.value >= r.goal);

export function rowValue(row: Row): number | null {
  return medianOf(row.samples.map((s) => s.rps));
}

/** The note of the run whose req/s is the median (one line, not one per run). */
function medianNote(row: Row): string {
  const v = rowValue(row);
  if (v === null) return '';
  const s = [...row.samples].sort((a, b) => Math.abs(a.rps - v) - Math.abs(b.rps - v))[0];
  return s?.note ?? '';
}

/** Median of per-run ratios a/b (the runs are interleaved, so each pair shared the same box conditions). */
export function pairedRatio(a: Row, b: Row): number | null {
  const n = Math.min(a.samples.length, b.samples.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.samples[i]!.rps;
    const y = b.samples[i]!.rps;
    if (Number.isFinite(x) && Number.isFinite(y) && y > 0) rs.push(x / y);
  }
  return rs.length === 0 ? null : median(rs);
}

/** Median of per-run ratios of the replicas' CPU µs per request, a ÷ b (interleaved runs, as pairedRatio). */
export function pairedCpuRatio(a: Row, b: Row): number | null {
  const n = Math.min(a.samples.length, b.samples.length);
  const rs: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a.samples[i]!.repUs;
    const y = b.samples[i]!.repUs;
    if (x !== null && y !== null && Number.isFinite(x) && Number.isFinite(y) && y > 0) rs.push(x / y);
  }
  return rs.length === 0 ? null : median(rs);
}

export function printTable(rows: Row[], ratios: Ratio[], ceilings: { row: Row; result: CeilingResult }[], header: string[], out: (s: string) => void): void {
  for (const h of header) out(h);
  out('');
  out('| row | what | req/s median [min–max] | load generator CPU µs/req | middle CPU µs/req | replicas CPU µs/req (Σ) | p99 ms | errors | notes |');
  out('|---|---|--:|--:|--:|--:|--:|--:|---|');
  for (const row of rows) {
    if (row.skipped !== null || row.error !== null) {
      out(`| ${row.label} | ${row.what} | ${row.error !== null ? 'NOT MEASURED' : 'skipped'} | | | | | | ${(row.error ?? row.skipped ?? '').split('\n')[0]} |`);
      continue;
    }
    const s = row.samples;
    const rps = s.map((x) => x.rps);
    const range = s.length > 1 ? ` [${fmtInt(Math.min(...rps))}–${fmtInt(Math.max(...rps))}]` : '';
    const gen = medianOf(s.map((x) => x.genUs));
    const mid = medianOf(s.map((x) => x.midUs));
    const rep = medianOf(s.map((x) => x.repUs));
    const notes = medianNote(row);
    out(
      `| ${row.label} | ${row.what} | **${fmtInt(rowValue(row))}**${range} | ${row.genName && gen !== null ? `${row.genName} ${fmt(gen)}` : '—'} | ${row.midName && mid !== null ? `${row.midName} ${fmt(mid)}` : '—'} | ${fmt(rep)} | ${fmt(medianOf(s.map((x) => x.p99ms)), 2)} | ${s.reduce((a, x) => a + x.errors, 0)} | ${notes} |`,
    );
  }
  for (const { row, result: ceiling } of ceilings) {
    if (ceiling.probes.length === 0) continue;
    out('');
    out(`Ceiling probes, ${row.label} (${row.what}):`);
    for (const p of ceiling.probes) {
      const why = p.verdict === 'PASS' ? '' : p.failedChecks.length > 0 ? ` — ${p.failedChecks.slice(0, 4).join('; ')}` : '';
      const cpu =
        p.harnessCores === null
          ? ''
          : ` · CPU: harness ${fmt(p.harnessCores, 2)} cores (${fmt(p.harnessCpuUsPerReq)} µs/req), replicas ${fmt(p.replicaCores, 2)} cores (${fmt(p.replicaCpuUsPerReq)} µs/req)`;
      out(
        `  ${fmtInt(p.rate).padStart(7)} req/s  ${p.verdict.padEnd(7)} achieved ${fmtInt(p.achievedRate)} req/s${cpu} · ${p.detail.split('\n')[0]}${why}${p.dir ? ` · ${p.dir}` : ''}`,
      );
    }
    const cause = bindingCause(ceiling);
    if (cause.length > 0) {
      out('');
      for (const line of cause) out(line);
    }
  }
  out('');
  out('Goals (the ratios of two rows: median of the per-run ratios, the runs being interleaved):');
  for (const r of ratios) {
    const verdict =
      r.value === null
        ? 'NOT MEASURED'
        : ratioMet(r)
          ? 'met'
          : `MISSED (${fmt((r.atMost === true ? r.goal / r.value : r.value / r.goal) * 100, 0)} % of the goal)`;
    const shown = r.unit === undefined ? fmt(r.value, 3) : `${fmt(r.value, 0)} ${r.unit}`;
    const goal = r.unit === undefined ? r.goal.toFixed(2) : `${r.goal} ${r.unit}`;
    out(`  ${r.name.padEnd(30)} ${shown.padStart(6)}   goal ${r.atMost === true ? '≤' : '≥'} ${goal}   ${verdict}${r.why ? ` · ${r.why}` : ''}`);
  }
}

/** benchmark-action entries: `bigger` (customBiggerIsBetter: req/s, throughput ratios) and `smaller` (costs). */
export function benchEntries(rows: Row[], ratios: Ratio[], common: string): BenchFiles {
  const entries: BenchEntry[] = [];
  const smaller: BenchEntry[] = [];
  const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;
  for (const row of rows) {
    const v = rowValue(row);
    if (row.skipped !== null || row.error !== null || v === null) continue;
    const s = row.samples;
    const rps = s.map((x) => x.rps);
    const gen = medianOf(s.map((x) => x.genUs));
    const mid = medianOf(s.map((x) => x.midUs));
    const rep = medianOf(s.map((x) => x.repUs));
    const cpu = [
      row.genName && gen !== null ? `${row.genName} ${fmt(gen)} µs/req` : '',
      row.midName && mid !== null ? `${row.midName} ${fmt(mid)} µs/req` : '',
      rep !== null ? `replicas ${fmt(rep)} µs/req` : '',
    ].filter((x) => x !== '');
    const note = medianNote(row);
    const notes = note === '' ? [] : [note];
    entries.push({
      name: `${row.stableName}: ${row.key === 'ceiling' || row.key === 'ceiling-docker' ? 'highest passing rate' : 'throughput'}`,
      unit: 'req/s',
      value: round(v, 0),
      ...(s.length > 1 ? { range: `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}` } : {}),
      extra: [row.what, ...cpu, `errors ${s.reduce((a, x) => a + x.errors, 0)}`, ...notes, `load1 ${fmt(medianOf(s.map((x) => x.load1)), 2)}`, common].join(
        ' · ',
      ),
    });
  }
  for (const r of ratios) {
    if (r.value === null) continue;
    (r.atMost === true ? smaller : entries).push({
      name: r.unit === undefined ? `ratio: ${r.name}` : r.name,
      unit: r.unit ?? 'ratio',
      value: round(r.value),
      extra: [`goal ${r.atMost === true ? '≤' : '≥'} ${r.goal}`, ratioMet(r) ? 'met' : 'missed', r.why, common].filter((x) => x !== '').join(' · '),
    });
  }
  return { bigger: entries, smaller };
}
