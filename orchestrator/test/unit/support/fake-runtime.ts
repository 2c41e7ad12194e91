/**
 * A Runtime that starts nothing and records every call, like client-go's fake.Clientset whose
 * Actions() the Kubernetes controller tests assert on (aesthetics.md habit 5). Tests decide what
 * happens to a replica: Ready or not, crashed, hung. Time comes from an injected clock.
 */
import { ZerodropError } from '../../../../common/src/errors.js';
import type { Clock } from '../../../../common/src/clock.js';
import type {
  ExitKind,
  ReplicaExit,
  ReplicaInspect,
  ReplicaLaunch,
  ReplicaRunState,
  Runtime,
  RuntimeName,
  StartedReplica,
  StopOptions,
} from '../../../src/runtime/types.js';

/** One recorded call. Reads (inspect, logs, onExit) are not recorded: they change nothing. */
export type RuntimeCall =
  | { verb: 'prepare'; runId: string }
  | { verb: 'start'; replicaId: string; zone: string; revision: number; version: string }
  | { verb: 'stop'; replicaId: string; graceMs: number }
  | { verb: 'kill'; replicaId: string }
  | { verb: 'pause'; replicaId: string }
  | { verb: 'resume'; replicaId: string }
  | { verb: 'close'; graceMs: number }
  | { verb: 'destroy' };

export type RuntimeVerb = RuntimeCall['verb'];

export interface FakeReplica {
  launch: ReplicaLaunch;
  started: StartedReplica;
  state: ReplicaRunState;
  /** Set by tests (markReady); a fake readiness probe reads it. */
  ready: boolean;
  exit: ReplicaExit | null;
  logs: string[];
}

export interface FakeRuntimeOptions {
  /** Default: a counter that advances 1 ms per call, so stamps are ordered and deterministic. */
  clock?: Clock;
  /** Return an error message to make start() reject with ZD_REPLICA_START_FAILED. */
  failStart?: (launch: ReplicaLaunch) => string | null;
  /** How a running replica answers stop(): exits in time (default) or needs SIGKILL. */
  stopExit?: Extract<ExitKind, 'graceful' | 'killed'>;
  /** Pretend to be this runtime (the port only knows real ones). Default 'process'. */
  name?: RuntimeName;
}

const FIRST_PORT = 41_000;

export class FakeRuntime implements Runtime {
  readonly name: RuntimeName;
  private readonly calls: RuntimeCall[] = [];
  private readonly replicas = new Map<string, FakeReplica>();
  private readonly listeners = new Set<(exit: ReplicaExit) => void>();
  private readonly clock: Clock;
  private readonly options: FakeRuntimeOptions;
  private nextPort = FIRST_PORT;

  constructor(options: FakeRuntimeOptions = {}) {
    this.options = options;
    this.name = options.name ?? 'process';
    let tick = 0;
    this.clock = options.clock ?? { now: () => (tick += 1) };
  }

  /** Every mutating call so far, in order (a copy). */
  actions(): RuntimeCall[] {
    return this.calls.map((c) => ({ ...c }));
  }

  /** The recorded calls of one verb, narrowed to its shape. */
  actionsOf<V extends RuntimeVerb>(verb: V): Extract<RuntimeCall, { verb: V }>[] {
    return this.calls.filter((c): c is Extract<RuntimeCall, { verb: V }> => c.verb === verb).map((c) => ({ ...c }));
  }

  clearActions(): void {
    this.calls.length = 0;
  }

  replica(replicaId: string): FakeReplica | undefined {
    return this.replicas.get(replicaId);
  }

  /** Replicas that have not exited. */
  running(): FakeReplica[] {
    return [...this.replicas.values()].filter((r) => r.state !== 'exited');
  }

  // ------------------------------------------------------------------ test controls

  markReady(replicaId: string, ready = true): void {
    this.get(replicaId).ready = ready;
  }

  isReady(replicaId: string): boolean {
    const r = this.replicas.get(replicaId);
    return r !== undefined && r.state === 'running' && r.ready;
  }

  /** The replica exits by itself (crash, OOM): listeners hear of it as a real runtime reports it. */
  exit(replicaId: string, kind: ExitKind = 'crashed', code: number | null = 1): ReplicaExit {
    const r = this.get(replicaId);
    if (r.exit) return r.exit;
    return this.finish(r, { replicaId, kind, code, signal: kind === 'killed' ? 'SIGKILL' : null, atMs: this.clock.now() });
  }

  // ------------------------------------------------------------------ Runtime

