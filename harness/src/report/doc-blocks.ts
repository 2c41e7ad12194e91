/**
 * The report's building blocks: callouts, key figures, the checks table, reconciliation and
 * latency facts, the disruption table. Each is a pure function of the RunResult; doc.ts puts them
 * into sections, and the job summary (markdown.ts) uses some of them alone.
 */
import type { Check, CheckStatus, DisruptionEvent, LatencySummary, RunResult, WindowStats } from '../result/types.js';
import { DASH, fmtDuration, fmtInt, fmtMs, fmtOffset, fmtPct, fmtRate, plural } from './format.js';
import { STATUS_MARK, STATUS_TONE, at, code, ms, num, sorted, strong, toned, zeroCount } from './doc-model.js';
import type { Block, Cell, Figure, Inline, TableBlock } from './doc-model.js';

export function entriesByCount(rec: Record<string, number>): [string, number][] {
  return Object.entries(rec).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function sumValues(rec: Record<string, number>): number {
  return Object.values(rec).reduce((a, b) => a + b, 0);
}

/** "reset 1,204 · http 502 939" */
export function breakdown(rec: Record<string, number>, max = 6): string {
  const e = entriesByCount(rec);
  const shown = e.slice(0, max).map(([k, v]) => `${k} ${fmtInt(v)}`);
  if (e.length > max) shown.push(`${e.length - max} more`);
  return shown.length ? shown.join(' · ') : 'none';
}

export function checkCounts(checks: Check[]): Record<CheckStatus, number> {
  const out: Record<CheckStatus, number> = { pass: 0, fail: 0, invalid: 0, skip: 0 };
  for (const c of checks) out[c.status] += 1;
  return out;
}

export function checkCountsLine(checks: Check[]): string {
  const c = checkCounts(checks);
  return `${c.pass} passed · ${c.fail} failed · ${c.invalid} invalid · ${c.skip} skipped`;
}

// ---------------------------------------------------------------------------------------------
// Reusable blocks (also used by the job summary)

export function incompleteCallout(r: RunResult): Block | null {
  if (r.run.complete) return null;
  return {
    kind: 'callout',
    tone: 'caution',
    title: 'INCOMPLETE RUN',
    content: [
      (r.run.incompleteReason ?? 'the run did not finish').replace(/[.\s]+$/, ''),
      '. The verdict can never be PASS, and every number below covers only the part that ran.',
    ],
  };
}

export function invalidCallout(r: RunResult): Block | null {
  if (r.verdict !== 'INVALID' || !r.run.complete) return null;
  const invalid = r.checks.filter((c) => c.status === 'invalid').map((c) => c.id);
  return {
    kind: 'callout',
    tone: 'warning',
    title: 'INVALID RUN',
    content: [
      'the load or the evidence was not good enough to judge the service',
      invalid.length ? ` (${invalid.join(', ')})` : '',
      '. This is neither a pass nor a failure of the service.',
    ],
  };
}

export function runLine(r: RunResult): Block {
  return {
    kind: 'para',
    content: [
      'Run ',
      code(r.run.id),
      ' · scenario ',
      code(r.run.scenario.name),
      ` · ${r.run.runtime} runtime · ${r.load.engine} engine · started ${r.run.startedAt} · ${fmtDuration(r.run.durationMs)} · exit code ${r.exitCode}`,
    ],
  };
}

export function keyFigures(r: RunResult): Block {
  const l = r.load;
  const ratio = l.targetRate > 0 ? l.achievedRate / l.targetRate : null;
  const items: Figure[] = [
    {
      label: 'Achieved rate',
      value: fmtRate(l.achievedRate),
      sub: l.targetRate > 0 ? `${fmtPct(ratio)} of ${fmtRate(l.targetRate)}` : 'closed loop',
      tone: ratio !== null && ratio < 0.99 ? 'bad' : 'ok',
    },
    { label: 'Sent', value: fmtInt(l.sent), sub: 'measured window' },
    { label: 'Lost', value: fmtInt(l.lost), sub: 'sent − completed', tone: l.lost ? 'bad' : 'ok' },
    { label: 'Failed', value: fmtInt(r.failures.total), sub: 'whole run', tone: r.failures.total ? 'bad' : 'ok' },
    {
      label: 'Saved by retry',
      value: fmtInt(r.disruption.savedByRetry),
      sub: r.proxy.retriesEnabled ? 'only succeeded on a retry' : 'retries off',
      tone: r.disruption.savedByRetry ? 'warn' : 'ok',
    },
    { label: 'p99 latency', value: fmtMs(l.latency.p99Ms), sub: `p50 ${fmtMs(l.latency.p50Ms)}` },
    { label: 'p99.9 latency', value: fmtMs(l.latency.p999Ms), sub: `max ${fmtMs(l.latency.maxMs)}` },
    {
      label: 'Longest gap',
      value: fmtMs(r.disruption.longestGapMs),
      sub: r.disruption.longestGapAtMs === null ? 'between 2xx' : `at ${fmtOffset(r.disruption.longestGapAtMs)}`,
    },
  ];
  return { kind: 'figures', items };
}

export function checksTable(checks: Check[], inSummary = false): TableBlock {
  return {
    kind: 'table',
    head: ['', 'Check', 'Expected', 'Actual'],
    align: ['c', 'l', 'l', 'l'],
    rows: checks.map((c) => [
      sorted(toned(STATUS_MARK[c.status], STATUS_TONE[c.status]), c.status),
      inSummary ? [code(c.id), ` ${c.title}`] : [code(c.id), ' ', c.title],
      c.expected,
      c.status === 'pass' || c.status === 'skip' ? c.actual : strong(c.actual, STATUS_TONE[c.status]),
    ]),
    rowTone: checks.map((c) => (c.status === 'fail' ? 'bad' : c.status === 'invalid' ? 'warn' : null)),
    sortable: true,
  };
}

export function checkExplanations(checks: Check[]): Block | null {
  const items = checks
    .filter((c) => c.explanation && c.status !== 'pass')
    .map((c): Inline[] => [toned(STATUS_MARK[c.status], STATUS_TONE[c.status]), ' ', code(c.id), `: ${c.explanation ?? ''}`]);
  return items.length ? { kind: 'list', items } : null;
}

export function reconciliationBlocks(r: RunResult): Block[] {
  if (r.reconciliation.length === 0) return [{ kind: 'para', content: ['No reconciliation rows were recorded.'] }];
  const notes = r.reconciliation.filter((row) => row.note);
  const table: TableBlock = {
    kind: 'table',
    head: ['Quantity', 'Driver', 'Proxy', 'Replicas', 'Prometheus', 'Relation', 'Holds'],
    align: ['l', 'r', 'r', 'r', 'r', 'l', 'c'],
    rows: r.reconciliation.map((row) => [
      notes.includes(row) ? `${row.quantity} (${notes.indexOf(row) + 1})` : row.quantity,
      num(row.driver),
      num(row.proxy),
      num(row.replicas),
      num(row.prometheus),
      row.relation,
      row.holds ? toned('✓', 'ok') : strong('✗', 'bad'),
    ]),
    rowTone: r.reconciliation.map((row) => (row.holds ? null : 'bad')),
  };
  const blocks: Block[] = [table];
  if (notes.length) blocks.push({ kind: 'list', items: notes.map((row, i): Inline[] => [`(${i + 1}) ${row.note ?? ''}`]) });
  return blocks;
}

export function latencyLine(l: LatencySummary): string {
  return `p50 ${fmtMs(l.p50Ms)} · p99 ${fmtMs(l.p99Ms)} · p99.9 ${fmtMs(l.p999Ms)} · max ${fmtMs(l.maxMs)} (${plural(l.count, 'sample')})`;
}

export function latencyFacts(r: RunResult): Block {
  return {
    kind: 'facts',
    items: [
      { label: 'Latency (measured window)', value: latencyLine(r.load.latency) },
      ...r.disruption.events.map((e) => ({ label: `During ${e.label}`, value: latencyLine(e.during.latency) })),
    ],
  };
}

export function disruptionSummaryTable(events: DisruptionEvent[]): TableBlock {
  return {
    kind: 'table',
    head: ['Event', 'Start', 'End', 'Failed', 'Saved by retry', 'Longest gap', 'Time to recover', 'p99 before', 'p99 during', 'p99 after'],
    align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    rows: events.map((e) => [
      e.label,
      at(e.startMs),
      e.endMs === null ? sorted(strong('never', 'bad'), null) : at(e.endMs),
      zeroCount(e.failed),
      zeroCount(e.savedByRetry, 'warn'),
      ms(e.longestGapMs),
      sorted(e.timeToRecoverMs === null ? DASH : fmtDuration(e.timeToRecoverMs), e.timeToRecoverMs),
      ms(e.before.latency.p99Ms),
      ms(e.during.latency.p99Ms),
      ms(e.after.latency.p99Ms),
    ]),
    rowTone: events.map((e) => (e.failed > 0 || e.endMs === null ? 'bad' : null)),
  };
}

export function windowRow(name: string, w: WindowStats): Cell[] {
  return [
    name,
    at(w.startMs),
    at(w.endMs),
    sorted(fmtRate(w.achievedRate), w.achievedRate),
    num(w.sent),
    num(w.ok),
    zeroCount(w.failed),
    zeroCount(w.retried, 'warn'),
    ms(w.latency.p50Ms),
    ms(w.latency.p99Ms),
    ms(w.latency.p999Ms),
    ms(w.latency.maxMs),
  ];
}

// ---------------------------------------------------------------------------------------------
// Sections
