/**
 * Messages between the orchestrator thread and the proxy worker thread. Every control request
 * carries an id and is acknowledged with a reply carrying the same id (value or error).
 */
import { errorMessage, isZerodropError, ZerodropError, type ZerodropErrorCode } from '../../../common/src/errors.js';
import type { ServiceProxyOptions } from './proxy.js';
import type { DrainResult, FailedTryLog, ProxyConfig, ProxyEndpoint, ProxyStats } from './types.js';

export interface WorkerData {
  config: ProxyConfig;
  options: Pick<ServiceProxyOptions, 'handlerApi'>;
}

export type ControlCall =
  | { op: 'addEndpoint'; endpoint: ProxyEndpoint }
  | { op: 'drainEndpoint'; id: string; timeoutMs: number }
  | { op: 'removeEndpoint'; id: string }
  | { op: 'stats' }
  | { op: 'failedTries' }
  | { op: 'loopDelay' }
  | { op: 'metrics' }
  | { op: 'close' }
  | { op: 'destroy' };

/** What each call answers. */
export interface ControlResults {
  addEndpoint: undefined;
  drainEndpoint: DrainResult;
  removeEndpoint: undefined;
  stats: ProxyStats;
  failedTries: FailedTryLog;
  /** The proxy thread's worst event-loop delay since the previous call (ms). */
  loopDelay: number;
  metrics: string;
  close: undefined;
  destroy: undefined;
}

export interface ControlRequest {
  id: number;
  call: ControlCall;
}

export interface SerializedError {
  message: string;
  name: string;
  zdCode: ZerodropErrorCode | null;
  fix: string | null;
  details: string[];
  code: string | null;
}

export type WorkerMessage =
  | { type: 'ready'; url: string; metricsUrl: string | null }
  | { type: 'start-failed'; error: SerializedError }
  | { type: 'reply'; id: number; ok: true; value: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

export function serializeError(err: unknown): SerializedError {
  const base = {
    message: errorMessage(err),
    name: err instanceof Error ? err.name : 'Error',
    code: typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : null,
  };
  if (isZerodropError(err)) return { ...base, zdCode: err.code, fix: err.fix ?? null, details: err.details };
  return { ...base, zdCode: null, fix: null, details: [] };
}

export function deserializeError(e: SerializedError, context: string): ZerodropError {
  const options = { details: e.details, ...(e.fix !== null ? { fix: e.fix } : {}) };
  if (e.zdCode !== null) return new ZerodropError(e.zdCode, e.message, options);
  return new ZerodropError('ZD_PROXY_FAILED', `${context}: ${e.message}`, options);
}
