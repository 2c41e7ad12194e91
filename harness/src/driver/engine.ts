/**
 * What both engines share: the run handle, config validation, and the choice of engine.
 */
import { ZerodropError } from '../../../common/src/errors.js';
import type { Ledger } from './ledger.js';
import type { DriverConfig, DriverProgress, DriverSummary } from './types.js';

export interface EngineOptions {
  /** Called about every progressIntervalMs, and once more with `final: true` at the end. */
  onProgress?: (p: DriverProgress) => void;
  /** Default 250 ms. */
  progressIntervalMs?: number;
}

export interface EngineResult {
  ledger: Ledger;
  summary: DriverSummary;
}

export interface EngineRun {
  /** Resolves once the run ended and every row has an outcome (none Pending). */
  readonly done: Promise<EngineResult>;
  /** Stop sending now; in-flight requests still get up to timeoutMs. Idempotent. */
  stop(): void;
  /**
   * Open engine: from the next request on, send these headers (added to or replacing the
   * templates'), e.g. the new bearer token after a secret rotation.
   */
  setHeaders?(headers: Record<string, string>): void;
}

export function validateConfig(config: DriverConfig): void {
  const bad = (msg: string, fix?: string): never => {
    throw new ZerodropError('ZD_BAD_USAGE', `driver: ${msg}`, fix === undefined ? {} : { fix });
  };
  if (!(Number.isFinite(config.rate) && config.rate >= 0)) bad(`rate ${config.rate} must be ≥ 0 (0 = closed loop)`);
  if (!(Number.isInteger(config.connections) && config.connections >= 1 && config.connections <= 10_000)) {
    bad(`connections ${config.connections} must be an integer in 1..10000`);
  }
  if (!(Number.isFinite(config.durationMs) && config.durationMs > 0 && config.durationMs <= 24 * 3600_000)) {
    bad(`durationMs ${config.durationMs} must be in (0, 24 h]`, 'every load loop is bounded in time');
  }
  if (!(Number.isFinite(config.timeoutMs) && config.timeoutMs > 0)) bad(`timeoutMs ${config.timeoutMs} must be > 0`);
  if (!(Number.isFinite(config.warmupMs) && config.warmupMs >= 0 && config.warmupMs < config.durationMs)) {
    bad(`warmupMs ${config.warmupMs} must be in [0, durationMs)`);
  }
  if (!(Number.isFinite(config.maxLateMs) && config.maxLateMs >= 0)) bad(`maxLateMs ${config.maxLateMs} must be ≥ 0`);
  const ramp = config.rampUpMs ?? 0;
  if (!(Number.isFinite(ramp) && ramp >= 0 && ramp <= config.warmupMs)) {
    bad(`rampUpMs ${ramp} must be in [0, warmupMs ${config.warmupMs}]`, 'the ramp is part of the warm-up, which is not measured');
  }
  if (ramp > 0 && (config.engine !== 'open' || config.rate === 0))
    bad('rampUpMs needs the open engine with a rate', 'autocannon and the closed loop have no schedule to ramp');
  const rows = (config.rate * config.durationMs) / 1000;
  if (rows > 100_000_000) bad(`rate × duration = ${Math.round(rows)} requests is more than the ledger holds (1e8)`);
}

/** Where a run's engines stand when they finish: used by both for the summary. */
export function emptySummary(config: Pick<DriverConfig, 'engine' | 'rate'>, startedAt: number): DriverSummary {
  return {
    engine: config.engine,
    startedAt,
    sendingEndedAt: startedAt,
    endedAt: startedAt,
    sent: 0,
    lateSends: 0,
    maxScheduleLagMs: 0,
    autocannonReported: null,
    interrupted: false,
    targetRate: config.rate,
    unsent: 0,
    abandoned: 0,
    connectionsOpened: 0,
    maxOpenConnections: 0,
    anomalies: 0,
  };
}
