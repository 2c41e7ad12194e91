/**
 * The proxy in a worker thread: the same ProxyControl, with the data plane on its own event loop
 * so it gets a core of its own (the harness, driver and orchestrator keep the main thread).
 * Control calls are messages with ids; each one is acknowledged by the worker.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ZerodropError } from '../../../common/src/errors.js';
import { validateProxyConfig } from './config.js';
import {
  type ControlCall,
  type ControlRequest,
  type ControlResults,
  deserializeError,
  type ThreadLoad,
  type WorkerData,
  type WorkerMessage,
} from './protocol.js';
import type { ServiceProxyOptions } from './proxy.js';
import type { DrainResult, FailedTryLog, ProxyConfig, ProxyControl, ProxyEndpoint, ProxyStats } from './types.js';

/** How long to wait for the worker to start listening, and for a control call to be acknowledged. */
const START_TIMEOUT_MS = 15_000;
const CALL_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 5_000;

/**
 * The compiled worker entry. From dist/ it sits next to this module; when this module runs from
 * source (tests under vitest), the compiled copy in dist/ is used (npm test builds first).
 */
export function resolveWorkerEntry(): URL {
  const beside = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const dist = new URL('../../../dist/orchestrator/src/proxy/worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(dist))) return dist;
  throw new ZerodropError('ZD_PROXY_FAILED', 'the compiled proxy worker (worker-entry.js) was not found', {
    fix: 'run "npm run build" (npm test does it for you)',
    details: [`looked at ${fileURLToPath(beside)}`, `and ${fileURLToPath(dist)}`],
  });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  op: string;
}

export class ProxyWorker implements ProxyControl {
  readonly url: string;
  readonly metricsUrl: string | null;
  readonly threadId: number;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;
  private readonly exited: Promise<void>;

  constructor(
    private readonly worker: Worker,
    ready: { url: string; metricsUrl: string | null },
    exited: Promise<void>,
  ) {
    this.url = ready.url;
    this.metricsUrl = ready.metricsUrl;
    this.threadId = worker.threadId;
    this.exited = exited;
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type !== 'reply') return;
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      this.settled();
      if (msg.ok) p.resolve(msg.value);
      else p.reject(deserializeError(msg.error, `proxy worker ${p.op}`));
    });
    worker.on('error', (err) => this.fail(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker crashed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => this.fail(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker exited (code ${code})`)));
    // The proxy thread never keeps the process alive by itself: when the parent has nothing left
    // to do (or forgot to close it), the process exits and the thread with it. It is ref'd only
    // while a control call waits for its answer.
    worker.unref();
  }

  private settled(): void {
    if (this.pending.size === 0) this.worker.unref();
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private call<K extends ControlCall['op']>(call: Extract<ControlCall, { op: K }>): Promise<ControlResults[K]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<ControlResults[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.settled();
        reject(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker did not answer ${call.op} within ${CALL_TIMEOUT_MS} ms`));
      }, CALL_TIMEOUT_MS);
      timer.unref();
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, op: call.op });
      const req: ControlRequest = { id, call };
      this.worker.postMessage(req);
    });
  }

  async addEndpoint(endpoint: ProxyEndpoint): Promise<void> {
    await this.call({ op: 'addEndpoint', endpoint });
  }
  drainEndpoint(id: string, timeoutMs: number): Promise<DrainResult> {
    return this.call({ op: 'drainEndpoint', id, timeoutMs });
  }
  async removeEndpoint(id: string): Promise<void> {
    await this.call({ op: 'removeEndpoint', id });
  }
  stats(): Promise<ProxyStats> {
    return this.call({ op: 'stats' });
  }
  failedTries(): Promise<FailedTryLog> {
    return this.call({ op: 'failedTries' });
  }
  /** The proxy thread's worst event-loop delay (ms) since the previous call, and its CPU so far. */
  loopDelay(): Promise<ThreadLoad> {
    return this.call({ op: 'loopDelay' });
  }
  metrics(): Promise<string> {
    return this.call({ op: 'metrics' });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    try {
      await this.call({ op: 'close' });
    } finally {
      await this.waitExit();
    }
  }

  async destroy(): Promise<void> {
    if (this.dead) return;
    try {
      await Promise.race([this.call({ op: 'destroy' }), new Promise((r) => setTimeout(r, EXIT_TIMEOUT_MS).unref())]);
    } catch {
      // the worker is terminated below anyway
    } finally {
      await this.waitExit();
    }
  }

  private async waitExit(): Promise<void> {
    this.worker.ref();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), EXIT_TIMEOUT_MS);
      timer.unref();
    });
    const res = await Promise.race([this.exited.then(() => 'exited' as const), timeout]);
    clearTimeout(timer);
    if (res === 'timeout') await this.worker.terminate();
  }
}

/**
 * Starts the proxy in a worker thread; resolves once it listens. Bad configs are rejected here,
 * before a thread is started.
 */
export async function startProxyWorker(config: ProxyConfig, options: Pick<ServiceProxyOptions, 'handlerApi'> = {}): Promise<ProxyWorker> {
  validateProxyConfig(config);
  const entry = resolveWorkerEntry();
  const data: WorkerData = { config, options };
  // The parent's flags apply to the worker too, except those that only make sense for a main
  // script (node --input-type=module -e '...' would make the worker refuse to start).
  const execArgv = process.execArgv.filter((a) => !/^--(input-type|eval|print)\b/.test(a) && a !== '-e' && a !== '-p');
  const worker = new Worker(entry, { workerData: data, name: `zerodrop-proxy-${config.runId}`, execArgv });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; metricsUrl: string | null }>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      void worker.terminate();
      reject(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const onMessage = (msg: WorkerMessage): void => {
      if (msg.type === 'ready') {
        cleanup();
        resolve({ url: msg.url, metricsUrl: msg.metricsUrl });
      } else if (msg.type === 'start-failed') {
        cleanup();
        void worker.terminate();
        reject(deserializeError(msg.error, 'proxy worker start'));
      }
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker failed to start: ${err.message}`, { cause: err }));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new ZerodropError('ZD_PROXY_FAILED', `the proxy worker exited during start (code ${code})`));
    };
    function cleanup(): void {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    }
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
  return new ProxyWorker(worker, ready, exited);
}
