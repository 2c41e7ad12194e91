/**
 * The driver's worker thread (compiled to dist/harness/src/driver/worker-entry.js): runs one
 * engine on its own event loop, so the harness thread (orchestrator, proxy control, metrics)
 * never delays a send, and the driver gets a core of its own.
 *
 * Protocol (host.ts): workerData = { config, progressIntervalMs }; parent → worker: { type:
 * 'stop' }; worker → parent: { type: 'progress', progress } …, then exactly one of { type: 'done',
 * ledger, summary } (ledger columns transferred, not copied) or { type: 'error', ... }.
 * If the parent goes away (its port closes) the run is stopped and the thread exits.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { errorCode, errorMessage, isZerodropError } from '../../../common/src/errors.js';
import { ledgerTransferList } from './ledger.js';
import { startEngine } from './select.js';
import type { DriverConfig } from './types.js';
import type { WorkerInput, WorkerMessage } from './host.js';

if (isMainThread || parentPort === null) {
  throw new Error('worker-entry.js runs only as the driver worker thread (see startDriver)');
}
const port = parentPort;
const input = workerData as WorkerInput;
const config: DriverConfig = input.config;

const post = (m: WorkerMessage, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

// How late this thread's loop ran since the last progress message: a starved driver is the
// machine's doing, not the service's (the run's machine samples, harness/src/run/machine-sampler.ts).
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

let run: ReturnType<typeof startEngine> | null = null;
try {
  run = startEngine(config, {
    onProgress: (progress) => {
      const loopDelayMaxMs = loopDelay.count > 0 ? loopDelay.max / 1e6 : 0;
      loopDelay.reset();
      post({ type: 'progress', progress: { ...progress, loopDelayMaxMs } });
    },
    progressIntervalMs: input.progressIntervalMs,
  });
} catch (err) {
  fail(err);
}

port.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') run?.stop();
});
// The parent thread is gone: nobody will read the result. Stop and leave.
port.once('close', () => {
  run?.stop();
  process.exit(0);
});

run?.done.then(
  ({ ledger, summary }) => {
    const data = ledger.detachData();
    post({ type: 'done', ledger: data, summary }, ledgerTransferList(data));
    port.unref(); // let the thread end once the message is out
  },
  (err: unknown) => fail(err),
);

function fail(err: unknown): void {
  post({
    type: 'error',
    message: errorMessage(err),
    code: errorCode(err) ?? null,
    fix: isZerodropError(err) ? (err.fix ?? null) : null,
    stack: err instanceof Error ? (err.stack ?? null) : null,
  });
  port.unref();
}
