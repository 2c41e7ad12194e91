/**
 * `--ledger-out <file>`: every request of a run, one row each, for the tools people already use
 * on per-request results (Vegeta's `encode --to csv|json`, k6's `--out csv|json`). The format
 * comes from the file name. Times are ms from the run's origin (result.run.originEpochMs), like
 * failed-requests.csv; written atomically and streamed (a 1.2 M-row ledger is never one string).
 */
import { ZerodropError } from '../../../common/src/errors.js';
import type { LedgerData } from '../driver/ledger.js';
import { OUTCOME_NAMES, type Outcome } from '../driver/types.js';
import { writeFileAtomic } from '../report/atomic.js';
import { csvField } from '../report/escape.js';

export type LedgerFormat = 'csv' | 'ndjson';

export const LEDGER_COLUMNS = ['id', 'seq', 't_ms', 'send_lag_ms', 'latency_ms', 'outcome', 'status', 'replica', 'attempts'] as const;

const EXTENSIONS: Record<string, LedgerFormat> = { '.csv': 'csv', '.ndjson': 'ndjson', '.jsonl': 'ndjson' };

/** The format a file name asks for; a coded usage error (exit 2) when it names none. */
export function ledgerFormatOf(file: string): LedgerFormat {
  const ext = Object.keys(EXTENSIONS).find((e) => file.toLowerCase().endsWith(e));
  if (ext === undefined || file.length === ext.length) {
    throw new ZerodropError('ZD_BAD_USAGE', `--ledger-out ${file}: the file name must end in .csv, .ndjson or .jsonl`, {
      fix: 'e.g. --ledger-out ledger.csv (spreadsheets, Vegeta-style) or --ledger-out ledger.ndjson (k6 --out json style)',
    });
  }
  return EXTENSIONS[ext]!;
}

export interface LedgerRow {
  id: string;
  seq: number;
  tMs: number;
  sendLagMs: number;
  latencyMs: number;
  outcome: string;
  status: number;
  replica: string | null;
  attempts: number;
}

const ms3 = (n: number): number => Math.round(n * 1000) / 1000;

/** The ledger's rows, in send order. `origin` is the run's monotonic origin (ms). */
export function* ledgerRows(ledger: LedgerData, origin: number): Generator<LedgerRow> {
  for (let i = 0; i < ledger.length; i++) {
    const r = ledger.replica[i] ?? 0;
    yield {
      id: `${ledger.runId}-${i}`,
      seq: i,
      tMs: ms3((ledger.intended[i] ?? origin) - origin),
      sendLagMs: ms3((ledger.sendLagUs[i] ?? 0) / 1000),
      latencyMs: ms3((ledger.latencyUs[i] ?? 0) / 1000),
      outcome: OUTCOME_NAMES[(ledger.outcome[i] ?? 0) as Outcome],
      status: ledger.status[i] ?? 0,
      replica: r === 0 ? null : (ledger.replicas[r] ?? null),
      attempts: ledger.attempts[i] ?? 1,
    };
  }
}

function* csvLines(rows: Iterable<LedgerRow>): Generator<string> {
  yield `${LEDGER_COLUMNS.join(',')}\n`;
  for (const r of rows) yield `${[r.id, r.seq, r.tMs, r.sendLagMs, r.latencyMs, r.outcome, r.status, r.replica, r.attempts].map(csvField).join(',')}\n`;
}

function* ndjsonLines(rows: Iterable<LedgerRow>): Generator<string> {
  for (const r of rows) {
    yield `${JSON.stringify({ id: r.id, seq: r.seq, t_ms: r.tMs, send_lag_ms: r.sendLagMs, latency_ms: r.latencyMs, outcome: r.outcome, status: r.status, replica: r.replica, attempts: r.attempts })}\n`;
  }
}

/** Batches lines so a million-row ledger is a few hundred writes, not a million. */
function* batched(lines: Iterable<string>, size = 4096): Generator<string> {
  let buf: string[] = [];
  for (const l of lines) {
    buf.push(l);
    if (buf.length === size) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length) yield buf.join('');
}

export async function writeLedger(file: string, ledger: LedgerData, origin: number): Promise<LedgerFormat> {
  const format = ledgerFormatOf(file);
  const rows = ledgerRows(ledger, origin);
  await writeFileAtomic(file, batched(format === 'csv' ? csvLines(rows) : ndjsonLines(rows)));
  return format;
}
