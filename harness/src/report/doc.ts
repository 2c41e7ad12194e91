/**
 * The report as a small document model (sections of paragraphs, tables and facts), built once
 * from a RunResult and rendered twice: to markdown (report.md, the job summary) and to HTML
 * (report.html). One builder keeps the two reports saying the same thing.
 */
import { dataSection } from './data-section.js';
import type { BookkeepingCounts, LoadResult, ReplicaBoot, RunResult } from '../result/types.js';
import { describeEvent } from './events.js';
import { DASH, fmtDuration, fmtInt, fmtMs, fmtNum, fmtOffset, fmtPct, fmtRate, fmtSigned, plural } from './format.js';

import { VERDICT_MARK, VERDICT_TONE, at, code, ms, num, sorted, strong, toned, zeroCount } from './doc-model.js';
import type { Block, Cell, DocOptions, Inline, ReportDoc, Rich, Section, TableBlock, Tone } from './doc-model.js';
import { cpuBudgetParts } from '../verify/cpu-budget.js';
import {
  breakdown,
  checkCountsLine,
  checkExplanations,
  checksTable,
  disruptionSummaryTable,
  entriesByCount,
  incompleteCallout,
  invalidCallout,
  keyFigures,
  latencyLine,
  reconciliationBlocks,
  runLine,
  sumValues,
  windowRow,
} from './doc-blocks.js';

export * from './doc-model.js';
export * from './doc-blocks.js';

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
    ...cpuBudgetFact(l.cpuBudget),
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

/** Where the machine's CPU went per request (older results and runs without samples have none). */
function cpuBudgetFact(b: LoadResult['cpuBudget']): { label: string; value: Rich }[] {
  if (!b) return [];
  return [
    {
      label: 'CPU per request',
      value: [
        strong(`${b.totalUs.toFixed(0)} µs`, b.totalUs > b.goalUs ? 'warn' : undefined),
        ` all-in (goal ≤ ${b.goalUs} µs) · ${cpuBudgetParts(b, ' µs')} (${fmtInt(b.requests)} requests over ${fmtDuration(b.spanMs)}, ${b.cpus} CPUs)`,
      ],
    },
  ];
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
        toned(
          `(${e.kind}, ${fmtOffset(e.startMs)} → ${e.endMs === null ? 'never ended' : `${fmtOffset(e.endMs)}, ${fmtDuration(e.endMs - e.startMs)}`})`,
          'muted',
        ),
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
    // The data plane's own account (HAProxy's log), shown when it kept one.
    const accounts = f.sample.some((s) => s.dataPlane !== undefined);
    blocks.push({
      kind: 'table',
      head: ['Id', 'Sent at', 'Outcome', 'Status', 'Replica', 'Zone', 'Step', 'Latency', ...(accounts ? ['Data plane'] : [])],
      align: ['l', 'r', 'l', 'r', 'l', 'l', 'l', 'r', ...(accounts ? (['l'] as const) : [])],
      rows: f.sample.map((s) => [
        code(s.id),
        at(s.tMs),
        s.outcome,
        sorted(s.status === 0 ? DASH : String(s.status), s.status),
        s.replica ?? DASH,
        s.zone ?? DASH,
        s.step ?? DASH,
        ms(s.latencyMs),
        ...(accounts ? [s.dataPlane ?? DASH] : []),
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

/** "create 40 · run 310 · listen 820 · Ready 905 ms · CPU 240 ms + shim 30 ms". */
function bootCell(b: ReplicaBoot | null): Cell {
  if (!b) return DASH;
  const ms = (x: number | null): string => (x === null ? '–' : fmtInt(Math.round(x)));
  const cpu = b.cpuMs === null ? '' : ` · CPU ${ms(b.cpuMs)} ms${b.helperCpuMs === null ? '' : ` + shim ${ms(b.helperCpuMs)} ms`}`;
  return sorted(`create ${ms(b.createMs)} · run ${ms(b.runningMs)} · listen ${ms(b.listeningMs)} · Ready ${ms(b.readyMs)} ms${cpu}`, b.readyMs);
}

function replicasSection(r: RunResult): Section {
  if (r.replicas.length === 0) return { id: 'replicas', title: 'Replicas', blocks: [{ kind: 'para', content: ['No replicas recorded.'] }] };
  const exitTone = (e: string): Tone | undefined => (e === 'graceful' || e === 'running' ? undefined : e === 'killed' ? 'warn' : 'bad');
  const withBoot = r.replicas.some((x) => x.boot);
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
      zeroCount(x.restarts ?? 0, 'warn'),
      ...(withBoot ? [bootCell(x.boot ?? null)] : []),
    ];
  });
  const total = (pick: (x: (typeof r.replicas)[number]) => number | null): number => r.replicas.reduce((a, x) => a + (pick(x) ?? 0), 0);
  return {
    id: 'replicas',
    title: 'Replicas',
    blocks: [
      {
        kind: 'table',
        head: [
          'Replica',
          'Zone',
          'Version',
          'Rev',
          'Started',
          'Ready',
          'Draining',
          'Exited',
          'Exit',
          'Proxy 2xx',
          'Replica count',
          'Count source',
          'Δ',
          'Driver served',
          'Retries from',
          'Restarts',
          ...(withBoot ? ['Boot'] : []),
        ],
        align: ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l', 'r', 'r', 'r', 'r', ...(withBoot ? ['l' as const] : [])],
        rows,
        sortable: true,
        note: [
          `Σ proxy 2xx ${fmtInt(total((x) => x.proxy2xx))} · Σ replica counts ${fmtInt(total((x) => x.replicaResponses))} · Σ driver served ${fmtInt(total((x) => x.driverServed))}. `,
          'Δ = replica count − proxy 2xx; "final" counts are read after the drain, "last-scrape" ones (killed replicas) may miss their last second.',
          ...(withBoot
            ? [
                " Boot: ms from the runtime's start call to create → running → listening → Ready; CPU = the container's cgroup at Ready (+ its containerd-shim).",
              ]
            : []),
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
    { label: 'Runtime', value: [code(r.run.runtime), ...(r.run.runtimeChoices ?? []).map((c) => ` · ${c.what}: ${c.value} (${c.why})`)] },
    ...(r.run.cpuPriorities ? [{ label: 'CPU priorities', value: cpuPrioritiesLine(r.run.cpuPriorities) }] : []),
    ...(r.run.dataPlane ? [{ label: 'Data plane', value: [code(r.run.dataPlane.engine), ` (${r.run.dataPlane.why})`] }] : []),
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
    ...[dataSection(r)].filter((x): x is Section => x !== null),
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

/** One line: the nice values the run used (harness/src/run/stack.ts), or why they were left alone. */
function cpuPrioritiesLine(p: NonNullable<RunResult['run']['cpuPriorities']>): string {
  const nice = (n: number | null): string => (n === null ? 'unchanged' : `nice ${n}`);
  const parts = [`harness and data plane ${nice(p.harness)}`, `booting replicas ${nice(p.booting)}`, `serving replicas ${nice(p.serving)}`];
  if (p.session) parts.push(p.session === 'own' ? 'the harness in a session of its own' : 'the harness in the caller’s session (left alone)');
  return `${parts.join(', ')}${p.note ? ` (${p.note})` : ''}`;
}
