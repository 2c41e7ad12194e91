/**
 * The report as a small document model (sections of paragraphs, tables and facts), built once
 * from a RunResult and rendered twice: to markdown (report.md, the job summary) and to HTML
 * (report.html). One builder keeps the two reports saying the same thing.
 */
import type {
  BookkeepingCounts,
  Check,
  CheckStatus,
  DisruptionEvent,
  LatencySummary,
  LoadResult,
  RunResult,
  Verdict,
  WindowStats,
} from '../result/types.js';
import { describeEvent } from './events.js';
import { DASH, fmtDuration, fmtInt, fmtMs, fmtNum, fmtOffset, fmtPct, fmtRate, fmtSigned, plural } from './format.js';

export type Tone = 'ok' | 'bad' | 'warn' | 'muted';

export interface Span {
  text: string;
  code?: boolean;
  strong?: boolean;
  tone?: Tone;
  /** A relative link (an artifact next to the report); never rendered for absolute URLs. */
  href?: string;
}
export type Inline = string | Span;
export type Rich = Inline | Inline[];
/** A table cell; `sort` gives HTML's sortable tables the value behind "850 µs". */
export type Cell = Rich | { rich: Rich; sort: number | string | null };
export type Align = 'l' | 'r' | 'c';

export interface TableBlock {
  kind: 'table';
  head: string[];
  align: Align[];
  rows: Cell[][];
  /** Row tone (a failed check, a reconciliation row that doesn't hold). */
  rowTone?: (Tone | null)[];
  sortable?: boolean;
  /** Shown under the table ("… and 12 more"). */
  note?: Inline[];
}
export type Block =
  | { kind: 'para'; content: Inline[] }
  | { kind: 'callout'; tone: 'caution' | 'warning' | 'note'; title: string; content: Inline[] }
  | TableBlock
  | { kind: 'facts'; items: { label: string; value: Rich }[] }
  | { kind: 'figures'; items: Figure[] }
  | { kind: 'heading'; text: Rich; id?: string }
  | { kind: 'list'; items: Inline[][] }
  | { kind: 'details'; summary: string; blocks: Block[] }
  | { kind: 'code'; lang: string; text: string }
  /** Side by side in HTML, one after the other in markdown. */
  | { kind: 'columns'; blocks: Block[] }
  /** The SVG charts (HTML only). */
  | { kind: 'charts' };

export interface Figure {
  label: string;
  value: string;
  sub?: string;
  tone?: Tone;
}

export interface Section {
  id: string;
  title: string;
  blocks: Block[];
}

export interface ReportDoc {
  /** Plain text for <title>. */
  title: string;
  verdict: Verdict;
  /** The H1 of report.md: verdict and scenario. */
  heading: string;
  /** Loud warnings that go above everything else (incomplete run, invalid run). */
  alerts: Block[];
  /** One line, from result.headline. */
  headline: string;
  /** Run line and key figures. */
  lead: Block[];
  sections: Section[];
}

export interface DocOptions {
  /** Artifact file names to list (relative to the report); defaults to result.artifacts. */
  artifacts?: Record<string, string>;
  /** Most rows in the failure tables. */
  maxFailureRows?: number;
  /** Most rows in the event log. */
  maxEventRows?: number;
}

// ---------------------------------------------------------------------------------------------

export const VERDICT_MARK: Record<Verdict, string> = { PASS: '✅', FAIL: '❌', INVALID: '⚠️' };
export const STATUS_MARK: Record<CheckStatus, string> = { pass: '✓', fail: '✗', invalid: '!', skip: '–' };
const STATUS_TONE: Record<CheckStatus, Tone> = { pass: 'ok', fail: 'bad', invalid: 'warn', skip: 'muted' };
export const VERDICT_TONE: Record<Verdict, Tone> = { PASS: 'ok', FAIL: 'bad', INVALID: 'warn' };

const code = (text: string): Span => ({ text, code: true });
const strong = (text: string, tone?: Tone): Span => (tone ? { text, strong: true, tone } : { text, strong: true });
const toned = (text: string, tone: Tone): Span => ({ text, tone });
const sorted = (rich: Rich, sort: number | string | null): Cell => ({ rich, sort });
const num = (n: number | null | undefined): Cell => sorted(fmtInt(n), n ?? null);
const ms = (n: number | null | undefined): Cell => sorted(fmtMs(n), n ?? null);
const at = (n: number | null | undefined): Cell => sorted(fmtOffset(n), n ?? null);
/** A count that must be zero: red when it isn't. */
const zeroCount = (n: number, tone: Tone = 'bad'): Cell => sorted(n === 0 ? '0' : strong(fmtInt(n), tone), n);

