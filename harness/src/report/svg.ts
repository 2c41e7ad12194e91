/**
 * A small hand-written SVG time-series chart: time axis, a left and an optional right value
 * axis (linear or log), line / area / step / marker series, shaded bands and numbered event
 * markers. Deterministic string output, no dependency, no script: it renders the same from
 * file://, in a CI artifact viewer, or pasted alone into a page.
 */
import { escapeHtml } from './escape.js';
import { fmtClock, fmtCompact } from './format.js';

export const FONT = 'system-ui,-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif';

export interface Axis {
  label: string;
  /**
   * `log1p`: y ∝ log(1 + v), 0 on the floor. For counts that span 1 to thousands on one axis
   * (failed and retried req/s): a single failure stays clear of the floor next to a burst.
   */
  scale: 'linear' | 'log' | 'log1p';
  /** Force the top of a linear axis (otherwise: the data's max, rounded up to a nice number). */
  max?: number;
  /** Integer ticks only (replica counts, request counts). */
  integer?: boolean;
  format?: (v: number) => string;
  color?: string;
}

export interface Series {
  name: string;
  color: string;
  axis: 'left' | 'right';
  kind: 'line' | 'area' | 'step' | 'markers';
  /** x positions (ms on the run clock) and values; null leaves a gap. */
  t: number[];
  values: (number | null)[];
  /** For `step`: where the last step ends. */
  endT?: number;
  width?: number;
  dash?: string;
  /** For `markers`: the tooltip of point i; zero values get no marker. */
  tooltip?: (i: number) => string;
  /** Also draw markers on the non-zero points of a line (rare events must stay visible). */
  markNonZero?: boolean;
  /** Legend text override ("failed req/s (none)"). */
  legend?: string;
  /** Vertical offset in pixels (so equal step lines don't hide each other). */
  offsetPx?: number;
}

export interface BandSpec {
  startMs: number;
  endMs: number | null;
  label: string;
  fill: string;
}

export interface MarkerSpec {
  tMs: number;
  /** Badge text (a number keyed to the list under the chart). */
  badge: string;
  title: string;
  color: string;
}

export interface ChartSpec {
  /** Unique in the page; used for element ids. Must be [a-z0-9-]. */
  id: string;
  title: string;
  desc: string;
  width: number;
  height: number;
  x: [number, number];
  left: Axis;
  right?: Axis;
  series: Series[];
  bands: BandSpec[];
  markers: MarkerSpec[];
  /** Draw the band labels and marker badges (on the first chart only, to keep the rest quiet). */
  annotate?: boolean;
  /** Shown in the middle when there is nothing to plot. */
  empty?: string;
}

const M = { left: 60, right: 62, top: 40, bottom: 30 };
const GRID = '#e5e7eb';
const AXIS = '#6b7280';
const TEXT = '#374151';

