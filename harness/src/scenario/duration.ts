/**
 * Durations in scenario files and flags: a number of milliseconds, or Go/k6-style text:
 * "250ms", "10s", "1.5m", "1h", and compounds like "1m30s" or "1h2m3.5s" (largest unit first).
 */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const ORDER = ['h', 'm', 's', 'ms'];
const WHOLE = /^\s*((?:\d+(?:\.\d+)?(?:ms|s|m|h))+)\s*$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Milliseconds, or null if the text is not a duration. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const whole = WHOLE.exec(value);
  if (!whole?.[1]) return null;
  let total = 0;
  let lastRank = -1;
  for (const [, amount, unit] of whole[1].matchAll(PART)) {
    const rank = ORDER.indexOf(unit ?? '');
    const scale = UNITS[unit ?? ''];
    // "30s1m" or "1m1m" is a typo, not a duration: units must go from largest to smallest, once each.
    if (amount === undefined || scale === undefined || rank <= lastRank) return null;
    lastRank = rank;
    total += Number(amount) * scale;
  }
  return Math.round(total * 1000) / 1000;
}

/** The shortest text parseDuration reads back to `ms`: 90000 → "1m30s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
  if (ms >= 60_000 && ms % 1000 === 0) return `${Math.floor(ms / 60_000)}m${(ms % 60_000) / 1000}s`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
