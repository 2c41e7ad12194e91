/**
 * junit.xml: one <testsuite name="zerodrop:<scenario>">, one <testcase> per check
 * (classname "zerodrop.<group>", name "<check id>: <title>"), the de facto format GitLab,
 * Jenkins and the GitHub JUnit actions read (testmoapp/junitxml). fail → <failure>,
 * invalid → <error>, skip → <skipped>. An incomplete run adds a "run.complete" testcase in error,
 * so a CI that only reads JUnit can't show an interrupted run as green.
 * Times are real: each testcase's `time` is the span of the run its check judged (a timeline
 * event's check: that event, from its start to its end or the end of the load; every other check:
 * the measured load window), the suite's is the whole run; `hostname` is the machine that ran it.
 */
import type { Check, RunResult } from '../result/types.js';
import { escapeXml, escapeXmlAttr } from './escape.js';
import { fmtInt } from './format.js';

interface Case {
  /** Seconds. */
  time: number;
  classname: string;
  name: string;
  status: Check['status'];
  message: string;
  body: string;
}

function reconciliationText(r: RunResult): string {
  const v = (n: number | null): string => (n === null ? '-' : fmtInt(n));
  return r.reconciliation
    .map(
      (row) =>
        `${row.holds ? 'ok  ' : 'FAIL'} ${row.quantity}: driver ${v(row.driver)} · proxy ${v(row.proxy)} · replicas ${v(row.replicas)} · prometheus ${v(
          row.prometheus,
        )} (${row.relation})${row.note ? ` - ${row.note}` : ''}`,
    )
    .join('\n');
}

function caseFor(c: Check, r: RunResult): Case {
  const lines = [`expected: ${c.expected}`, `actual:   ${c.actual}`];
  if (c.explanation) lines.push(`why:      ${c.explanation}`);
  if (c.numbers && Object.keys(c.numbers).length) {
    lines.push(
      `numbers:  ${Object.entries(c.numbers)
        .map(([k, n]) => `${k}=${n}`)
        .join(', ')}`,
    );
  }
  if ((c.group === 'ledger' || c.group === 'counters') && c.status === 'fail' && r.reconciliation.length) {
    lines.push('', 'reconciliation:', reconciliationText(r));
  }
  if (c.status !== 'pass') lines.push('', `run ${r.run.id}: see report.html / report.md next to this file`);
  return {
    time: spanMs(c, r) / 1000,
    classname: `zerodrop.${c.group}`,
    name: `${c.id}: ${c.title}`,
    status: c.status,
    message: c.status === 'skip' ? c.actual : `expected ${c.expected}; actual ${c.actual}`,
    body: lines.join('\n'),
  };
}

/** The part of the run a check judged, in ms (see the header). */
function spanMs(c: Check, r: RunResult): number {
  const loadEnd = r.load.windowEndMs;
  const event = r.disruption.events.find((e) => c.id === `events.${e.id}` || c.id.startsWith(`events.${e.id}-`));
  if (event) return Math.max(0, (event.endMs ?? loadEnd) - event.startMs);
  return Math.max(0, r.load.windowEndMs - r.load.windowStartMs);
}

function total<K extends string>(counts: Record<K, number>): number {
  return Object.values<number>(counts).reduce((a, b) => a + b, 0);
}

export function renderJunit(r: RunResult): string {
  const cases = r.checks.map((c) => caseFor(c, r));
  if (!r.run.complete) {
    cases.push({
      classname: 'zerodrop.run',
      name: 'run.complete: The run finished',
      status: 'invalid',
      time: Math.max(0, r.run.durationMs) / 1000,
      message: r.run.incompleteReason ?? 'the run did not finish',
      body: `${r.run.incompleteReason ?? 'the run did not finish'}\nThe verdict (${r.verdict}) can never be PASS for an incomplete run.`,
    });
  }
  const count = (s: Check['status']): number => cases.filter((c) => c.status === s).length;
  const tests = cases.length;
  const failures = count('fail');
  const errors = count('invalid');
  const skipped = count('skip');
  const time = (Math.max(0, r.run.durationMs) / 1000).toFixed(3);
  const suiteName = `zerodrop:${r.run.scenario.name}`;
  const props: [string, string][] = [
    ['run_id', r.run.id],
    ['scenario', r.run.scenario.name],
    ['scenario_file', r.run.scenario.file ?? ''],
    ['verdict', r.verdict],
    ['exit_code', String(r.exitCode)],
    ['complete', String(r.run.complete)],
    ['headline', r.headline],
    ['target_rate', String(r.load.targetRate)],
    ['achieved_rate', String(r.load.achievedRate)],
    // The ledger's totals, so a CI that charts JUnit properties needs no result.json parser.
    ['requests_sent', String(r.load.sent)],
    ['requests_ok', String(r.load.ok)],
    ['requests_failed', String(r.load.failed)],
    ['requests_lost', String(r.load.lost)],
    ['requests_abandoned', String(r.load.abandoned)],
    ['proxy_retries', String(total(r.proxy.retries))],
    ['p99_ms', r.load.latency.p99Ms === null ? '' : String(r.load.latency.p99Ms)],
    ['engine', r.load.engine],
    ['runtime', r.run.runtime],
    ['zerodrop_version', r.tool.version],
  ];
  if (r.load.unsent !== undefined) props.push(['requests_unsent', String(r.load.unsent)]);
  if (r.load.bookkeeping) props.push(['bookkeeping_anomalies', String(total(r.load.bookkeeping))]);
  if (r.run.gitSha) props.push(['git_sha', r.run.gitSha]);
  if (r.data) {
    props.push(
      ['writes_acknowledged', String(r.data.acknowledged)],
      ['writes_durable', String(r.data.durable)],
      ['writes_lost', String(r.data.missing + r.data.corrupt)],
      ['writes_phantom', String(r.data.phantom)],
    );
  }
  const a = escapeXmlAttr;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="zerodrop" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}">`,
    `  <testsuite name="${a(suiteName)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${time}" timestamp="${a(r.run.startedAt)}" hostname="${a(r.run.machine.hostname ?? 'unknown')}">`,
    '    <properties>',
    ...props.map(([k, v]) => `      <property name="${a(k)}" value="${a(v)}"/>`),
    '    </properties>',
  ];
  for (const c of cases) {
    const open = `    <testcase classname="${a(c.classname)}" name="${a(c.name)}" time="${c.time.toFixed(3)}"`;
    if (c.status === 'pass') {
      out.push(`${open}/>`);
      continue;
    }
    out.push(`${open}>`);
    if (c.status === 'fail') out.push(`      <failure message="${a(c.message)}" type="fail">${escapeXml(c.body)}</failure>`);
    else if (c.status === 'invalid') out.push(`      <error message="${a(c.message)}" type="invalid">${escapeXml(c.body)}</error>`);
    else out.push(`      <skipped message="${a(c.message)}"/>`);
    out.push('    </testcase>');
  }
  out.push(`    <system-out>${escapeXml(`${r.headline}\n\n${reconciliationText(r)}`)}</system-out>`, '  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
