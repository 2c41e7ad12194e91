/**
 * What the parts of the controller share (deployment, kubelet, zones, counters): the spec, the
 * replica records, the ReplicaSets, the zones, the probers, the timeline, the background actions,
 * and the hooks back into the reconcile loop. One object, owned by the DeploymentController.
 */
import { systemClock, type SchedulingClock } from '../../../common/src/clock.js';
import { ZerodropError, errorMessage } from '../../../common/src/errors.js';
import type { ReplicaSetState, ZoneState } from '../planner/types.js';
import type { ProxyControl } from '../proxy/types.js';
import type { Runtime } from '../runtime/types.js';
import type { DeploymentSpec } from '../spec.js';
import type { TimelineEvent } from '../timeline.js';
import type { ControllerOptions, ReplicaProber, ReplicaRecord, ZoneFailure } from './types.js';

export class ControllerContext {
  /** Changes with every rollout (template) and resize (replicas). */
  spec: DeploymentSpec;
  readonly runtime: Runtime;
  readonly proxy: ProxyControl;
  readonly clock: SchedulingClock;
  readonly runId: string;
  readonly options: ControllerOptions;
  readonly replicaSets: ReplicaSetState[] = [];
  readonly records = new Map<string, ReplicaRecord>();
  readonly zones: ZoneState[];
  readonly zoneFailures = new Map<string, ZoneFailure>();
  readonly probers = new Map<string, ReplicaProber>();
  /** CrashLoopBackOff per revision: failed starts so far, and when the next create may go. */
  readonly startFailures = new Map<number, { count: number; nextAllowedMs: number }>();
  readonly events: TimelineEvent[] = [];
  private readonly background = new Set<Promise<unknown>>();
  closed = false;

  constructor(
    options: ControllerOptions,
    private readonly emit: (event: TimelineEvent) => void,
    /** Asks the reconcile loop for another pass. */
    readonly kick: () => void,
  ) {
    this.options = options;
    this.spec = options.spec;
    this.runtime = options.runtime;
    this.proxy = options.proxy;
    this.clock = options.clock ?? systemClock;
    this.runId = options.runId;
    this.zones = options.spec.zones.map((name) => ({ name, up: true }));
  }

  record(event: TimelineEvent): void {
    this.events.push(event);
    this.emit(event);
  }

  ref(r: ReplicaRecord): { replica: string; zone: string; version: string; revision: number } {
    return { replica: r.id, zone: r.zone, version: r.version, revision: r.revision };
  }

  zoneState(zone: string): ZoneState {
    const state = this.zones.find((z) => z.name === zone);
    if (!state) {
      throw new ZerodropError('ZD_BAD_USAGE', `no zone "${zone}"`, { fix: `zones are: ${this.zones.map((z) => z.name).join(', ')}` });
    }
    return state;
  }

  /** Runs `p` in the background: settle() waits for it, a failure is logged. */
  track(p: Promise<unknown>): void {
    const guarded = p.catch((err: unknown) => this.log(`background action failed: ${errorMessage(err)}`));
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }

  /** Waits for every background action (starts, terminations) to finish. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  now(): number {
    return this.clock.now();
  }

  log(line: string): void {
    this.options.log?.(line);
  }
}
