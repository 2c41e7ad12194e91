/**
 * The reconciliation table's Prometheus column: the same quantities, read back from a real
 * Prometheus, next to the in-process numbers (docs/architecture.md, "The proof", point 2: "with a real
 * Prometheus in the loop, the same equalities are evaluated again with PromQL and must agree").
 *
 * The PromQL rows come from harness/src/prometheus/checks.ts (by name); the reconciliation rows
 * are matched by their stable `id`. A row is only marked as holding if Prometheus agrees too: a ✓
 * next to a Prometheus number that disagrees would say the opposite of the prometheus.* checks.
 */
import type { PrometheusResult, ReconciliationRow } from '../result/types.js';

type PromQuery = PrometheusResult['queries'][number];

interface RowSource {
  /** Queries whose values make the Prometheus cell (summed); the first one must have a value. */
  shown: readonly string[];
  /** Every query that speaks for the row: one that disagrees makes the row not hold. */
  agreement: readonly string[];
}

/** Reconciliation row id → the PromQL rows of the same quantity. */
export const PROMETHEUS_ROWS: Readonly<Record<string, RowSource>> = {
  // The row's relation makes driver and proxy equal; the proxy's count is what both must be.
  'sent-received': { shown: ['proxy-received'], agreement: ['driver-sent', 'proxy-received', 'sent-equals-received'] },
  '2xx': { shown: ['proxy-2xx'], agreement: ['proxy-2xx', 'driver-2xx', '2xx-agree'] },
  // Σ replicas, like the row's Replicas column: exact counts + last scrapes of killed replicas.
  upstream: {
    shown: ['replica-responses', 'replica-responses-killed'],
    agreement: ['proxy-upstream-responses', 'replica-responses', 'replica-responses-killed', 'replicas-cover-proxy'],
  },
};

/** The rows with their Prometheus cells filled from the PromQL results (a new array; the input is not changed). */
export function withPrometheus(rows: readonly ReconciliationRow[], prometheus: Pick<PrometheusResult, 'mode' | 'queries'>): ReconciliationRow[] {
  if (prometheus.mode === 'off' || prometheus.queries.length === 0) return rows.map((r) => ({ ...r }));
  const byName = new Map<string, PromQuery>(prometheus.queries.map((q) => [q.name, q]));
  return rows.map((row) => {
    const source = row.id === undefined ? undefined : PROMETHEUS_ROWS[row.id];
    if (!source) return { ...row };
    const shown = source.shown.map((n) => byName.get(n));
    const first = shown[0];
    const value = first !== undefined && first.value !== null ? shown.reduce((a, q) => a + (q?.value ?? 0), 0) : null;
    const disagree = source.agreement.map((n) => byName.get(n)).filter((q): q is PromQuery => q !== undefined && q.agree === false);
    const notes: string[] = row.note ? [row.note] : [];
    const killed = shown[1];
    if (value !== null && killed?.value !== null && killed?.value !== undefined && killed.value > 0) {
      notes.push(
        `Prometheus: ${fmt(first?.value ?? 0)} exact + ${fmt(killed.value)} from the last scrape of replicas killed before a final read (a lower bound)`,
      );
    }
    if (first !== undefined && value === null) notes.push(`Prometheus had no data for ${first.name}`);
    if (disagree.length > 0) notes.push(`PromQL disagrees: ${disagree.map((q) => `${q.name} ${q.value === null ? '—' : fmt(q.value)}`).join(', ')}`);
    const out: ReconciliationRow = { ...row, prometheus: value, holds: row.holds && disagree.length === 0 };
    if (notes.length > 0) out.note = notes.join('; ');
    return out;
  });
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
