/**
 * The probe and scrape routes of the zero-downtime contract (docs/architecture.md, "The contract").
 * They are not traffic: a replica's served count is its `http_requests_total` over every other route.
 */
export const READINESS_PATH = '/readyz';
export const LIVENESS_PATH = '/healthz';
export const METRICS_PATH = '/metrics';

export const PROBE_ROUTES: readonly string[] = [LIVENESS_PATH, READINESS_PATH, METRICS_PATH];

export function isProbeRoute(route: string): boolean {
  return route === LIVENESS_PATH || route === READINESS_PATH || route === METRICS_PATH;
}
