/**
 * The counter a replica exposes for the proof (docs/architecture.md, "The contract"): every traffic
 * response it wrote, labelled by `route` and `code`. The orchestrator sums it over every route that is
 * not a probe route (contract/src/probes.ts); Prometheus checks read the same series.
 */
export const SERVED_COUNTER = 'http_requests_total';
