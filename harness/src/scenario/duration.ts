/** Durations in scenario files: a number of milliseconds, or "250ms", "10s", "1.5m", "1h". */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/;

/** Milliseconds, or null if the text is not a duration. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  const match = PATTERN.exec(value);
  if (!match) return null;
  const [, amount, unit] = match;
  const scale = UNITS[unit ?? ''];
  if (amount === undefined || scale === undefined) return null;
  return Math.round(Number(amount) * scale * 1000) / 1000;
}

export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