function entriesByCount(rec: Record<string, number>): [string, number][] {
  return Object.entries(rec).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function sumValues(rec: Record<string, number>): number {
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

function latencyLine(l: LatencySummary): string {
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

function windowRow(name: string, w: WindowStats): Cell[] {
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

function checksSection(r: RunResult): Section {
  const blocks: Block[] = [{ kind: 'para', content: [checkCountsLine(r.checks)] }];
  if (r.checks.length === 0) blocks.push({ kind: 'para', content: [strong('No checks were evaluated.', 'warn')] });
  else blocks.push(checksTable(r.checks));
  const expl = checkExplanations(r.checks);
  if (expl) blocks.push(expl);
  return { id: 'checks', title: 'Checks', blocks };
}

function reconciliationSection(r: RunResult): Section {
  return {
    id: 'reconciliation',
    title: 'Reconciliation: the same counts seen from each place',
    blocks: reconciliationBlocks(r),
  };
}

function loadSection(r: RunResult): Section {
  const l = r.load;
  const ratio = l.targetRate > 0 ? l.achievedRate / l.targetRate : null;
  const items: { label: string; value: Rich }[] = [
    { label: 'Engine', value: [code(l.engine), `, ${plural(l.connections, 'connection')}`] },
    {
      label: 'Rate',
      value:
        l.targetRate > 0
          ? [
              `target ${fmtRate(l.targetRate)}, achieved `,
              strong(fmtRate(l.achievedRate), ratio !== null && ratio < 0.99 ? 'bad' : undefined),
              ` (${fmtPct(ratio)})`,
            ]
          : `closed loop, achieved ${fmtRate(l.achievedRate)}`,
    },
    {
      label: 'Measured window',
      value: `${fmtOffset(l.windowStartMs)} → ${fmtOffset(l.windowEndMs)} (${fmtDuration(l.windowEndMs - l.windowStartMs)}, warm-up excluded)`,
    },
    {
      label: 'Requests',
      value: [
        `sent ${fmtInt(l.sent)} · completed ${fmtInt(l.completed)} · ok ${fmtInt(l.ok)} · failed `,
        l.failed ? strong(fmtInt(l.failed), 'bad') : '0',
        ' · lost ',
        l.lost ? strong(fmtInt(l.lost), 'bad') : '0',
        ` · abandoned ${fmtInt(l.abandoned)}`,
        ...unsentSpans(l.unsent),
      ],
    },
    ...bookkeepingFact(l.bookkeeping),
    {
      label: 'Schedule',
      value: [
        `${plural(l.lateSends, 'late send')}, max lag `,
        l.maxScheduleLagMs > l.maxLateMsAllowed ? strong(fmtMs(l.maxScheduleLagMs), 'bad') : fmtMs(l.maxScheduleLagMs),
        ` (allowed ${fmtMs(l.maxLateMsAllowed)})`,
      ],
    },
    { label: 'Latency', value: latencyLine(l.latency) },
  ];
  const blocks: Block[] = [{ kind: 'facts', items }];
  const ac = l.autocannonReported;
  if (ac) {
    blocks.push({ kind: 'para', content: ["autocannon's own counters, for comparison only (the ledger above is what counts):"] });
    blocks.push({
      kind: 'table',
      head: ['', 'Sent', 'Completed', 'Errors', 'Timeouts', 'Non-2xx'],
      align: ['l', 'r', 'r', 'r', 'r', 'r'],
      rows: [
        ['autocannon', num(ac.sent), num(ac.completed), num(ac.errors), num(ac.timeouts), num(ac.non2xx)],
        ['zerodrop ledger', num(l.sent), num(l.completed), num(l.failed), DASH, DASH],
      ],
    });
  }
  return { id: 'load', title: 'Load', blocks };
}

/** " · unsent N": requests due that were never written (they lower the rate; older results lack it). */
function unsentSpans(unsent: number | undefined): Inline[] {
  if (unsent === undefined) return [];
  return [' · unsent ', unsent ? strong(fmtInt(unsent), 'warn') : '0'];
}

/** Short names of the bookkeeping counters (every counter must have one: the report lists them all). */
const BOOKKEEPING_SHORT: Record<keyof BookkeepingCounts, string> = {
  engineAnomalies: 'engine anomalies',
  pendingRows: 'pending rows',
  unknownOutcomes: 'unknown outcomes',
  summaryLedgerMismatch: 'writes ≠ ledger',
};

/** The driver's bookkeeping counters next to the load figures: all 0, or the ones that are not, loudly. */
function bookkeepingFact(b: LoadResult['bookkeeping']): { label: string; value: Rich }[] {
  if (b === undefined) return [];
  const parts = (Object.keys(BOOKKEEPING_SHORT) as (keyof BookkeepingCounts)[]).map((k): [string, number] => [BOOKKEEPING_SHORT[k], b[k]]);
  const value: Inline[] = [];
  parts.forEach(([name, n], i) => {
    if (i > 0) value.push(' · ');
    value.push(`${name} `, n ? strong(fmtInt(n), 'warn') : '0');
  });
  if (parts.some(([, n]) => n !== 0)) value.push(' (the ledger cannot be trusted: see ledger.bookkeeping)');
  return [{ label: 'Driver bookkeeping', value }];
}

function disruptionSection(r: RunResult): Section {
  const d = r.disruption;
  const blocks: Block[] = [
    {
      kind: 'para',
      content: [
        'Longest gap between successful responses ',
        strong(fmtMs(d.longestGapMs)),
        d.longestGapAtMs === null ? '' : ` at ${fmtOffset(d.longestGapAtMs)}`,
        ' · failed ',
        d.failed ? strong(fmtInt(d.failed), 'bad') : '0',
        ' · saved by retry ',
        d.savedByRetry ? strong(fmtInt(d.savedByRetry), 'warn') : '0',
        ` · time to recover ${d.timeToRecoverMs === null ? DASH : fmtDuration(d.timeToRecoverMs)}`,
      ],
    },
  ];
  if (d.events.length === 0) {
    blocks.push({ kind: 'para', content: ['No disruption events (no rollout, fault or scaling) in this run.'] });
    return { id: 'disruption', title: 'Disruption', blocks };
  }
  blocks.push(disruptionSummaryTable(d.events));
  blocks.push({
    kind: 'para',
    content: [
      toned(
        'Windows by actual time: Rate and Sent count requests actually sent in the window, OK the successes answered in it; Failed, Retried and latency cover the requests in flight during it. Latency runs from the intended send time.',
        'muted',
      ),
    ],
  });
  d.events.forEach((e, i) => {
    blocks.push({
      kind: 'heading',
      id: `event-${i + 1}`,
      text: [
        `${i + 1}. ${e.label} `,
        toned(`(${e.kind}, ${fmtOffset(e.startMs)} → ${e.endMs === null ? 'never ended' : `${fmtOffset(e.endMs)}, ${fmtDuration(e.endMs - e.startMs)}`})`, 'muted'),
      ],
    });
    blocks.push({
      kind: 'table',
      head: ['Window', 'From', 'To', 'Rate', 'Sent', 'OK', 'Failed', 'Retried', 'p50', 'p99', 'p99.9', 'Max'],
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      rows: [windowRow('before', e.before), windowRow('during', e.during), windowRow('after', e.after)],
      rowTone: [null, e.during.failed > 0 ? 'bad' : null, e.after.failed > 0 ? 'bad' : null],
    });
    blocks.push({
      kind: 'para',
      content: [
        'Failed ',
        e.failed ? strong(fmtInt(e.failed), 'bad') : '0',
        ' · saved by retry ',
        e.savedByRetry ? strong(fmtInt(e.savedByRetry), 'warn') : '0',
        ` · longest gap ${fmtMs(e.longestGapMs)} · time to recover ${e.timeToRecoverMs === null ? DASH : fmtDuration(e.timeToRecoverMs)}`,
      ],
    });
  });
  return { id: 'disruption', title: 'Disruption', blocks };
}

/** HTTP status "0" means no response at all. */
function statusNames(rec: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k === '0' ? 'no response' : k, v]));
}

function countTable(title: string, rec: Record<string, number>, total: number, max: number): Block[] {
  const e = entriesByCount(rec);
  if (e.length === 0) return [];
  const table: TableBlock = {
    kind: 'table',
    head: [title, 'Failed', 'Share'],
    align: ['l', 'r', 'r'],
    rows: e.slice(0, max).map(([k, v]) => [k, num(v), sorted(fmtPct(total > 0 ? v / total : null, 1), v)]),
    sortable: true,
  };
  if (e.length > max) table.note = [`… and ${e.length - max} more (${fmtInt(sumValues(Object.fromEntries(e.slice(max))))} failed)`];
  return [table];
}

function failuresSection(r: RunResult, opts: DocOptions): Section {
  const f = r.failures;
  if (f.total === 0) {
    return { id: 'failures', title: 'Failures', blocks: [{ kind: 'para', content: [toned('No request failed.', 'ok')] }] };
  }
  const max = opts.maxFailureRows ?? 20;
  const blocks: Block[] = [
    {
      kind: 'para',
      content: [
        strong(plural(f.total, 'request'), 'bad'),
        ` did not succeed (whole run, warm-up included). By outcome: ${breakdown(f.byOutcome)}. By status: ${breakdown(statusNames(f.byStatus))}.`,
      ],
    },
    {
      kind: 'columns',
      blocks: [
        ...countTable('Step', f.byStep, f.total, max),
        ...countTable('Replica', f.byReplica, f.total, max),
        ...countTable('Zone', f.byZone, f.total, max),
      ],
    },
  ];
  if (f.sample.length) {
    const csv = opts.artifacts?.['failedRequests'] ?? r.artifacts['failedRequests'] ?? f.listFile ?? 'failed-requests.csv';
    blocks.push({ kind: 'heading', id: 'first-failed', text: `First ${plural(f.sample.length, 'failed request')}` });
    blocks.push({
      kind: 'table',
      head: ['Id', 'Sent at', 'Outcome', 'Status', 'Replica', 'Zone', 'Step', 'Latency'],
      align: ['l', 'r', 'l', 'r', 'l', 'l', 'l', 'r'],
      rows: f.sample.map((s) => [
        code(s.id),
        at(s.tMs),
        s.outcome,
        sorted(s.status === 0 ? DASH : String(s.status), s.status),
        s.replica ?? DASH,
        s.zone ?? DASH,
        s.step ?? DASH,
        ms(s.latencyMs),
      ]),
      sortable: true,
      note:
        f.listFile !== null
          ? ['All ', fmtInt(f.total), ' failed requests: ', { text: f.listFile, href: f.listFile, code: true }, '.']
          : f.total > f.sample.length
            ? [`Only the first ${fmtInt(f.sample.length)} of ${fmtInt(f.total)} were kept; they are also in `, { text: csv, href: csv, code: true }, '.']
            : ['Also in ', { text: csv, href: csv, code: true }, '.'],
    });
  }
  return { id: 'failures', title: 'Failures', blocks };
}

function replicasSection(r: RunResult): Section {
  if (r.replicas.length === 0) return { id: 'replicas', title: 'Replicas', blocks: [{ kind: 'para', content: ['No replicas recorded.'] }] };
  const exitTone = (e: string): Tone | undefined =>
    e === 'graceful' || e === 'running' ? undefined : e === 'killed' ? 'warn' : 'bad';
  const rows = r.replicas.map((x): Cell[] => {
    const delta = x.replicaResponses === null ? null : x.replicaResponses - x.proxy2xx;
    const tone = exitTone(x.exit);
    return [
      code(x.id),
      x.zone,
      x.version,
      num(x.revision),
      at(x.startedMs),
      at(x.readyMs),
      at(x.drainingMs),
      at(x.exitedMs),
      sorted(tone ? toned(x.exit, tone) : x.exit, x.exit),
      num(x.proxy2xx),
      num(x.replicaResponses),
      x.replicaCountSource,
      sorted(delta === null ? DASH : fmtSigned(delta), delta),
      num(x.driverServed),
      zeroCount(x.retriesFrom, 'warn'),
    ];
  });
  const total = (pick: (x: (typeof r.replicas)[number]) => number | null): number =>
    r.replicas.reduce((a, x) => a + (pick(x) ?? 0), 0);
  return {
    id: 'replicas',
    title: 'Replicas',
    blocks: [
      {
        kind: 'table',
        head: ['Replica', 'Zone', 'Version', 'Rev', 'Started', 'Ready', 'Draining', 'Exited', 'Exit', 'Proxy 2xx', 'Replica count', 'Count source', 'Δ', 'Driver served', 'Retries from'],
        align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l', 'r', 'r', 'r'],
        rows,
        sortable: true,
        note: [
          `Σ proxy 2xx ${fmtInt(total((x) => x.proxy2xx))} · Σ replica counts ${fmtInt(total((x) => x.replicaResponses))} · Σ driver served ${fmtInt(total((x) => x.driverServed))}. `,
          'Δ = replica count − proxy 2xx; "final" counts are read after the drain, "last-scrape" ones (killed replicas) may miss their last second.',
        ],
      },
    ],
  };
}

function proxySection(r: RunResult): Section {
  const p = r.proxy;
  const retries = sumValues(p.retries);
  return {
    id: 'proxy',
    title: 'Proxy',
    blocks: [
      {
        kind: 'facts',
        items: [
          { label: 'Received', value: fmtInt(p.received) },
          { label: 'Responded', value: breakdown(p.responded, 12) },
          {
            label: 'Retries',
            value: p.retriesEnabled
              ? [retries ? strong(fmtInt(retries), 'warn') : '0', retries ? ` (${breakdown(p.retries)})` : '']
              : [toned('disabled', 'muted')],
          },
          { label: 'Saved by retry', value: p.savedByRetry ? strong(fmtInt(p.savedByRetry), 'warn') : '0' },
          { label: 'Retry budget exhausted', value: p.retryBudgetExhausted ? strong(fmtInt(p.retryBudgetExhausted), 'bad') : '0' },
          { label: 'Zone ejections', value: fmtInt(p.zoneEjections) },
        ],
      },
      {
        kind: 'para',
        content: [
          toned('A rolling update done right needs no retries at all; requests that only succeeded on a retry are counted here, never hidden.', 'muted'),
        ],
      },
    ],
  };
}

function prometheusSection(r: RunResult): Section {
  const p = r.prometheus;
  const blocks: Block[] = [
    {
      kind: 'facts',
      items: [
        { label: 'Mode', value: code(p.mode) },
        ...(p.url ? [{ label: 'URL', value: code(p.url) }] : []),
        ...(p.dataDir ? [{ label: 'TSDB', value: [code(p.dataDir), ' (replay it in Grafana)'] as Inline[] }] : []),
        ...(p.note ? [{ label: 'Note', value: p.note }] : []),
      ],
    },
  ];
  if (p.queries.length) {
    blocks.push({
      kind: 'table',
      head: ['Quantity', 'PromQL', 'Prometheus', 'In process', 'Agree'],
      align: ['l', 'l', 'r', 'r', 'c'],
      rows: p.queries.map((q) => [
        q.name,
        code(q.promql),
        num(q.value),
        num(q.inProcess),
        q.agree === null ? DASH : q.agree ? toned('✓', 'ok') : strong('✗', 'bad'),
      ]),
      rowTone: p.queries.map((q) => (q.agree === false ? 'bad' : null)),
    });
  }
  return { id: 'prometheus', title: 'Prometheus', blocks };
}

function eventsSection(r: RunResult, opts: DocOptions): Section {
  const max = opts.maxEventRows ?? 2000;
  if (r.events.length === 0) return { id: 'events', title: 'Event log', blocks: [{ kind: 'para', content: ['No orchestrator events.'] }] };
  const shown = r.events.slice(0, max);
  const table: TableBlock = {
    kind: 'table',
    head: ['Time', 'Event', 'Subject', 'Detail'],
    align: ['r', 'l', 'l', 'l'],
    rows: shown.map((e) => {
      const w = describeEvent(e);
      const bad = e.type === 'invariant.breach' || e.type === 'rollout.failed' || e.type === 'replica.start-failed';
      return [at(e.t), bad ? strong(w.what, 'bad') : w.what, w.subject === null ? DASH : code(w.subject), w.detail || DASH];
    }),
    sortable: true,
  };
  if (r.events.length > max) table.note = [`… and ${fmtInt(r.events.length - max)} more in result.json.`];
  return {
    id: 'events',
    title: 'Event log',
    blocks: [{ kind: 'details', summary: `${plural(r.events.length, 'orchestrator event')}`, blocks: [table] }],
  };
}

function factsSection(r: RunResult, opts: DocOptions): Section {
  const m = r.run.machine;
  const l = r.load;
  const artifacts = opts.artifacts ?? r.artifacts;
  const items: { label: string; value: Rich }[] = [
    { label: 'Run id', value: code(r.run.id) },
    {
      label: 'Scenario',
      value: [
        code(r.run.scenario.name),
        r.run.scenario.file ? [' from ', code(r.run.scenario.file)] : [],
        r.run.scenario.sha256 ? [' (sha256 ', code(r.run.scenario.sha256.slice(0, 12)), ')'] : [],
      ].flat(),
    },
    { label: 'Verdict', value: [strong(r.verdict, VERDICT_TONE[r.verdict]), `, exit code ${r.exitCode}`] },
    { label: 'Complete', value: r.run.complete ? 'yes' : strong(`no: ${r.run.incompleteReason ?? 'unknown reason'}`, 'bad') },
    { label: 'Started', value: `${r.run.startedAt} (origin of every +m:ss time, epoch ${r.run.originEpochMs} ms)` },
    { label: 'Ended', value: `${r.run.endedAt} (${fmtDuration(r.run.durationMs)})` },
    { label: 'Runtime', value: code(r.run.runtime) },
    { label: 'Engine', value: [code(l.engine), `, ${plural(l.connections, 'connection')}`] },
    {
      label: 'Rate',
      value: `target ${l.targetRate > 0 ? fmtRate(l.targetRate) : 'closed loop'}, achieved ${fmtRate(l.achievedRate)}${
        l.targetRate > 0 ? ` (${fmtPct(l.achievedRate / l.targetRate)})` : ''
      }`,
    },
    { label: 'Machine', value: `${m.cpus} × ${m.cpuModel}, ${fmtNum(m.memGiB, 1)} GiB, ${m.platform} ${m.release}` },
    { label: 'Tool', value: `${r.tool.name} ${r.tool.version}, Node ${r.tool.node}` },
    ...(r.run.gitSha ? [{ label: 'Git', value: code(r.run.gitSha) }] : []),
    { label: 'Command', value: code(r.run.command) },
  ];
  const names = Object.entries(artifacts);
  if (names.length) {
    items.push({
      label: 'Artifacts',
      value: names.flatMap(([, file], i): Inline[] => [...(i ? [' · '] : []), { text: file, href: file, code: true }]),
    });
  }
  const blocks: Block[] = [{ kind: 'facts', items }];
  if (r.scenario !== undefined && r.scenario !== null) {
    blocks.push({
      kind: 'details',
      summary: 'Resolved scenario (after defaults and CLI overrides)',
      blocks: [{ kind: 'code', lang: 'json', text: JSON.stringify(r.scenario, null, 2) }],
    });
  }
  return { id: 'run', title: 'Run facts', blocks };
}

// ---------------------------------------------------------------------------------------------

export function buildReportDoc(r: RunResult, opts: DocOptions = {}): ReportDoc {
  const alerts = [incompleteCallout(r), invalidCallout(r)].filter((b): b is Block => b !== null);
  const lead: Block[] = [runLine(r), keyFigures(r)];
  const sections: Section[] = [
    checksSection(r),
    { id: 'charts', title: 'Timeline', blocks: [{ kind: 'charts' }] },
    reconciliationSection(r),
    disruptionSection(r),
    failuresSection(r, opts),
    loadSection(r),
    replicasSection(r),
    proxySection(r),
    prometheusSection(r),
    eventsSection(r, opts),
    factsSection(r, opts),
  ];
  const incomplete = r.run.complete ? '' : ' (INCOMPLETE)';
  return {
    title: `${r.verdict}${incomplete} · ${r.run.scenario.name} · zerodrop ${r.run.id}`,
    verdict: r.verdict,
    heading: `${VERDICT_MARK[r.verdict]} ${r.verdict}${incomplete} · zerodrop · ${r.run.scenario.name}`,
    alerts,
    headline: r.headline,
    lead,
    sections,
  };
}