/** Coordinates with at most one decimal: smaller files, stable output. */
export function c(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const r = Math.round(n * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Heckbert's nice number: 1, 2, 2.5 or 5 times a power of ten. */
function niceStep(raw: number, integer: boolean): number {
  if (!(raw > 0)) return 1;
  const exp = Math.floor(Math.log10(raw));
  const f = raw / 10 ** exp;
  const nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 && !integer ? 2.5 : f <= 5 ? 5 : 10;
  const step = nf * 10 ** exp;
  return integer ? Math.max(1, Math.round(step)) : step;
}

export interface Scale {
  (v: number): number;
  ticks: number[];
  domain: [number, number];
}

export function linearScale(dataMax: number, r0: number, r1: number, opts: { max?: number; integer?: boolean; ticks?: number } = {}): Scale {
  const wanted = opts.ticks ?? 5;
  let top = opts.max ?? (dataMax > 0 ? dataMax : 1);
  if (opts.integer) top = Math.max(1, Math.ceil(top));
  const step = niceStep(top / wanted, opts.integer ?? false);
  top = opts.max ?? Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step * 1e-6; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
  const f = ((v: number) => r0 + ((r1 - r0) * v) / top) as Scale;
  f.ticks = ticks;
  f.domain = [0, top];
  return f;
}

export function logScale(dataMin: number, dataMax: number, r0: number, r1: number): Scale {
  const lo = 10 ** Math.floor(Math.log10(dataMin > 0 ? dataMin : 0.1));
  let hi = 10 ** Math.ceil(Math.log10(dataMax > 0 ? dataMax : 1));
  if (hi <= lo) hi = lo * 10;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const f = ((v: number) => r0 + ((r1 - r0) * (Math.log10(Math.max(v, lo)) - l0)) / (l1 - l0)) as Scale;
  f.ticks = [];
  for (let e = Math.round(l0); e <= Math.round(l1); e++) f.ticks.push(10 ** e);
  f.domain = [lo, hi];
  return f;
}

export function log1pScale(dataMax: number, r0: number, r1: number): Scale {
  const top = 10 ** Math.max(1, Math.ceil(Math.log10(Math.max(1, dataMax) + 1)));
  const span = Math.log10(1 + top);
  const f = ((v: number) => r0 + ((r1 - r0) * Math.log10(1 + Math.max(0, v))) / span) as Scale;
  f.ticks = [0];
  for (let v = 1; v <= top; v *= 10) f.ticks.push(v);
  f.domain = [0, top];
  return f;
}

/** Time ticks on round seconds, at most ~10 of them. */
export function timeTicks(x0: number, x1: number, maxTicks = 10): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600].map((s) => s * 1000);
  const span = Math.max(1, x1 - x0);
  const step = steps.find((s) => span / s <= maxTicks) ?? Math.ceil(span / maxTicks / 3_600_000) * 3_600_000;
  const out: number[] = [];
  for (let t = Math.ceil(x0 / step) * step; t <= x1 + 1e-6; t += step) out.push(t);
  return out;
}

function scaleFor(axis: Axis, values: number[], r0: number, r1: number): Scale {
  if (axis.scale === 'log1p') return log1pScale(values.length ? Math.max(...values) : 0, r0, r1);
  if (axis.scale === 'log') {
    const pos = values.filter((v) => v > 0);
    return logScale(pos.length ? Math.min(...pos) : 0.1, pos.length ? Math.max(...pos) : 1, r0, r1);
  }
  const max = values.length ? Math.max(...values) : 0;
  return linearScale(max * (axis.integer ? 1 : 1.05), r0, r1, { ...(axis.max !== undefined ? { max: axis.max } : {}), integer: axis.integer ?? false });
}

/** Walks the points, lifting the pen over gaps (null values); `segment` draws one point. */
function tracePath(xs: number[], ys: (number | null)[], segment: (x: number, y: number, pen: boolean, i: number) => string): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const y = ys[i];
    const x = xs[i];
    if (y === null || y === undefined || x === undefined) {
      pen = false;
      continue;
    }
    d += segment(x, y, pen, i);
    pen = true;
  }
  return d;
}

function linePath(xs: number[], ys: (number | null)[]): string {
  return tracePath(xs, ys, (x, y, pen) => `${pen ? 'L' : 'M'}${c(x)} ${c(y)}`);
}

function stepPath(xs: number[], ys: (number | null)[], xEnd: number): string {
  return tracePath(xs, ys, (x, y, pen, i) => {
    const next = xs[i + 1];
    const tail = next === undefined || ys[i + 1] === null ? `H${c(next ?? xEnd)}` : '';
    return `${pen ? `H${c(x)}V${c(y)}` : `M${c(x)} ${c(y)}`}${tail}`;
  });
}

/** Rough text width at 11px, for laying out legends and labels without a DOM. */
export function textWidth(s: string, px = 11): number {
  return s.length * px * 0.58;
}

