/**
 * The three charts of report.html, from `result.timeline`, `result.bands` and `result.events`:
 * (a) throughput: ok req/s (left axis) and failed / retried req/s (right axis, with a marker on
 *     every bucket that had one, so a single failure is visible next to 20,000 ok);
 * (b) latency p50 / p99 / max per bucket, log scale;
 * (c) ready replicas by zone and by version (step lines).
 * Every chart carries the rollout / zone-down / warm-up bands and the event markers.
 */
import type { TimelineEvent } from '../../../orchestrator/index.js';
import type { Band, RunResult, TimelineSeries } from '../result/types.js';
import { escapeHtml } from './escape.js';
import { eventLine, isMajorEvent } from './events.js';
import { fmtInt, fmtMs, fmtMsTick, fmtOffset, fmtRate } from './format.js';
import { type BandSpec, type ChartSpec, type MarkerSpec, renderChart, type Series } from './svg.js';

export const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#0891b2', '#db2777', '#65a30d', '#4b5563', '#dc2626', '#0d9488'];
const OK = '#16a34a';
const FAILED = '#dc2626';
const RETRIED = '#d97706';

export const BAND_FILL: Record<Band['kind'], string> = {
  rollout: 'rgba(37,99,235,0.10)',
  'zone-down': 'rgba(220,38,38,0.11)',
  warmup: 'rgba(107,114,128,0.10)',
};

const WIDTH = 1000;
/** Above this many buckets, buckets are merged (failures are summed, never averaged away). */
export const MAX_POINTS = 1200;

/**
 * Merges buckets k at a time: ok/failed/retried are summed (and divided by the wider bucket
 * when turned into rates), p50 averaged, p99 and max maxed, ready counts take the minimum (a dip
 * stays visible).
 */
export function downsample(tl: TimelineSeries, maxPoints = MAX_POINTS): TimelineSeries {
  const n = tl.t.length;
  if (n <= maxPoints) return tl;
  const k = Math.ceil(n / maxPoints);
  const groups: number[][] = [];
  for (let i = 0; i < n; i += k) groups.push(Array.from({ length: Math.min(k, n - i) }, (_, j) => i + j));
  const sum = (a: number[]) => (g: number[]) => g.reduce((s, i) => s + (a[i] ?? 0), 0);
  const nums = (a: (number | null)[], g: number[]): number[] => g.map((i) => a[i]).filter((v): v is number => typeof v === 'number');
  const mean = (a: (number | null)[]) => (g: number[]) => {
    const v = nums(a, g);
    return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
  };
  const max = (a: (number | null)[]) => (g: number[]) => {
    const v = nums(a, g);
    return v.length ? Math.max(...v) : null;
  };
  const min = (a: number[]) => (g: number[]) => Math.min(...g.map((i) => a[i] ?? 0));
  const perKey = (rec: Record<string, number[]>): Record<string, number[]> =>
    Object.fromEntries(Object.entries(rec).map(([key, a]) => [key, groups.map(min(a))]));
  return {
    bucketMs: tl.bucketMs * k,
    t: groups.map((g) => tl.t[g[0] ?? 0] ?? 0),
    ok: groups.map(sum(tl.ok)),
    failed: groups.map(sum(tl.failed)),
    retried: groups.map(sum(tl.retried)),
    p50Ms: groups.map(mean(tl.p50Ms)),
    p99Ms: groups.map(max(tl.p99Ms)),
    maxMs: groups.map(max(tl.maxMs)),
    readyByZone: perKey(tl.readyByZone),
    readyByVersion: perKey(tl.readyByVersion),
  };
}

export interface ChartContext {
  x: [number, number];
  bands: BandSpec[];
  markers: MarkerSpec[];
  /** The events behind the markers, in badge order. */
  markerEvents: TimelineEvent[];
  tl: TimelineSeries;
}

function markerColor(e: TimelineEvent): string {
  switch (e.type) {
    case 'zone.down':
    case 'invariant.breach':
    case 'rollout.failed':
    case 'replica.terminated':
    case 'replica.start-failed':
      return FAILED;
    case 'zone.up':
    case 'workload.recovered':
    case 'rollout.completed':
      return OK;
    default:
      return '#2563eb';
  }
}

