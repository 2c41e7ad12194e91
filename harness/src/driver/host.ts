/**
 * The worker host: runs an engine in a worker_threads worker (the harness process also runs
 * the orchestrator and the proxy control; the driver needs its own core and its own event loop).
 *
 *   const driver = startDriver(config);
 *   driver.on('progress', (p) => metrics.update(p));   // about every 250 ms, then once final
 *   process.once('SIGINT', () => driver.stop());
 *   const { ledger, summary } = await driver.done;      // ledger columns transferred, not copied
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ZerodropError, type ZerodropErrorCode } from '../../../common/src/errors.js';
import { validateConfig } from './engine.js';
import { assertRunId, encodeTemplates, parseTargetUrl } from './http1.js';
import type { LedgerData } from './ledger.js';
import type { DriverConfig, DriverProgress, DriverSummary } from './types.js';

export interface DriverResult {
  ledger: LedgerData;
  summary: DriverSummary;
}

export interface DriverHandle {
  on(event: 'progress', listener: (p: DriverProgress) => void): this;
  off(event: 'progress', listener: (p: DriverProgress) => void): this;
  /** Stop sending now (SIGINT); in-flight requests still get timeoutMs; the result says interrupted. */
  stop(): void;
  /** The run's ledger and summary. Rejects with ZD_DRIVER_FAILED if the worker failed. */
  readonly done: Promise<DriverResult>;
  /** The worker's thread id (diagnostics). */
  readonly threadId: number;
  /** Resolves with the worker's exit code once the thread has ended. */
  readonly exited: Promise<number>;
  /** Ends the worker at once, without a result (teardown after a failure). */
  terminate(): Promise<void>;
}

export interface StartDriverOptions {
  /** The compiled worker entry; default: worker-entry.js next to this module (see resolveWorkerEntry). */
  entry?: URL;
  /** Default 250 ms. */
  progressIntervalMs?: number;
}

/** workerData of the driver worker. */
export interface WorkerInput {
  config: DriverConfig;
  progressIntervalMs: number;
}

export type WorkerMessage =
  | { type: 'progress'; progress: DriverProgress }
  | { type: 'done'; ledger: LedgerData; summary: DriverSummary }
  | { type: 'error'; message: string; code: string | null; fix: string | null; stack: string | null };

/**
 * worker-entry.js next to the compiled module (dist/harness/src/driver/). When this module runs
 * from its TypeScript source (vitest), the compiled twin under dist/ is used instead.
 */
export function resolveWorkerEntry(): URL {
  const sibling = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const compiled = new URL('../../../dist/harness/src/driver/worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return compiled;
  throw new ZerodropError('ZD_DRIVER_FAILED', `the driver worker entry is missing (${fileURLToPath(sibling)})`, {
    fix: 'run "npm run build" (the driver worker runs from the compiled output)',
  });
}

class Handle extends EventEmitter implements DriverHandle {
  readonly done: Promise<DriverResult>;
  readonly threadId: number;
  readonly exited: Promise<number>;
  private readonly worker: Worker;
  private settled = false;

  constructor(config: DriverConfig, options: StartDriverOptions) {
    super();
    const input: WorkerInput = { config, progressIntervalMs: options.progressIntervalMs ?? 250 };
    this.worker = new Worker(options.entry ?? resolveWorkerEntry(), { workerData: input, name: `zerodrop-driver-${config.runId}` });
    this.threadId = this.worker.threadId;
    this.exited = new Promise<number>((resolve) => this.worker.once('exit', resolve));
    this.done = new Promise<DriverResult>((resolve, reject) => {
      const failed = (message: string, details: string[] = [], cause?: unknown): void => {
        if (this.settled) return;
        this.settled = true;
        reject(new ZerodropError('ZD_DRIVER_FAILED', `load driver failed: ${message}`, { details, cause }));
      };
      this.worker.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'progress':
            this.emit('progress', m.progress);
            return;
          case 'done':
            if (this.settled) return;
            this.settled = true;
            resolve({ ledger: m.ledger, summary: m.summary });
            return;
          case 'error':
            if (m.code !== null && m.code.startsWith('ZD_') && !this.settled) {
              // a ZerodropError raised in the worker (bad usage...): keep its code and fix line
              this.settled = true;
              reject(new ZerodropError(m.code as ZerodropErrorCode, m.message, m.fix === null ? {} : { fix: m.fix }));
              return;
            }
            failed(m.message, m.stack === null ? [] : m.stack.split('\n').slice(0, 8));
            return;
        }
      });
      this.worker.on('error', (err: Error) => failed(err.message, [], err));
      this.worker.on('exit', (code) => failed(`the driver worker exited (code ${code}) before returning its ledger`));
    });
  }

  stop(): void {
    if (!this.settled) this.worker.postMessage({ type: 'stop' });
  }

  /** Ends the worker at once (no result). For harness teardown after a failure. */
  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * Starts a load driver in its own worker thread. A bad config throws ZD_BAD_USAGE here, before
 * any thread starts.
 */
export function startDriver(config: DriverConfig, options: StartDriverOptions = {}): DriverHandle {
  validateConfig(config);
  assertRunId(config.runId);
  encodeTemplates(config.requests, parseTargetUrl(config.url), config.runId);
  return new Handle(config, options);
}
