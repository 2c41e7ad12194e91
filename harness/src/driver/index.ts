/** The load drivers (issue 4): engines, worker host, metrics, ledger analysis. */
export * from './types.js';
export { startDriver } from './host.js';
export type { DriverHandle } from './host.js';
export { createDriverMetrics } from './metrics.js';
export * from './analysis.js';
