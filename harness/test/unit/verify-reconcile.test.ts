/**
 * The verifier's small pure parts: the driver-bookkeeping counters and the merge of PromQL
 * values into the reconciliation table.
 */
import { describe, expect, it } from 'vitest';
import { Outcome } from '../../src/driver/types.js';
import type { PrometheusResult, ReconciliationRow } from '../../src/result/types.js';
import { bookkeepingCounts, nonZeroBookkeeping } from '../../src/verify/bookkeeping.js';
import { withPrometheus } from '../../src/verify/reconcile.js';

describe('bookkeepingCounts', () => {
  const outcomes = (...o: number[]): { length: number; outcome: Uint8Array } => ({ length: o.length, outcome: Uint8Array.from(o) });
  it.each<[string, { length: number; outcome: Uint8Array }, { anomalies: number; sent: number }, ReturnType<typeof bookkeepingCounts>, string[]]>([
    [
      'a sound ledger',
      outcomes(Outcome.Ok, Outcome.Reset, Outcome.Abandoned),
      { anomalies: 0, sent: 3 },
      { engineAnomalies: 0, pendingRows: 0, unknownOutcomes: 0, summaryLedgerMismatch: 0 },
      [],
    ],
    [
      'engine anomalies',
      outcomes(Outcome.Ok),
      { anomalies: 4, sent: 1 },
      { engineAnomalies: 4, pendingRows: 0, unknownOutcomes: 0, summaryLedgerMismatch: 0 },
      ['engine anomalies 4'],
    ],
    [
      'a row never ended',
      outcomes(Outcome.Ok, Outcome.Pending),
      { anomalies: 0, sent: 2 },
      { engineAnomalies: 0, pendingRows: 1, unknownOutcomes: 0, summaryLedgerMismatch: 0 },
      ['rows still pending 1'],
    ],
    [
      'an outcome byte out of range',
      outcomes(9, 255),
      { anomalies: 0, sent: 2 },
      { engineAnomalies: 0, pendingRows: 0, unknownOutcomes: 2, summaryLedgerMismatch: 0 },
      ['rows with an unknown outcome 2'],
    ],
    [
      'the summary counts rows the ledger does not have',
      outcomes(Outcome.Ok),
      { anomalies: 0, sent: 1201 },
      { engineAnomalies: 0, pendingRows: 0, unknownOutcomes: 0, summaryLedgerMismatch: 1200 },
      ['writes counted ≠ ledger rows 1,200'],
    ],
    [
      'a broken summary is never a silent 0',
      outcomes(Outcome.Ok),
      { anomalies: Number.NaN, sent: Number.NaN },
      { engineAnomalies: 1, pendingRows: 0, unknownOutcomes: 0, summaryLedgerMismatch: 1 },
      ['engine anomalies 1', 'writes counted ≠ ledger rows 1'],
    ],
  ])('%s', (_, ledger, summary, counts, named) => {
    const c = bookkeepingCounts(ledger, summary);
    expect(c).toEqual(counts);
    expect(nonZeroBookkeeping(c)).toEqual(named);
  });
});

describe('withPrometheus', () => {
  const rows: ReconciliationRow[] = [
    {
      id: 'sent-received',
      quantity: 'requests sent / received',
      driver: 100,
      proxy: 100,
      replicas: null,
      prometheus: null,
      relation: 'driver = proxy',
      holds: true,
    },
    { id: '2xx', quantity: '2xx responses', driver: 97, proxy: 97, replicas: null, prometheus: null, relation: 'driver = proxy', holds: true },
    {
      id: 'upstream',
      quantity: 'upstream responses (all codes)',
      driver: null,
      proxy: 100,
      replicas: 96,
      prometheus: null,
      relation: 'replicas ≥ proxy',
      holds: true,
      note: '1 replica killed',
    },
    { id: 'retries', quantity: 'retries', driver: 2, proxy: 2, replicas: null, prometheus: null, relation: 'reported', holds: true },
    { quantity: 'a row without an id (an older result)', driver: 1, proxy: 1, replicas: null, prometheus: null, relation: '=', holds: true },
  ];
  type Q = PrometheusResult['queries'][number];
  const q = (name: string, value: number | null, agree: boolean | null = value === null ? null : true): Q => ({
    name,
    promql: `sum(${name})`,
    value,
    inProcess: value,
    agree,
  });
  const agreeing: Q[] = [
    q('driver-sent', 100),
    q('proxy-received', 100),
    q('proxy-2xx', 97),
    q('driver-2xx', 97),
    q('proxy-upstream-responses', 100),
    q('replica-responses', 90),
    q('replica-responses-killed', 6),
    { ...q('sent-equals-received', 0), kind: 'cross', expected: 0, inProcess: null },
  ];
  const cells = (out: ReconciliationRow[]): [string | undefined, number | null, boolean][] => out.map((r) => [r.id, r.prometheus, r.holds]);

  it('off, or no queries: every cell stays empty', () => {
    expect(cells(withPrometheus(rows, { mode: 'off', queries: [] })).map((c) => c[1])).toEqual([null, null, null, null, null]);
    expect(cells(withPrometheus(rows, { mode: 'auto', queries: [] })).map((c) => c[1])).toEqual([null, null, null, null, null]);
  });

  it('fills each row with the PromQL value of its quantity, Σ replicas including the killed lower bound', () => {
    const out = withPrometheus(rows, { mode: 'auto', queries: agreeing });
    expect(cells(out)).toEqual([
      ['sent-received', 100, true],
      ['2xx', 97, true],
      ['upstream', 96, true],
      ['retries', null, true],
      [undefined, null, true],
    ]);
    expect(out[2]!.note).toBe('1 replica killed; Prometheus: 90 exact + 6 from the last scrape of replicas killed before a final read (a lower bound)');
    expect(rows[0]!.prometheus).toBeNull(); // the input is not changed
  });

  it.each<[string, Q[], string, number | null, boolean, string]>([
    [
      'a fidelity row that disagrees',
      agreeing.map((x) => (x.name === 'driver-2xx' ? q('driver-2xx', 96, false) : x)),
      '2xx',
      97,
      false,
      'PromQL disagrees: driver-2xx 96',
    ],
    [
      'a cross row that disagrees',
      agreeing.map((x) => (x.name === 'sent-equals-received' ? { ...x, value: 3, agree: false } : x)),
      'sent-received',
      100,
      false,
      'PromQL disagrees: sent-equals-received 3',
    ],
    [
      'the shown quantity has no data',
      agreeing.map((x) => (x.name === 'proxy-received' ? q('proxy-received', null) : x)),
      'sent-received',
      null,
      true,
      'Prometheus had no data for proxy-received',
    ],
    ['no killed replica row: no lower-bound note', agreeing.filter((x) => x.name !== 'replica-responses-killed'), 'upstream', 90, true, '1 replica killed'],
  ])('%s', (_, queries, id, value, holds, note) => {
    const row = withPrometheus(rows, { mode: 'auto', queries }).find((r) => r.id === id)!;
    expect(row.prometheus).toBe(value);
    expect(row.holds).toBe(holds);
    expect(row.note).toContain(note);
  });

  it('a row that already failed in process stays failed', () => {
    const bad = rows.map((r) => (r.id === '2xx' ? { ...r, holds: false } : r));
    expect(withPrometheus(bad, { mode: 'auto', queries: agreeing }).find((r) => r.id === '2xx')!.holds).toBe(false);
  });
});
