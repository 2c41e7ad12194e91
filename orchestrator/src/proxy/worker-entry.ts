/**
 * The proxy worker thread: runs a ServiceProxy on its own event loop (so on its own core) and
 * answers control requests from the parent. Compiled to dist/orchestrator/src/proxy/worker-entry.js
 * and started by startProxyWorker (worker.ts).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { type ServiceProxy, startServiceProxy } from './proxy.js';
import { type ControlCall, type ControlRequest, serializeError, type WorkerData, type WorkerMessage } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('worker-entry.js must be started as a worker thread (startProxyWorker)');

const data = workerData as WorkerData;
let proxy: ServiceProxy | null = null;
let ending = false;
// A starved proxy thread is the machine's doing, not the service's (the run samples this).
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function post(msg: WorkerMessage): void {
  port?.postMessage(msg);
}

async function handle(call: ControlCall, p: ServiceProxy): Promise<unknown> {
  switch (call.op) {
    case 'addEndpoint':
      return p.addEndpoint(call.endpoint);
    case 'drainEndpoint':
      return p.drainEndpoint(call.id, call.timeoutMs);
    case 'removeEndpoint':
      return p.removeEndpoint(call.id);
    case 'stats':
      return p.stats();
    case 'failedTries':
      return p.failedTries();
    case 'loopDelay': {
      const max = loopDelay.count > 0 ? loopDelay.max / 1e6 : 0;
      loopDelay.reset();
      return max;
    }
    case 'metrics':
      return p.metrics();
    case 'close':
      return p.close();
    case 'destroy':
      return p.destroy();
  }
}

port.on('message', (msg: ControlRequest) => {
  const p = proxy;
  if (p === null) return;
  handle(msg.call, p).then(
    (value) => {
      post({ type: 'reply', id: msg.id, ok: true, value: value ?? null });
      if (msg.call.op === 'close' || msg.call.op === 'destroy') {
        ending = true;
        // Nothing else is left on this thread's loop: closing the port lets it exit.
        port.close();
      }
    },
    (err: unknown) => post({ type: 'reply', id: msg.id, ok: false, error: serializeError(err) }),
  );
});

// The parent went away (its end of the port closed without a close/destroy): stop at once.
port.on('close', () => {
  if (ending) return;
  ending = true;
  const p = proxy;
  void (p ? p.destroy() : Promise.resolve()).finally(() => process.exit(0));
});

try {
  proxy = await startServiceProxy(data.config, data.options);
  post({ type: 'ready', url: proxy.url, metricsUrl: proxy.metricsUrl });
} catch (err) {
  post({ type: 'start-failed', error: serializeError(err) });
  ending = true;
  port.close();
}
