/**
 * The link from report.html to the Grafana dashboard (grafana/dashboards/zerodrop.json) showing
 * this run: its uid, the run_id variable and the run's time range (5 s either side). The base
 * is Grafana's default address; a Grafana elsewhere takes the same path and query.
 */
import type { RunResult } from '../result/types.js';

export const GRAFANA_DEFAULT_URL = 'http://localhost:3000';
/** = "uid" in grafana/dashboards/zerodrop.json (a unit test holds them together). */
export const DASHBOARD_UID = 'zerodrop-run';
const MARGIN_MS = 5000;

export function grafanaRunUrl(r: RunResult, base: string = GRAFANA_DEFAULT_URL): string {
  const from = Math.floor(r.run.originEpochMs - MARGIN_MS);
  const ended = Date.parse(r.run.endedAt);
  const to = Math.ceil((Number.isFinite(ended) ? ended : r.run.originEpochMs + r.run.durationMs) + MARGIN_MS);
  const q = new URLSearchParams({ orgId: '1', 'var-run_id': r.run.id, from: String(from), to: String(to) });
  return `${base.replace(/\/+$/, '')}/d/${DASHBOARD_UID}/zerodrop?${q.toString()}`;
}
