/**
 * Pure number and time formatting, shared by every renderer (markdown, HTML, SVG axes, JUnit,
 * terminal). Locale-independent on purpose: a report must read the same on every CI runner,
 * and `rerender` must reproduce a file byte for byte.
 */

/** What a missing value prints as. */
export const DASH = '—';

function isNum(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** "—" for null/NaN, "∞"/"-∞" for infinities. */
function notANumber(n: number | null | undefined): string {
  if (n === Infinity) return '∞';
  if (n === -Infinity) return '-∞';
  return DASH;
}

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1234567.8 → "1,234,568". null/NaN → "—". */
export function fmtInt(n: number | null | undefined): string {
  if (!isNum(n)) return notANumber(n);
  const r = Math.round(n);
  const s = group(String(Math.abs(r)));
  return r < 0 ? `-${s}` : s;
}

/** Fixed decimals with thousands separators: fmtNum(12345.678, 1) → "12,345.7". */
export function fmtNum(n: number | null | undefined, decimals = 1): string {
  if (!isNum(n)) return notANumber(n);
  const fixed = Math.abs(n).toFixed(decimals);
  const [int = '0', frac] = fixed.split('.');
  const neg = n < 0 && Number(fixed) !== 0;
  return `${neg ? '-' : ''}${group(int)}${frac === undefined ? '' : `.${frac}`}`;
}

/** A signed difference: +3, -2, 0. */
export function fmtSigned(n: number | null | undefined): string {
  if (!isNum(n)) return DASH;
  const r = Math.round(n);
  return r > 0 ? `+${fmtInt(r)}` : fmtInt(r);
}

/**
 * A latency: "850 µs", "3.25 ms", "12.3 ms", "1,204 ms". Sub-millisecond values in µs so
 * that loopback latencies don't all print as "0 ms".
 */
export function fmtMs(ms: number | null | undefined): string {
  if (!isNum(ms)) return DASH;
  const a = Math.abs(ms);
  if (a === 0) return '0 ms';
  if (a < 1) return `${Math.round(ms * 1000)} µs`;
  if (a < 10) return `${ms.toFixed(2)} ms`;
  if (a < 100) return `${ms.toFixed(1)} ms`;
  return `${fmtInt(ms)} ms`;
}

/** A duration: "850 ms", "12.34 s", "2 min 05 s", "1 h 02 min". */
export function fmtDuration(ms: number | null | undefined): string {
  if (!isNum(ms)) return DASH;
  const sign = ms < 0 ? '-' : '';
  const a = Math.abs(ms);
  if (a < 1000) return sign + fmtMs(a);
  if (a < 10_000) return `${sign}${(a / 1000).toFixed(2)} s`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  const totalS = Math.round(a / 1000);
  if (totalS < 3600) {
    const m = Math.floor(totalS / 60);
    return `${sign}${m} min ${String(totalS % 60).padStart(2, '0')} s`;
  }
  const totalM = Math.round(a / 60_000);
  return `${sign}${Math.floor(totalM / 60)} h ${String(totalM % 60).padStart(2, '0')} min`;
}

/** A point on the run's clock, relative to its origin: "+1:02.345", "+1:02:03.004". */
export function fmtOffset(ms: number | null | undefined): string {
  if (!isNum(ms)) return DASH;
  const sign = ms < 0 ? '-' : '+';
  const totalMs = Math.round(Math.abs(ms));
  const milli = String(totalMs % 1000).padStart(3, '0');
  const totalS = Math.floor(totalMs / 1000);
  const s = String(totalS % 60).padStart(2, '0');
  const totalM = Math.floor(totalS / 60);
  if (totalM < 60) return `${sign}${totalM}:${s}.${milli}`;
  return `${sign}${Math.floor(totalM / 60)}:${String(totalM % 60).padStart(2, '0')}:${s}.${milli}`;
}

/** An axis label for seconds on the run clock: "0:15", "1:00", "1:02:00". */
export function fmtClock(ms: number): string {
  const totalS = Math.round(ms / 1000);
  const neg = totalS < 0 ? '-' : '';
  const a = Math.abs(totalS);
  const s = String(a % 60).padStart(2, '0');
  const m = Math.floor(a / 60);
  if (m < 60) return `${neg}${m}:${s}`;
  return `${neg}${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${s}`;
}

/** A rate: "19,987 req/s", "12.5 req/s", "0.3 req/s". */
export function fmtRate(perSecond: number | null | undefined, unit = 'req/s'): string {
  if (!isNum(perSecond)) return DASH;
  const a = Math.abs(perSecond);
  const body = a >= 100 || a === 0 || Number.isInteger(perSecond) ? fmtInt(perSecond) : fmtNum(perSecond, 1);
  return `${body} ${unit}`;
}

/**
 * A ratio as a percentage: 0.9994 → "99.94 %". Never rounds a value below 1 up to "100 %" or a
 * value above 0 down to "0 %": it adds decimals instead (0.9999992 → "99.99992 %"). For a
 * zero-loss tool, "100 %" must mean exactly all.
 */
export function fmtPct(ratio: number | null | undefined, decimals = 2): string {
  if (!isNum(ratio)) return DASH;
  const pct = ratio * 100;
  let d = decimals;
  let s = pct.toFixed(d);
  while (d < 8 && ((ratio < 1 && ratio > 0.99 && Number(s) >= 100) || (ratio > 0 && ratio < 0.01 && Number(s) === 0))) {
    d += 1;
    s = pct.toFixed(d);
  }
  return `${fmtNum(pct, d)} %`;
}

/** An axis-sized number: 20000 → "20k", 1500 → "1.5k", 2e6 → "2M", 0.5 → "0.5". */
export function fmtCompact(n: number): string {
  if (!Number.isFinite(n)) return DASH;
  const a = Math.abs(n);
  const trim = (x: number): string => {
    const s = x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
    return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
  };
  const sign = n < 0 ? '-' : '';
  if (a >= 1e9) return `${sign}${trim(a / 1e9)}G`;
  if (a >= 1e6) return `${sign}${trim(a / 1e6)}M`;
  if (a >= 1e3) return `${sign}${trim(a / 1e3)}k`;
  return `${sign}${trim(a)}`;
}

/** A latency axis tick (round numbers): "500 µs", "10 ms", "2.5 s". */
export function fmtMsTick(ms: number): string {
  if (!Number.isFinite(ms)) return DASH;
  if (ms === 0) return '0';
  const trim = (n: number): string => String(Math.round(n * 1000) / 1000);
  if (Math.abs(ms) < 1) return `${trim(ms * 1000)} µs`;
  if (Math.abs(ms) < 1000) return `${trim(ms)} ms`;
  return `${fmtNum(ms / 1000, ms % 1000 === 0 ? 0 : 1)} s`;
}

/** "1 request", "2,000 requests". */
export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${fmtInt(n)} ${n === 1 ? singular : pluralForm}`;
}
