/**
 * Runs the zerodrop driver (worker thread) and measures this process's CPU per request, shared by
 * bench.ts and its driver subcommand (bench/driver-engines.ts).
 */
import { type DriverResult, startDriver } from '../../harness/src/driver/host.js';
import type { DriverConfig, EngineName } from '../../harness/src/driver/types.js';

export interface DriveResult {
  result: DriverResult;
  /** CPU µs of this process (all threads) per request sent, between the progress marks ≥ 1 s into the run and the last one. */
  steadyCpuUsPerReq: number;
  /** Requests/s completed OK between the same marks (NaN when the run was too short to have them). */
  steadyOkPerSecond: number;
  /** CPU µs per request over the whole run, worker start-up and ledger hand-over included. */
  wholeCpuUsPerReq: number;
}

/** A driver config for one GET / template (bench runs). */
export function benchDriverConfig(
  url: string,
  engine: EngineName,
  rate: number,
  connections: number,
  seconds: number,
  runId = `bench${Date.now()}`,
): DriverConfig {
  return {
    engine,
    url,
    runId,
    rate,
    connections,
    durationMs: seconds * 1000,
    warmupMs: 0,
    timeoutMs: 5000,
    requests: [{ method: 'GET', path: '/', headers: {}, body: null, weight: 1 }],
    maxLateMs: 5,
  };
}

/**
 * Runs a driver and measures this process's CPU per request in the steady state: between the
 * first progress message ≥ 1 s into the run and the last one before the end, so the worker's
 * start-up (module load, JIT) and the ledger hand-over are not charged to the requests.
 * `onStart` gets the handle (so a SIGINT handler can stop it).
 */
export async function drive(cfg: DriverConfig, onStart?: (handle: ReturnType<typeof startDriver>) => void): Promise<DriveResult> {
  const c0 = process.cpuUsage();
  const handle = startDriver(cfg);
  onStart?.(handle);
  const marks: { t: number; sent: number; ok: number; cpu: number }[] = [];
  handle.on('progress', (p) => {
    if (p.final) return;
    const u = process.cpuUsage(c0);
    marks.push({ t: p.t, sent: p.sent, ok: p.ok, cpu: u.user + u.system });
  });
  const result = await handle.done;
  const cu = process.cpuUsage(c0);
  const from = marks.find((m) => m.t >= result.summary.startedAt + 1000);
  const to = marks.at(-1);
  const steady = from && to && to.sent > from.sent ? (to.cpu - from.cpu) / (to.sent - from.sent) : Number.NaN;
  const steadyRate = from && to && to.t > from.t ? ((to.ok - from.ok) * 1000) / (to.t - from.t) : Number.NaN;
  return { result, steadyCpuUsPerReq: steady, steadyOkPerSecond: steadyRate, wholeCpuUsPerReq: (cu.user + cu.system) / Math.max(1, result.summary.sent) };
}
