/**
 * Building and checking a ProxyConfig. Every bad value is reported with its field path and a fix,
 * before a socket is opened.
 */
import { isIP } from 'node:net';
import { ZerodropError } from '../../../common/src/errors.js';
import { ID_MODES } from './id-attestation.js';
import { DEFAULT_PROXY_CONFIG, DEFAULT_UPSTREAM_CLIENT, type ProxyConfig } from './types.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends null ? T[K] : Partial<T[K]>) : T[K] };

/** Overrides accepted by proxyConfig(): any field, nested objects merged one level deep. */
export type ProxyConfigOverrides = DeepPartial<Omit<ProxyConfig, 'runId'>>;

/** DEFAULT_PROXY_CONFIG with `overrides` merged in (nested sections are merged, not replaced). */
export function proxyConfig(runId: string, overrides: ProxyConfigOverrides = {}): ProxyConfig {
  const d = DEFAULT_PROXY_CONFIG;
  return {
    runId,
    host: overrides.host ?? d.host,
    port: overrides.port ?? d.port,
    retries: { ...d.retries, ...overrides.retries },
    healthCheck: { ...d.healthCheck, ...overrides.healthCheck },
    ejection: { ...d.ejection, ...overrides.ejection },
    upstream: { ...d.upstream, ...overrides.upstream },
    maxBodyBytes: overrides.maxBodyBytes ?? d.maxBodyBytes,
    metricsPort: overrides.metricsPort === undefined ? d.metricsPort : overrides.metricsPort,
    ...(overrides.slowStartMs !== undefined ? { slowStartMs: overrides.slowStartMs } : {}),
    ...(overrides.ids !== undefined ? { ids: overrides.ids } : {}),
  };
}

export const DEFAULT_RESPONSE_BUFFER_BYTES = 64 * 1024;
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;

/** A loopback literal: 127.0.0.0/8 or ::1. Names (even "localhost") are refused: they may resolve elsewhere. */
export function isLoopbackAddress(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** Throws ZD_BAD_SPEC naming the first bad field; returns the config unchanged otherwise. */
export function validateProxyConfig(config: ProxyConfig): ProxyConfig {
  const bad = (field: string, why: string, fix: string): never => {
    throw new ZerodropError('ZD_BAD_SPEC', `proxy config: ${field} ${why}`, { fix, details: [`field: proxy.${field}`] });
  };
  if (typeof config.runId !== 'string' || config.runId.length === 0) bad('runId', 'must be a non-empty string', 'pass the run id');
  if (!isLoopbackAddress(config.host)) {
    bad(
      'host',
      `is ${JSON.stringify(config.host)}, which is not a loopback address: the proxy only ever listens on loopback`,
      'use "127.0.0.1" (or another 127.x.y.z / "::1" literal)',
    );
  }
  const int = (field: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(v) || v < min || v > max) bad(field, `must be an integer in [${min}, ${max}], got ${String(v)}`, `set ${field} to a value in range`);
  };
  const num = (field: string, v: number, min: number): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) bad(field, `must be a number ≥ ${min}, got ${String(v)}`, `set ${field} to a value in range`);
  };
  int('port', config.port, 0, 65535);
  if (config.metricsPort !== null) int('metricsPort', config.metricsPort, 0, 65535);
  const r = config.retries;
  if (typeof r.enabled !== 'boolean') bad('retries.enabled', 'must be a boolean', 'use true or false');
  int('retries.maxAttempts', r.maxAttempts, 1, 10);
  int('retries.perTryTimeoutMs', r.perTryTimeoutMs, 1);
  num('retries.budgetRatio', r.budgetRatio, 0);
  int('retries.budgetMinConcurrency', r.budgetMinConcurrency, 0);
  const h = config.healthCheck;
  if (typeof h.path !== 'string' || !h.path.startsWith('/'))
    bad('healthCheck.path', `must start with "/", got ${JSON.stringify(h.path)}`, 'use a path like "/healthz"');
  int('healthCheck.intervalMs', h.intervalMs, 1);
  int('healthCheck.timeoutMs', h.timeoutMs, 1);
  int('healthCheck.unhealthyThreshold', h.unhealthyThreshold, 1);
  int('healthCheck.healthyThreshold', h.healthyThreshold, 1);
  if (config.slowStartMs !== undefined) int('slowStartMs', config.slowStartMs, 0, 600_000);
  const e = config.ejection;
  int('ejection.consecutiveFailures', e.consecutiveFailures, 1);
  int('ejection.minEjectionMs', e.minEjectionMs, 0);
  int('ejection.zoneEjectionThreshold', e.zoneEjectionThreshold, 0);
  int('ejection.zoneWindowMs', e.zoneWindowMs, 0);
  const u = config.upstream;
  if (u.client !== undefined && u.client !== 'raw' && u.client !== 'undici') {
    bad('upstream.client', `must be "raw" or "undici", got ${JSON.stringify(u.client)}`, 'use "raw" (the default) or "undici"');
  }
  int('upstream.connectionsPerReplica', u.connectionsPerReplica, 1, 10_000);
  int('upstream.pipelining', u.pipelining, 0, 100);
  if ((u.client ?? DEFAULT_UPSTREAM_CLIENT) === 'raw' && u.pipelining > 1) {
    bad(
      'upstream.pipelining',
      `is ${u.pipelining}, but the raw upstream client sends one request at a time per connection`,
      'set upstream.pipelining to 1, or upstream.client to "undici" to pipeline',
    );
  }
  int('upstream.keepAliveTimeoutMs', u.keepAliveTimeoutMs, 1);
  int('upstream.connectTimeoutMs', u.connectTimeoutMs, 1);
  if (u.responseBufferBytes !== undefined) int('upstream.responseBufferBytes', u.responseBufferBytes, 0);
  if (u.bodyTimeoutMs !== undefined) int('upstream.bodyTimeoutMs', u.bodyTimeoutMs, 1);
  int('maxBodyBytes', config.maxBodyBytes, 0);
  if (config.ids !== undefined && !ID_MODES.includes(config.ids)) {
    bad('ids', `must be one of ${ID_MODES.join(', ')}, got ${JSON.stringify(config.ids)}`, 'use "auto" (detect from the first 2xx), "echo" or "attest"');
  }
  return config;
}