export function chartContext(r: RunResult): ChartContext {
  const tl = downsample(r.timeline);
  const lastT = tl.t.length ? (tl.t[tl.t.length - 1] ?? 0) + tl.bucketMs : 0;
  const bandEnd = Math.max(0, ...r.bands.map((b) => b.endMs ?? 0));
  const start = Math.min(0, tl.t[0] ?? 0);
  const end = Math.max(lastT, bandEnd, Number.isFinite(r.run.durationMs) ? r.run.durationMs : 0, start + 1000);
  const markerEvents = r.events.filter(isMajorEvent).sort((a, b) => a.t - b.t);
  return {
    x: [start, end],
    tl,
    bands: r.bands.map((b) => ({ startMs: b.startMs, endMs: b.endMs, label: b.label, fill: BAND_FILL[b.kind] ?? BAND_FILL.warmup })),
    markers: markerEvents.map((e, i) => ({
      tMs: e.t,
      badge: String(i + 1),
      title: `${i + 1}. ${fmtOffset(e.t)} ${eventLine(e)}`,
      color: markerColor(e),
    })),
    markerEvents,
  };
}

function base(ctx: ChartContext): Pick<ChartSpec, 'x' | 'bands' | 'markers' | 'width'> {
  return { x: ctx.x, bands: ctx.bands, markers: ctx.markers, width: WIDTH };
}

export function throughputChart(r: RunResult, ctx: ChartContext): string {
  const tl = ctx.tl;
  const perS = 1000 / Math.max(1, tl.bucketMs);
  const mid = tl.t.map((t) => t + tl.bucketMs / 2);
  const totalFailed = tl.failed.reduce((a, b) => a + b, 0);
  const totalRetried = tl.retried.reduce((a, b) => a + b, 0);
  const tip =
    (what: string, counts: number[]) =>
    (i: number): string =>
      `${fmtOffset(tl.t[i])}: ${fmtInt(counts[i])} ${what} in ${fmtMs(tl.bucketMs)} (${fmtRate((counts[i] ?? 0) * perS)})`;
  const series: Series[] = [
    { name: 'ok req/s', color: OK, axis: 'left', kind: 'area', t: mid, values: tl.ok.map((v) => v * perS) },
    {
      name: 'retried req/s',
      legend: totalRetried ? `retried req/s (${fmtInt(totalRetried)})` : 'retried req/s (none)',
      color: RETRIED,
      axis: 'right',
      kind: 'line',
      width: 1.3,
      dash: '4 2',
      t: mid,
      values: tl.retried.map((v) => v * perS),
      markNonZero: true,
      tooltip: tip('retried', tl.retried),
    },
    {
      name: 'failed req/s',
      legend: totalFailed ? `failed req/s (${fmtInt(totalFailed)})` : 'failed req/s (none)',
      color: FAILED,
      axis: 'right',
      kind: 'line',
      width: 1.4,
      t: mid,
      values: tl.failed.map((v) => v * perS),
      markNonZero: true,
      tooltip: tip('failed', tl.failed),
    },
  ];
  const target = r.load.targetRate;
  return renderChart({
    ...base(ctx),
    id: 'chart-throughput',
    title: 'Throughput',
    desc: `Successful, failed and retried requests per second, ${fmtMs(tl.bucketMs)} buckets. Target ${fmtRate(target)}; ${fmtInt(totalFailed)} failed, ${fmtInt(totalRetried)} retried. Shaded: rollouts, zone-down windows, warm-up.`,
    height: 300,
    left: {
      label: 'ok req/s',
      scale: 'linear',
      color: OK,
      ...(target > 0 ? { max: niceAbove(Math.max(target, ...series[0]!.values.map((v) => v ?? 0)) * 1.08) } : {}),
    },
    right: { label: 'failed / retried req/s (log)', scale: 'log1p', color: FAILED },
    series,
    annotate: true,
    empty: 'no traffic recorded',
  });
}

