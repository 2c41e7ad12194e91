/**
 * failed-requests.csv: one row per failed request, by the id the driver sent, so an SRE can grep
 * the service's logs for it. Times are ms from the run's origin (result.run.originEpochMs).
 * data_plane: what the data plane logged of it, when it keeps such a log (HAProxy), else empty.
 */
import type { FailedRequestSample } from '../result/types.js';
import { csvField } from './escape.js';

export const FAILED_CSV_COLUMNS = ['id', 't_ms', 'outcome', 'status', 'replica', 'zone', 'step', 'latency_ms', 'data_plane'] as const;

export function failedCsvRow(f: FailedRequestSample): string {
  return [
    csvField(f.id),
    csvField(Math.round(f.tMs * 1000) / 1000),
    csvField(f.outcome),
    csvField(f.status),
    csvField(f.replica),
    csvField(f.zone),
    csvField(f.step),
    csvField(Math.round(f.latencyMs * 1000) / 1000),
    csvField(f.dataPlane ?? null),
  ].join(',');
}

/** Lines with their "\n" (for streaming a list of any size). */
export function* failedCsvLines(rows: Iterable<FailedRequestSample>): Generator<string> {
  yield `${FAILED_CSV_COLUMNS.join(',')}\n`;
  for (const f of rows) yield `${failedCsvRow(f)}\n`;
}

export async function* failedCsvLinesAsync(rows: AsyncIterable<FailedRequestSample>): AsyncGenerator<string> {
  yield `${FAILED_CSV_COLUMNS.join(',')}\n`;
  for await (const f of rows) yield `${failedCsvRow(f)}\n`;
}

export function renderFailedCsv(rows: Iterable<FailedRequestSample>): string {
  return [...failedCsvLines(rows)].join('');
}
