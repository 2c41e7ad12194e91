/**
 * The compact plain-text block the CLI prints when a run ends: verdict, headline, the load and
 * latency in one line each, the failed checks with expected / actual, and where the report is.
 */
import type { RunResult } from '../result/types.js';
import { STATUS_MARK, checkCountsLine } from './doc.js';
import { fmtInt, fmtMs, fmtOffset, fmtPct, fmtRate } from './format.js';

export interface TerminalOptions {
  /** Where report.html was written; default `reports/<run-id>/report.html`. */
  reportPath?: string;
  /** ANSI colours (the CLI decides from isTTY / NO_COLOR / FORCE_COLOR). Default off. */
  color?: boolean;
  /** Most failed checks listed (the rest are counted). Default 10. */
  maxChecks?: number;
}

const ANSI = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', bold: '\x1b[1m', dim: '\x1b[2m', reset: '\x1b[0m' };

/** Terminal escape sequences and other C0 controls from user text must not reach the terminal. */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '�').replace(/\r?\n/g, ' ');
}

/** `options` may be just the report path (a string). */
export function renderTerminalSummary(r: RunResult, opts: TerminalOptions | string = {}): string {
  const options: TerminalOptions = typeof opts === 'string' ? { reportPath: opts } : opts;
  const paint = (code: keyof typeof ANSI, s: string): string => (options.color ? `${ANSI[code]}${s}${ANSI.reset}` : s);
  const tone = r.verdict === 'PASS' ? 'green' : r.verdict === 'FAIL' ? 'red' : 'yellow';
  const mark = r.verdict === 'PASS' ? '✔' : r.verdict === 'FAIL' ? '✘' : '!';
  const label = (s: string): string => paint('dim', s.padEnd(9));
  const l = r.load;
  const lines: string[] = [];
  lines.push(`${paint(tone, paint('bold', `${mark} ${r.verdict}`))}  zerodrop · ${clean(r.run.scenario.name)} · run ${clean(r.run.id)}`);
  if (!r.run.complete) {
    lines.push(paint('red', paint('bold', `  !! INCOMPLETE RUN: ${clean(r.run.incompleteReason ?? 'the run did not finish')}`)));
  }
  lines.push(`  ${clean(r.headline)}`);
  const rate =
    l.targetRate > 0
      ? `${fmtRate(l.achievedRate)} of ${fmtRate(l.targetRate)} (${fmtPct(l.achievedRate / l.targetRate)})`
      : `${fmtRate(l.achievedRate)} (closed loop)`;
  const bad = (n: number, s: string): string => (n > 0 ? paint('red', s) : s);
  lines.push(
    `  ${label('load')} ${rate} · sent ${fmtInt(l.sent)} · ${bad(l.lost, `lost ${fmtInt(l.lost)}`)} · ${bad(r.failures.total, `failed ${fmtInt(r.failures.total)}`)} · saved by retry ${fmtInt(
      r.disruption.savedByRetry,
    )}`,
  );
  lines.push(
    `  ${label('latency')} p50 ${fmtMs(l.latency.p50Ms)} · p99 ${fmtMs(l.latency.p99Ms)} · p99.9 ${fmtMs(l.latency.p999Ms)} · max ${fmtMs(
      l.latency.maxMs,
    )} · longest gap ${fmtMs(r.disruption.longestGapMs)}${r.disruption.longestGapAtMs === null ? '' : ` at ${fmtOffset(r.disruption.longestGapAtMs)}`}`,
  );
  lines.push(`  ${label('checks')} ${checkCountsLine(r.checks)}`);
  const bads = r.checks.filter((c) => c.status === 'fail' || c.status === 'invalid');
  const max = options.maxChecks ?? 10;
  for (const c of bads.slice(0, max)) {
    lines.push(`    ${paint(c.status === 'fail' ? 'red' : 'yellow', STATUS_MARK[c.status])} ${clean(c.id)}  ${clean(c.broken ?? c.title)}`);
    lines.push(`        expected  ${clean(c.expected)}`);
    lines.push(`        actual    ${clean(c.actual)}`);
    if (c.explanation) lines.push(`        why       ${clean(c.explanation)}`);
  }
  if (bads.length > max) lines.push(`    … and ${bads.length - max} more (see the report)`);
  lines.push(`  ${label('report')} ${clean(options.reportPath ?? `reports/${r.run.id}/report.html`)}`);
  return `${lines.join('\n')}\n`;
}