function niceAbove(v: number): number {
  if (!(v > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(v)) / 2;
  return Math.ceil(v / step) * step;
}

export function latencyChart(ctx: ChartContext): string {
  const tl = ctx.tl;
  const mid = tl.t.map((t) => t + tl.bucketMs / 2);
  return renderChart({
    ...base(ctx),
    id: 'chart-latency',
    title: 'Latency',
    desc: `p50, p99 and max latency per ${fmtMs(tl.bucketMs)} bucket, log scale.`,
    height: 250,
    left: { label: 'latency (log)', scale: 'log', format: fmtMsTick },
    series: [
      { name: 'max', color: FAILED, axis: 'left', kind: 'line', width: 1, dash: '2 2', t: mid, values: tl.maxMs },
      { name: 'p99', color: RETRIED, axis: 'left', kind: 'line', width: 1.6, t: mid, values: tl.p99Ms },
      { name: 'p50', color: '#2563eb', axis: 'left', kind: 'line', width: 1.6, t: mid, values: tl.p50Ms },
    ],
    empty: 'no latency recorded',
  });
}

export function replicaCharts(ctx: ChartContext): string {
  const tl = ctx.tl;
  const endT = (tl.t[tl.t.length - 1] ?? 0) + tl.bucketMs;
  const panel = (id: string, title: string, rec: Record<string, number[]>, prefix: string, offset: number): string => {
    const keys = Object.keys(rec).sort();
    const max = Math.max(1, ...keys.flatMap((k) => rec[k] ?? []));
    return renderChart({
      ...base(ctx),
      id,
      title,
      desc: `${title}, at the start of each ${fmtMs(tl.bucketMs)} bucket.`,
      height: 190,
      left: { label: 'ready', scale: 'linear', integer: true, max: max + 1, format: (v) => String(v) },
      series: keys.map((k, i) => ({
        name: `${prefix}${k}`,
        color: PALETTE[(i + offset) % PALETTE.length] ?? '#4b5563',
        axis: 'left' as const,
        kind: 'step' as const,
        width: 2,
        // Lines of equal value would hide each other: offset each series by a couple of pixels.
        offsetPx: (i - (keys.length - 1) / 2) * 2.5,
        t: tl.t,
        values: rec[k] ?? [],
        endT,
      })),
      empty: 'no replica data',
    });
  };
  return [
    panel('chart-ready-zone', 'Ready replicas by zone', tl.readyByZone, 'zone ', 0),
    panel('chart-ready-version', 'Ready replicas by version', tl.readyByVersion, '', 3),
  ].join('\n');
}

/** The charts section of report.html: three figures and the numbered marker list. */
export function renderChartsHtml(r: RunResult): string {
  const ctx = chartContext(r);
  const legendBands = r.bands.length
    ? `<p class="bands-legend">${[...new Set(r.bands.map((b) => b.kind))]
        .map(
          (k) =>
            `<span class="swatch" style="background:${BAND_FILL[k] ?? BAND_FILL.warmup}"></span>${escapeHtml(k === 'zone-down' ? 'zone down' : k === 'warmup' ? 'warm-up' : k)}`,
        )
        .join(' ')}</p>`
    : '';
  const list = ctx.markerEvents.length
    ? `<ol class="markers">${ctx.markerEvents
        .map((e) => `<li><span class="t">${escapeHtml(fmtOffset(e.t))}</span> ${escapeHtml(eventLine(e))}</li>`)
        .join('')}</ol>`
    : '';
  const downsampled =
    ctx.tl.bucketMs !== r.timeline.bucketMs
      ? `<p class="muted">${fmtInt(r.timeline.t.length)} buckets of ${escapeHtml(fmtMs(r.timeline.bucketMs))} merged into ${escapeHtml(fmtMs(ctx.tl.bucketMs))} for drawing; failures are summed, never averaged away.</p>`
      : '';
  return [
    `<figure>${throughputChart(r, ctx)}</figure>`,
    legendBands,
    list,
    `<figure>${latencyChart(ctx)}</figure>`,
    `<figure>${replicaCharts(ctx)}</figure>`,
    downsampled,
  ]
    .filter(Boolean)
    .join('\n');
}
