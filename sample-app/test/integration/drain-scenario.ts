/**
 * The shutdown scenario shared by the good-path test and the negative controls: steady
 * keep-alive load straight at one replica, SIGTERM in the middle, then both sides are counted.
 * `zeroLossProblems` is the one verdict: the good path must return [] and each contract-breaking
 * switch must make it return something.
 */
import { parseExposition, sampleValue, sumTrafficResponses } from '../../../contract/index.js';
import { startLoad, waitForCounts, type LoadRequest, type LoadResult } from '../../../test/helpers/http-load.js';
import { request, startSampleApp, type ExitInfo, type SampleAppProcess } from '../../../test/helpers/sample-app-process.js';

export interface DrainRun {
  app: SampleAppProcess;
  load: LoadResult;
  /** The replica's final counters read on the admin port after the load ended; null if unreachable. */
  final: { traffic: number; traffic2xx: number; received: number; inFlight: number } | null;
  finalError: string | null;
  /** How the process ended (null = still running when we stopped waiting). */
  exit: ExitInfo | null;
  /** ms from SIGTERM to exit. */
  exitAfterSignalMs: number | null;
}

export interface DrainScenarioOptions {
  /** Extra sample-app flags (faults...). */
  args?: string[];
  connections?: number;
  /** SIGTERM once this many requests were written. */
  sigtermAfterWritten?: number;
  /** Upper bound of the load; it normally ends earlier, when every connect is refused. */
  loadBoundMs?: number;
  /** How long to wait for the exit after the load ended. */
  exitWaitMs?: number;
}

/**
 * Connections 0..n-11 GET /, the next 6 GET /work?ms=100 (so requests are in flight at SIGTERM
 * and at listener close), the last 4 POST /echo (non-idempotent).
 */
export function mixedRequest(connections: number): (conn: number, seq: number) => LoadRequest {
  return (conn, seq) => {
    if (conn >= connections - 4) {
      return { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: `{"seq":${seq}}` };
    }
    if (conn >= connections - 10) return { method: 'GET', path: '/work?ms=100' };
    return { method: 'GET', path: '/' };
  };
}

export const DRAIN_FLAGS = ['--admin-port', '0', '--drain-delay-ms', '800', '--drain-timeout-ms', '8000', '--exit-linger-ms', '1500'];

export async function runDrainScenario(options: DrainScenarioOptions = {}): Promise<DrainRun> {
  const connections = options.connections ?? 40;
  const app = await startSampleApp(['--port', '0', ...DRAIN_FLAGS, '--replica', 'drain-test', ...(options.args ?? [])]);
  const load = startLoad({
    port: app.port,
    connections,
    durationMs: options.loadBoundMs ?? 8000,
    requestTimeoutMs: 5000,
    idPrefix: 'drain',
    request: mixedRequest(connections),
  });
  let signalAt = 0;
  try {
    await waitForCounts(load, (c) => c.written >= (options.sigtermAfterWritten ?? 1500), 10_000);
    signalAt = performance.now();
    app.signal('SIGTERM');
  } finally {
    // Never leave the load running if waiting failed.
    if (signalAt === 0) load.stop();
  }
  const result = await load.done;

  let final: DrainRun['final'] = null;
  let finalError: string | null = null;
  try {
    const res = await request(app.adminUrl('/metrics'), { timeoutMs: 2000 });
    const samples = parseExposition(res.body);
    final = {
      traffic: sumTrafficResponses(samples),
      traffic2xx: sumTrafficResponses(samples, { code: (c) => c.startsWith('2') }),
      received: ['/', '/work', '/echo', 'unmatched'].reduce((sum, route) => sum + (sampleValue(samples, 'http_requests_received_total', { route }) ?? 0), 0),
      inFlight: sampleValue(samples, 'http_requests_in_flight') ?? Number.NaN,
    };
  } catch (err) {
    finalError = err instanceof Error ? err.message : String(err);
  }
  const exit = await app.waitExit(options.exitWaitMs ?? 10_000);
  return { app, load: result, final, finalError, exit, exitAfterSignalMs: exit === null ? null : exit.atMs - signalAt };
}

/** Everything that shows a lost or failed request, or a replica/client disagreement. [] = zero loss. */
export function zeroLossProblems(run: DrainRun): string[] {
  const p: string[] = [];
  const { load } = run;
  const ok2xx = Object.entries(load.byStatus).reduce((s, [code, n]) => (code.startsWith('2') ? s + n : s), 0);
  if (load.failed > 0) p.push(`${load.failed} written request(s) failed: ${JSON.stringify(load.failureReasons)}`);
  if (load.answered !== load.written) p.push(`written ${load.written} but answered ${load.answered}`);
  if (ok2xx !== load.answered) p.push(`${load.answered - ok2xx} answer(s) were not 2xx: ${JSON.stringify(load.byStatus)}`);
  if (load.idMismatches > 0) p.push(`${load.idMismatches} response(s) did not echo their x-zerodrop-id`);
  if (load.protocolErrors > 0) p.push(`${load.protocolErrors} protocol error(s)`);
  if (Object.keys(load.connectErrors).length > 0) p.push(`connect errors other than refused: ${JSON.stringify(load.connectErrors)}`);
  if (run.final === null) {
    p.push(`final counters unreadable on the admin port: ${run.finalError ?? 'unknown'}`);
  } else {
    if (run.final.traffic !== load.written) p.push(`replica served ${run.final.traffic} traffic responses, client wrote ${load.written}`);
    if (run.final.traffic2xx !== ok2xx) p.push(`replica 2xx ${run.final.traffic2xx} != client 2xx ${ok2xx}`);
    if (run.final.received !== load.written) p.push(`replica received ${run.final.received}, client wrote ${load.written}`);
    if (run.final.inFlight !== 0) p.push(`replica still had ${run.final.inFlight} request(s) in flight`);
  }
  if (run.exit === null) p.push('the replica did not exit by itself');
  else if (run.exit.code !== 0) p.push(`the replica exited with code ${run.exit.code} signal ${run.exit.signal}`);
  return p;
}
