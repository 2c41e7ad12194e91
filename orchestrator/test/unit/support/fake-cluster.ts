/**
 * The real DeploymentController wired to fakes: the recording FakeRuntime, a proxy that records
 * what it was asked, and a readiness prober that asks the test instead of HTTP. Every call of
 * runtime and proxy lands in one ordered log, so a test can assert "unrouted before SIGTERM".
 */
import { DeploymentController, type ProberFactory } from '../../../src/controller.js';
import { FakeRuntime, type FakeRuntimeOptions } from './fake-runtime.js';
import type { DrainResult, FailedTryLog, ProxyControl, ProxyEndpoint, ProxyStats } from '../../../src/proxy/types.js';
import type { ReplicaExit, StopOptions } from '../../../src/runtime/types.js';
import type { DeploymentSpec } from '../../../src/spec.js';
import type { TimelineEvent } from '../../../src/timeline.js';

export type LoggedCall = { on: 'proxy'; verb: 'add' | 'drain' | 'remove'; replica: string } | { on: 'runtime'; verb: 'stop' | 'kill'; replica: string };

class LoggingRuntime extends FakeRuntime {
  constructor(
    private readonly log: LoggedCall[],
    options: FakeRuntimeOptions,
  ) {
    super(options);
  }
  override stop(replicaId: string, options: StopOptions): Promise<ReplicaExit> {
    this.log.push({ on: 'runtime', verb: 'stop', replica: replicaId });
    return super.stop(replicaId, options);
  }
  override kill(replicaId: string): Promise<ReplicaExit> {
    this.log.push({ on: 'runtime', verb: 'kill', replica: replicaId });
    return super.kill(replicaId);
  }
}

class RecordingProxy implements ProxyControl {
  readonly url = 'http://127.0.0.1:1';
  readonly metricsUrl = null;
  readonly routed = new Set<string>();
  /** How long a drain waits for in-flight requests (tests make it outlast the grace period). */
  drainMs = 5;
  constructor(private readonly log: LoggedCall[]) {}
  async addEndpoint(ep: ProxyEndpoint): Promise<void> {
    this.log.push({ on: 'proxy', verb: 'add', replica: ep.id });
    this.routed.add(ep.id);
  }
  async drainEndpoint(id: string): Promise<DrainResult> {
    this.log.push({ on: 'proxy', verb: 'drain', replica: id });
    this.routed.delete(id);
    await new Promise((r) => setTimeout(r, this.drainMs)); // in-flight requests finishing
    return { inFlightAtRemoval: 0, drainedInMs: this.drainMs, complete: true };
  }
  async removeEndpoint(id: string): Promise<void> {
    this.log.push({ on: 'proxy', verb: 'remove', replica: id });
    this.routed.delete(id);
  }
  async stats(): Promise<ProxyStats> {
    throw new Error('not used by the controller');
  }
  async failedTries(): Promise<FailedTryLog> {
    throw new Error('not used by the controller');
  }
  async metrics(): Promise<string> {
    return '';
  }
  async close(): Promise<void> {}
  async destroy(): Promise<void> {}
}

export interface FakeCluster {
  controller: DeploymentController;
  runtime: FakeRuntime;
  proxy: RecordingProxy;
  calls: LoggedCall[];
  /** Replicas the test holds not-Ready (all others are Ready as soon as they run). */
  notReady: Set<string>;
  /** Versions whose replicas never become Ready. */
  neverReady: Set<string>;
  events(type?: TimelineEvent['type']): TimelineEvent[];
  waitForEvent(type: TimelineEvent['type'], timeoutMs?: number, match?: (e: TimelineEvent) => boolean): Promise<TimelineEvent>;
}

export function fakeCluster(
  spec: DeploymentSpec,
  options: FakeRuntimeOptions & { zoneFailureDetectionMs?: number; crashLoopBackoffMs?: number[] } = {},
): FakeCluster {
  const calls: LoggedCall[] = [];
  const runtime = new LoggingRuntime(calls, { clock: { now: () => performance.now() }, ...options });
  const proxy = new RecordingProxy(calls);
  const notReady = new Set<string>();
  const neverReady = new Set<string>();
  // Polls what the test decided, every 5 ms, and reports flips like the kubelet's prober.
  const prober: ProberFactory = (replica, _spec, onChange) => {
    let timer: NodeJS.Timeout | null = null;
    let ready = false;
    return {
      lastFailure: null,
      start() {
        timer = setInterval(() => {
          const r = runtime.replica(replica.replicaId);
          const ok = r !== undefined && r.state === 'running' && !notReady.has(replica.replicaId) && !neverReady.has(r.launch.template.version);
          if (ok !== ready) {
            ready = ok;
            onChange(ok, ok ? 'fake probe ok' : 'fake probe failed');
          }
        }, 5);
      },
      stop() {
        if (timer) clearInterval(timer);
      },
    };
  };
  const controller = new DeploymentController({
    runId: 'unit',
    spec,
    runtime,
    proxy,
    prober,
    zoneFailureDetectionMs: options.zoneFailureDetectionMs ?? 100,
    resyncIntervalMs: 10,
    ...(options.crashLoopBackoffMs ? { crashLoopBackoffMs: options.crashLoopBackoffMs } : {}),
  });
  const events = (type?: TimelineEvent['type']) => controller.timeline.filter((e) => type === undefined || e.type === type);
  const waitForEvent = (type: TimelineEvent['type'], timeoutMs = 5000, match: (e: TimelineEvent) => boolean = () => true) =>
    new Promise<TimelineEvent>((resolve, reject) => {
      const seen = events(type).find(match);
      if (seen) return resolve(seen);
      const timer = setTimeout(() => {
        controller.off('event', on);
        reject(
          new Error(
            `no ${type} within ${timeoutMs} ms; timeline: ${events()
              .map((e) => e.type)
              .join(', ')}`,
          ),
        );
      }, timeoutMs);
      const on = (e: TimelineEvent): void => {
        if (e.type !== type || !match(e)) return;
        clearTimeout(timer);
        controller.off('event', on);
        resolve(e);
      };
      controller.on('event', on);
    });
  return { controller, runtime, proxy, calls, notReady, neverReady, events, waitForEvent };
}
