/**
 * Reads target mode's server-side counters (scenario `target.serverCounters`) from the scenario's
 * Prometheus: each query once before the load (its start value; a query that is not one number
 * is a usage error, exit 2, before any load) and again after it, polled until every counter
 * agrees with the ledger or `settle` has passed (Prometheus scrapes on its own clock, so the last
 * requests show up a scrape interval or two late). Judged in verify/checks/server-counters.ts.
 */
import { monotonicMs } from '../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import type { LedgerData } from '../driver/ledger.js';
import { PrometheusApi, PrometheusApiError } from '../prometheus/api.js';
import type { Scenario } from '../scenario/schema.js';
import { agrees, clientCount, type ServerCounterEvidence, type ServerCounterReading } from '../verify/checks/server-counters.js';

type Spec = NonNullable<Scenario['target']['serverCounters']>;

const POLL_MS = 250;

export class ServerCounters {
  private constructor(
    private readonly api: PrometheusApi,
    private readonly spec: Spec,
    private readonly readings: ServerCounterReading[],
  ) {}

  /** The start values, before the reachability probe and the load. */
  static async start(prometheusUrl: string, spec: Spec): Promise<ServerCounters> {
    const api = new PrometheusApi(prometheusUrl);
    const readings: ServerCounterReading[] = [];
    for (const [i, q] of spec.queries.entries()) {
      let start: number;
      try {
        start = await readOne(api, q.promql);
      } catch (err) {
        throw startError(prometheusUrl, i, q.promql, err);
      }
      readings.push({ name: q.name, promql: q.promql, counts: q.counts, tolerance: q.tolerance, start, end: null, problem: null });
    }
    return new ServerCounters(api, spec, readings);
  }

  /** After the load: polled until every counter agrees with the ledger, or settle has passed (read once if interrupted). */
  async finish(ledger: LedgerData, probeStatus: number, signal: AbortSignal): Promise<ServerCounterEvidence> {
    const from = monotonicMs();
    const deadline = from + this.spec.settle;
    for (;;) {
      for (const r of this.readings) {
        try {
          r.end = await readOne(this.api, r.promql);
          r.problem = null;
        } catch (err) {
          r.problem = errorMessage(err);
        }
      }
      const settled = this.readings.every((r) => r.problem === null && agrees(r, clientCount(r.counts, ledger, probeStatus)));
      if (settled || signal.aborted || monotonicMs() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - monotonicMs()))));
    }
    // A reading that failed last keeps no stale end value: INVALID, with the reason.
    for (const r of this.readings) if (r.problem !== null) r.end = null;
    return {
      prometheusUrl: this.api.baseUrl,
      probeStatus,
      settleMs: this.spec.settle,
      waitedMs: Math.round(monotonicMs() - from),
      readings: this.readings.map((r) => ({ ...r })),
    };
  }
}

/** One number: a scalar, or a vector of one series (none yet: a counter not created yet is 0). */
async function readOne(api: PrometheusApi, promql: string): Promise<number> {
  const r = await api.query(promql);
  if (r.resultType === 'scalar') return r.value;
  if (r.resultType !== 'vector') throw new QueryShapeError(`it gives a ${r.resultType}, not one number`);
  if (r.vector.length > 1) throw new QueryShapeError(`it gives ${r.vector.length} series, not one number`);
  const value = r.vector[0]?.value ?? 0;
  if (!Number.isFinite(value)) throw new QueryShapeError(`it gives ${value}`);
  return value;
}

class QueryShapeError extends Error {}

function startError(url: string, i: number, promql: string, err: unknown): ZerodropError {
  const field = `target.serverCounters.queries[${i}].promql`;
  if (err instanceof QueryShapeError || (err instanceof PrometheusApiError && (err.errorType === 'bad_data' || err.status === 400 || err.status === 422))) {
    return new ZerodropError('ZD_BAD_SCENARIO', `${field}: ${promql}: ${err.message}`, {
      fix: 'give PromQL that yields one number, a counter summed over the series, e.g. sum(http_requests_total{route="/"})',
      details: [`${field}: ${err.message}`],
    });
  }
  return new ZerodropError('ZD_PROMETHEUS_UNAVAILABLE', `Prometheus at ${url} could not be read before the load (${errorMessage(err)}); no load was sent`, {
    fix: "start it, or check the scenario's prometheus URL (target mode reads the server's counters from it)",
    details: [`${field}: ${promql}`],
  });
}
