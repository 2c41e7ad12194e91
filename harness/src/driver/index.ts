/** The load drivers (issue 4): engines, worker host, metrics, ledger analysis. */
export * from './types.js';
export { Ledger, ledgerTransferList } from './ledger.js';
export type { LedgerColumns, LedgerData } from './ledger.js';
export type { EngineOptions, EngineResult, EngineRun } from './engine.js';
export { validateConfig } from './engine.js';
export { startOpenEngine, KEEPALIVE_IDLE_MS, idleLimitMs } from './open.js';
export { startAutocannonEngine } from './autocannon.js';
export { startEngine } from './select.js';
export { startDriver, resolveWorkerEntry } from './host.js';
export type { DriverHandle, DriverResult, StartDriverOptions } from './host.js';
export { createDriverMetrics } from './metrics.js';
export type { DriverMetrics, DriverMetricsOptions } from './metrics.js';
export { statsFromLedger } from './stats.js';
export * from './analysis.js';