export function renderChart(spec: ChartSpec): string {
  const { width: W, height: H, id } = spec;
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const [d0, d1] = spec.x;
  const X = (t: number): number => x0 + ((x1 - x0) * (t - d0)) / Math.max(1, d1 - d0);
  const valuesOf = (side: 'left' | 'right'): number[] =>
    spec.series.filter((s) => s.axis === side).flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const YL = scaleFor(spec.left, valuesOf('left'), y0, y1);
  const YR = spec.right ? scaleFor(spec.right, valuesOf('right'), y0, y1) : null;
  const out: string[] = [];
  const titleId = `${id}-title`;
  const descId = `${id}-desc`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${id}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="${titleId} ${descId}" font-family="${FONT}" font-size="11">`,
    `<title id="${titleId}">${escapeHtml(spec.title)}</title>`,
    `<desc id="${descId}">${escapeHtml(spec.desc)}</desc>`,
    `<defs><clipPath id="${id}-clip"><rect x="${c(x0)}" y="${c(y1)}" width="${c(x1 - x0)}" height="${c(y0 - y1)}"/></clipPath></defs>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${c(x0)}" y="14" font-size="13" font-weight="600" fill="#111827">${escapeHtml(spec.title)}</text>`,
  );

  // Bands, under everything.
  out.push(`<g class="bands" clip-path="url(#${id}-clip)">`);
  for (const b of spec.bands) {
    const bx0 = Math.max(x0, X(b.startMs));
    const bx1 = Math.min(x1, X(b.endMs ?? d1));
    if (bx1 <= bx0) continue;
    out.push(
      `<rect class="band" x="${c(bx0)}" y="${c(y1)}" width="${c(Math.max(1, bx1 - bx0))}" height="${c(y0 - y1)}" fill="${b.fill}"><title>${escapeHtml(b.label)}</title></rect>`,
    );
    if (spec.annotate && bx1 - bx0 > 24) {
      const label = b.label.length * 6.4 > bx1 - bx0 - 6 ? `${b.label.slice(0, Math.max(1, Math.floor((bx1 - bx0 - 6) / 6.4) - 1))}…` : b.label;
      out.push(`<text x="${c(bx0 + 4)}" y="${c(y0 - 6)}" fill="${TEXT}" font-size="10.5">${escapeHtml(label)}</text>`);
    }
  }
  out.push('</g>');

  // Grid and axes.
  out.push(`<g class="grid" stroke="${GRID}" stroke-width="1">`);
  for (const v of YL.ticks) out.push(`<line x1="${c(x0)}" x2="${c(x1)}" y1="${c(YL(v))}" y2="${c(YL(v))}"/>`);
  out.push('</g>');
  const fmtL = spec.left.format ?? fmtCompact;
  out.push(`<g class="axis" fill="${spec.left.color ?? AXIS}" text-anchor="end">`);
  for (const v of YL.ticks) out.push(`<text x="${c(x0 - 6)}" y="${c(YL(v) + 3.5)}">${escapeHtml(fmtL(v))}</text>`);
  out.push(`<text transform="translate(${c(14)} ${c((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.left.label)}</text>`, '</g>');
  if (YR && spec.right) {
    const fmtR = spec.right.format ?? fmtCompact;
    out.push(`<g class="axis" fill="${spec.right.color ?? AXIS}" text-anchor="start">`);
    for (const v of YR.ticks) out.push(`<text x="${c(x1 + 6)}" y="${c(YR(v) + 3.5)}">${escapeHtml(fmtR(v))}</text>`);
    out.push(`<text transform="translate(${c(W - 10)} ${c((y0 + y1) / 2)}) rotate(90)" text-anchor="middle">${escapeHtml(spec.right.label)}</text>`, '</g>');
  }
  out.push(`<g class="axis" fill="${AXIS}" text-anchor="middle">`);
  for (const t of timeTicks(d0, d1)) {
    out.push(`<line x1="${c(X(t))}" x2="${c(X(t))}" y1="${c(y0)}" y2="${c(y0 + 4)}" stroke="${AXIS}"/>`);
    out.push(`<text x="${c(X(t))}" y="${c(y0 + 16)}">${fmtClock(t)}</text>`);
  }
  out.push(`</g>`, `<line x1="${c(x0)}" x2="${c(x1)}" y1="${c(y0)}" y2="${c(y0)}" stroke="${AXIS}"/>`);

  // Event markers: dashed verticals; numbered badges on the annotated chart.
  out.push(`<g class="markers">`);
  const rowsLastX: number[] = [];
  for (const m of spec.markers) {
    const mx = X(m.tMs);
    if (mx < x0 - 0.5 || mx > x1 + 0.5) continue;
    out.push(
      `<line x1="${c(mx)}" x2="${c(mx)}" y1="${c(y1)}" y2="${c(y0)}" stroke="${m.color}" stroke-width="1" stroke-dasharray="3 3"><title>${escapeHtml(m.title)}</title></line>`,
    );
    if (spec.annotate) {
      let row = rowsLastX.findIndex((lx) => mx - lx >= 17);
      if (row === -1) row = rowsLastX.length < 3 ? rowsLastX.length : rowsLastX.indexOf(Math.min(...rowsLastX));
      rowsLastX[row] = mx;
      const by = y1 + 8 + row * 16;
      out.push(
        `<g class="badge"><title>${escapeHtml(m.title)}</title><circle cx="${c(mx)}" cy="${c(by)}" r="7.5" fill="#ffffff" stroke="${m.color}" stroke-width="1.5"/><text x="${c(mx)}" y="${c(by + 3.5)}" text-anchor="middle" font-size="9.5" font-weight="600" fill="${m.color}">${escapeHtml(m.badge)}</text></g>`,
      );
    }
  }
  out.push('</g>');

  // Series.
  out.push(`<g class="series" clip-path="url(#${id}-clip)" fill="none" stroke-linejoin="round">`);
  let plotted = 0;
  for (const s of spec.series) {
    const Y = s.axis === 'right' && YR ? YR : YL;
    const xs = s.t.map(X);
    const dy = s.offsetPx ?? 0;
    const ys = s.values.map((v) => (v === null || !Number.isFinite(v) ? null : Y(v) - dy));
    if (ys.some((v) => v !== null)) plotted += 1;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const width = s.width ?? 1.6;
    if (s.kind === 'area') {
      const line = linePath(xs, ys);
      const first = xs.find((_, i) => ys[i] !== null);
      const lastIdx = ys.map((v, i) => (v === null ? -1 : i)).reduce((a, b) => Math.max(a, b), -1);
      if (line && first !== undefined && lastIdx >= 0) {
        out.push(`<path d="${line}L${c(xs[lastIdx] ?? x1)} ${c(Y(0))}L${c(first)} ${c(Y(0))}Z" fill="${s.color}" fill-opacity="0.12" stroke="none"/>`);
      }
      out.push(`<path class="line" data-series="${escapeHtml(s.name)}" d="${line}" stroke="${s.color}" stroke-width="${width}"${dash}/>`);
    } else if (s.kind === 'line') {
      out.push(`<path class="line" data-series="${escapeHtml(s.name)}" d="${linePath(xs, ys)}" stroke="${s.color}" stroke-width="${width}"${dash}/>`);
    } else if (s.kind === 'step') {
      out.push(
        `<path class="step" data-series="${escapeHtml(s.name)}" d="${stepPath(xs, ys, X(s.endT ?? d1))}" stroke="${s.color}" stroke-width="${width}"${dash}/>`,
      );
    }
    if (s.kind === 'markers' || s.markNonZero) {
      const pts: string[] = [];
      s.values.forEach((v, i) => {
        const px = xs[i];
        const py = ys[i];
        if (v === null || v === 0 || px === undefined || py === null || py === undefined) return;
        const tip = s.tooltip ? `<title>${escapeHtml(s.tooltip(i))}</title>` : '';
        pts.push(`<circle cx="${c(px)}" cy="${c(py)}" r="3.2" fill="${s.color}" stroke="#ffffff" stroke-width="0.8">${tip}</circle>`);
      });
      if (pts.length) out.push(`<g class="points" data-series="${escapeHtml(s.name)}">${pts.join('')}</g>`);
    }
  }
  out.push('</g>');
  if (plotted === 0 && spec.empty) {
    out.push(`<text x="${c((x0 + x1) / 2)}" y="${c((y0 + y1) / 2)}" text-anchor="middle" fill="${AXIS}" font-size="13">${escapeHtml(spec.empty)}</text>`);
  }

  // Legend (top right, right-aligned, wraps to the left of the title's end).
  const items = spec.series.map((s) => ({ text: s.legend ?? s.name, color: s.color, dash: s.dash }));
  let lx = x1;
  const legend: string[] = [];
  for (const it of [...items].reverse()) {
    const w = textWidth(it.text) + 26;
    lx -= w;
    legend.push(
      `<g><line x1="${c(lx)}" x2="${c(lx + 16)}" y1="24" y2="24" stroke="${it.color}" stroke-width="2.5"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/><text x="${c(lx + 20)}" y="28" fill="${TEXT}">${escapeHtml(it.text)}</text></g>`,
    );
  }
  out.push(`<g class="legend">${legend.reverse().join('')}</g>`);
  out.push('</svg>');
  return out.join('\n');
}