  async prepare(runId: string): Promise<void> {
    this.calls.push({ verb: 'prepare', runId });
  }

  async start(launch: ReplicaLaunch): Promise<StartedReplica> {
    const { replicaId, zone, revision, template } = launch;
    this.calls.push({ verb: 'start', replicaId, zone, revision, version: template.version });
    const failure = this.options.failStart?.(launch) ?? null;
    if (failure !== null) {
      throw new ZerodropError('ZD_REPLICA_START_FAILED', `replica ${replicaId} failed to start: ${failure}`, {
        details: [`fake runtime: ${failure}`],
      });
    }
    if (this.replicas.has(replicaId)) {
      throw new ZerodropError('ZD_INTERNAL', `replica ${replicaId} was started twice`, { fix: 'replica ids must be unique per run' });
    }
    const port = this.nextPort;
    this.nextPort += 2;
    const started: StartedReplica = {
      replicaId,
      // Never bound: nothing listens there. Tests that need traffic use real replicas.
      endpoint: { host: '127.0.0.1', port },
      adminEndpoint: { host: '127.0.0.1', port: port + 1 },
      pid: null,
      containerId: null,
      startedAtMs: this.clock.now(),
    };
    this.replicas.set(replicaId, { launch, started, state: 'running', ready: false, exit: null, logs: [`[fake] started ${replicaId} in zone ${zone}`] });
    return started;
  }

  async stop(replicaId: string, options: StopOptions): Promise<ReplicaExit> {
    this.calls.push({ verb: 'stop', replicaId, graceMs: options.graceMs });
    const r = this.get(replicaId);
    if (r.exit) return r.exit;
    return this.finish(r, this.stopExit(r));
  }

  async kill(replicaId: string): Promise<ReplicaExit> {
    this.calls.push({ verb: 'kill', replicaId });
    const r = this.get(replicaId);
    if (r.exit) return r.exit;
    return this.finish(r, { replicaId, kind: 'killed', code: null, signal: 'SIGKILL', atMs: this.clock.now() });
  }

  async pause(replicaId: string): Promise<void> {
    this.calls.push({ verb: 'pause', replicaId });
    const r = this.get(replicaId);
    if (r.state === 'running') r.state = 'paused';
  }

  async resume(replicaId: string): Promise<void> {
    this.calls.push({ verb: 'resume', replicaId });
    const r = this.get(replicaId);
    if (r.state === 'paused') r.state = 'running';
  }

  inspect(replicaId: string): ReplicaInspect {
    const r = this.get(replicaId);
    return { replicaId, state: r.state, pid: null, containerId: null, exit: r.exit };
  }

  async logs(replicaId: string, tail: number): Promise<string[]> {
    return this.get(replicaId).logs.slice(-tail);
  }

  onExit(listener: (exit: ReplicaExit) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(graceMs: number): Promise<void> {
    this.calls.push({ verb: 'close', graceMs });
    for (const r of this.running()) this.finish(r, this.stopExit(r));
  }

  async destroy(): Promise<void> {
    this.calls.push({ verb: 'destroy' });
    for (const r of this.running()) {
      this.finish(r, { replicaId: r.launch.replicaId, kind: 'killed', code: null, signal: 'SIGKILL', atMs: this.clock.now() });
    }
  }

  private get(replicaId: string): FakeReplica {
    const r = this.replicas.get(replicaId);
    if (!r) {
      throw new ZerodropError('ZD_REPLICA_NOT_FOUND', `the fake runtime never started replica ${replicaId}`, {
        fix: 'start it first (tests: check the id the planner produced)',
      });
    }
    return r;
  }

  /** What SIGTERM, then SIGKILL after the grace period, ends in. */
  private stopExit(r: FakeReplica): ReplicaExit {
    // A frozen process cannot handle SIGTERM: the grace period runs out and SIGKILL ends it.
    const kind = r.state === 'paused' ? 'killed' : (this.options.stopExit ?? 'graceful');
    const graceful = kind === 'graceful';
    return { replicaId: r.launch.replicaId, kind, code: graceful ? 0 : null, signal: graceful ? null : 'SIGKILL', atMs: this.clock.now() };
  }

  private finish(r: FakeReplica, exit: ReplicaExit): ReplicaExit {
    r.state = 'exited';
    r.ready = false;
    r.exit = exit;
    r.logs.push(`[fake] exited: ${exit.kind}`);
    for (const listener of this.listeners) listener(exit);
    return exit;
  }
}
