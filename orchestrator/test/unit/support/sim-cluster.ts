/**
 * A simulated cluster for whole-rollout tests: each pass runs planStep on an in-memory
 * ObservedState, applies the actions through a FakeRuntime (which records them) the way the
 * controller does, and lets time pass: a started replica becomes Ready after `readyAfterPasses`
 * passes, a deleted one stays terminating for `terminatingPasses`. Every pass records the
 * invariants before and after, and what wouldBreach says of the planner's own action list.
 */
import { planStep } from '../../../src/planner/plan.js';
import { checkInvariants, isRolloutComplete, wouldBreach } from '../../../src/planner/status.js';
import type {
  DeploymentStatus,
  DesiredState,
  InvariantBreach,
  ObservedReplica,
  ObservedState,
  PlannedAction,
  ReplicaSetState,
  ScaleReason,
} from '../../../src/planner/types.js';
import { FakeRuntime } from './fake-runtime.js';
import type { DeploymentSpec, IntOrPercent } from '../../../src/spec.js';
import type { ZoneFailureMode } from '../../../src/timeline.js';
import { makeSpec, template } from './fixtures.js';

export interface SimOptions {
  replicas: number;
  maxSurge: IntOrPercent;
  maxUnavailable: IntOrPercent;
  minReadySeconds?: number;
  zones?: string[];
  /** Passes from start to Ready. Default 1: Ready at the next pass. */
  readyAfterPasses?: number;
  /** Passes a deleted replica stays terminating. Default 1. */
  terminatingPasses?: number;
  /** Simulated time per pass. Default 1000 ms. */
  passMs?: number;
}

export interface ScaleRecord {
  pass: number;
  revision: number;
  from: number;
  to: number;
  reason: ScaleReason | 'created';
}

export interface PassRecord {
  pass: number;
  desired: DesiredState;
  actions: PlannedAction[];
  notes: string[];
  status: DeploymentStatus;
  /** Breaches of the state the planner was handed (an outage or a spec change may cause them). */
  before: InvariantBreach[];
  /** Breaches right after the actions were applied. */
  after: InvariantBreach[];
  /** wouldBreach on the planner's own list: must always be empty. */
  causedByPlanner: InvariantBreach[];
}

interface SimReplica extends ObservedReplica {
  /** Pass it entered its current phase (starting or terminating). */
  sincePass: number;
}

export class SimCluster {
  readonly runtime: FakeRuntime;
  readonly passes: PassRecord[] = [];
  readonly scales: ScaleRecord[] = [];
  /** Revisions whose replicas run but never become Ready (a crash-looping template). */
  readonly broken = new Set<number>();
  spec: DeploymentSpec;
  revision = 1;
  private readonly state: { nowMs: number; replicaSets: ReplicaSetState[]; replicas: SimReplica[]; zones: { name: string; up: boolean }[] };
  private readonly readyAfterPasses: number;
  private readonly terminatingPasses: number;
  private readonly passMs: number;
  private passNo = 0;
  private seq = 0;

  private constructor(options: SimOptions) {
    this.spec = makeSpec({ ...options, version: 'v1' });
    this.readyAfterPasses = options.readyAfterPasses ?? 1;
    this.terminatingPasses = options.terminatingPasses ?? 1;
    this.passMs = options.passMs ?? 1000;
    this.state = {
      nowMs: 1_000_000,
      replicaSets: [{ revision: 1, template: template('v1'), replicas: 0, createdAtMs: 0 }],
      replicas: [],
      zones: this.spec.zones.map((name) => ({ name, up: true })),
    };
    this.runtime = new FakeRuntime({ clock: { now: () => this.state.nowMs } });
  }

  /** A cluster running revision 1 at full strength, available, with clean records. */
  static async start(options: SimOptions): Promise<SimCluster> {
    const sim = new SimCluster(options);
    await sim.runUntilComplete(50);
    sim.state.nowMs += (sim.spec.strategy.minReadySeconds + 1) * 1000;
    sim.resetRecords();
    return sim;
  }

  /** Passes run so far (the bootstrap included). */
  get passCount(): number {
    return this.passNo;
  }

  get desired(): DesiredState {
    return { spec: this.spec, revision: this.revision };
  }

  /** A snapshot of what the planner sees. */
  get observed(): ObservedState {
    return {
      nowMs: this.state.nowMs,
      replicaSets: this.state.replicaSets.map((rs) => ({ ...rs })),
      replicas: this.state.replicas.map(({ sincePass: _, ...r }) => ({ ...r })),
      zones: this.state.zones.map((z) => ({ ...z })),
    };
  }

  resetRecords(): void {
    this.passes.length = 0;
    this.scales.length = 0;
    this.runtime.clearActions();
  }

  // ------------------------------------------------------------------ what the user / faults do

  /** A new template: the next revision (the controller's job, done here by hand). */
  rollout(version: string): number {
    this.revision = Math.max(...this.state.replicaSets.map((rs) => rs.revision), this.revision) + 1;
    this.spec = { ...this.spec, template: template(version) };
    return this.revision;
  }

  /** Back to an existing revision: its ReplicaSet becomes the new one again. */
  rollback(revision: number): void {
    const target = this.replicaSet(revision);
    if (!target) throw new Error(`no ReplicaSet ${revision}`);
    this.revision = revision;
    this.spec = { ...this.spec, template: target.template };
  }

  scale(replicas: number): void {
    this.spec = { ...this.spec, replicas };
  }

  /** crash: every replica in the zone is SIGKILLed; hang: frozen, probes fail, TCP still accepts. */
  async zoneDown(zone: string, mode: ZoneFailureMode): Promise<string[]> {
    this.zone(zone).up = false;
    const hit = this.state.replicas.filter((r) => r.zone === zone && (r.phase === 'starting' || r.phase === 'running'));
    for (const r of hit) {
      if (mode === 'crash') {
        this.runtime.exit(r.id, 'killed', null);
        r.phase = 'failed';
      } else {
        await this.runtime.pause(r.id);
      }
      r.ready = false;
      r.readySinceMs = null;
    }
    return hit.map((r) => r.id);
  }

  async zoneUp(zone: string): Promise<void> {
    this.zone(zone).up = true;
    for (const r of this.state.replicas) {
      if (r.zone === zone && this.runtime.replica(r.id)?.state === 'paused') await this.runtime.resume(r.id);
    }
  }

  /** One replica dies on its own (a node failure in the rolling.go example). */
  crash(replicaId: string): void {
    const r = this.state.replicas.find((x) => x.id === replicaId);
    if (!r) throw new Error(`no replica ${replicaId}`);
    this.runtime.exit(replicaId, 'crashed', 137);
    r.phase = 'failed';
    r.ready = false;
    r.readySinceMs = null;
  }

  // ------------------------------------------------------------------ passes

  async pass(): Promise<PassRecord> {
    this.passNo += 1;
    this.state.nowMs += this.passMs;
    this.progress();
    const desired = this.desired;
    const observed = this.observed;
    const before = checkInvariants(desired, observed);
    const step = planStep(desired, observed);
    const causedByPlanner = wouldBreach(desired, observed, step.actions);
    for (const action of step.actions) await this.apply(action);
    const record: PassRecord = {
      pass: this.passNo,
      desired,
      actions: step.actions,
      notes: step.notes,
      status: step.status,
      before,
      after: checkInvariants(desired, this.observed),
      causedByPlanner,
    };
    this.passes.push(record);
    return record;
  }

  async runUntilComplete(maxPasses = 100): Promise<number> {
    for (let i = 1; i <= maxPasses; i += 1) {
      await this.pass();
      if (isRolloutComplete(this.desired, this.observed) && this.state.replicas.every((r) => r.phase !== 'terminating')) return i;
    }
    throw new Error(`not complete after ${maxPasses} passes: ${JSON.stringify(this.summary())}`);
  }

  /** Runs until `quiet` passes in a row plan nothing (a stuck or settled state). */
  async runUntilQuiet(quiet = 2, maxPasses = 100): Promise<void> {
    let idle = 0;
    for (let i = 0; i < maxPasses; i += 1) {
      const { actions } = await this.pass();
      idle = actions.length === 0 ? idle + 1 : 0;
      if (idle >= quiet) return;
    }
    throw new Error(`still acting after ${maxPasses} passes: ${JSON.stringify(this.summary())}`);
  }

  // ------------------------------------------------------------------ reading the result

  replicaSet(revision: number): ReplicaSetState | undefined {
    return this.state.replicaSets.find((rs) => rs.revision === revision);
  }

  /** Active replicas of `revision` per zone, every zone listed. */
  spreadOf(revision: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const z of this.state.zones) out[z.name] = 0;
    for (const r of this.state.replicas) {
      if (r.revision === revision && (r.phase === 'starting' || r.phase === 'running')) out[r.zone] = (out[r.zone] ?? 0) + 1;
    }
    return out;
  }

  /**
   * The ReplicaSet scale steps in the notation of ResolveFenceposts' comment: "new(+1)",
   * "old(-1)". `newRevision` defaults to the desired one.
   */
  sequence(newRevision = this.revision): string[] {
    return this.scales
      .filter((s) => s.to !== s.from)
      .map((s) => {
        const delta = s.to - s.from;
        return `${s.revision === newRevision ? 'new' : 'old'}(${delta > 0 ? '+' : ''}${delta})`;
      });
  }

  summary(): object {
    return {
      pass: this.passNo,
      replicaSets: this.state.replicaSets.map((rs) => `${rs.revision}:${rs.replicas}`),
      replicas: this.state.replicas.map((r) => `${r.id}:${r.phase}${r.ready ? '+ready' : ''}`),
      lastNotes: this.passes.at(-1)?.notes ?? [],
    };
  }

  // ------------------------------------------------------------------ internals

  private zone(name: string): { name: string; up: boolean } {
    const zone = this.state.zones.find((z) => z.name === name);
    if (!zone) throw new Error(`no zone ${name}`);
    return zone;
  }

  /** Time passes: replicas become Ready, terminating ones finish. */
  private progress(): void {
    this.state.replicas = this.state.replicas.filter((r) => r.phase !== 'terminating' || this.passNo - r.sincePass < this.terminatingPasses);
    for (const r of this.state.replicas) {
      if (r.phase !== 'starting' || this.passNo - r.sincePass < this.readyAfterPasses) continue;
      if (!this.zone(r.zone).up) continue;
      r.phase = 'running';
      if (this.broken.has(r.revision)) continue;
      r.ready = true;
      r.readySinceMs = this.state.nowMs;
      this.runtime.markReady(r.id);
    }
  }

  private async apply(action: PlannedAction): Promise<void> {
    switch (action.type) {
      case 'create-replicaset':
        this.state.replicaSets.push({ revision: action.revision, template: this.spec.template, replicas: action.replicas, createdAtMs: this.state.nowMs });
        this.scales.push({ pass: this.passNo, revision: action.revision, from: 0, to: action.replicas, reason: 'created' });
        return;
      case 'scale-replicaset': {
        const rs = this.replicaSet(action.revision);
        if (!rs) throw new Error(`scale of unknown ReplicaSet ${action.revision}`);
        if (rs.replicas !== action.from) throw new Error(`scale ${action.revision} from ${action.from}, but it is at ${rs.replicas}`);
        rs.replicas = action.to;
        this.scales.push({ pass: this.passNo, revision: action.revision, from: action.from, to: action.to, reason: action.reason });
        return;
      }
      case 'create-replica': {
        const rs = this.replicaSet(action.revision);
        if (!rs) throw new Error(`replica of unknown ReplicaSet ${action.revision}`);
        this.seq += 1;
        const id = `${this.spec.name}-${rs.template.version}-${action.zone}-${this.seq}`;
        await this.runtime.start({
          runId: 'sim',
          replicaId: id,
          deployment: this.spec.name,
          zone: action.zone,
          revision: action.revision,
          template: rs.template,
          resources: this.spec.resources,
        });
        this.state.replicas.push({
          id,
          revision: action.revision,
          zone: action.zone,
          phase: 'starting',
          ready: false,
          readySinceMs: null,
          createdAtMs: this.state.nowMs,
          seq: this.seq,
          sincePass: this.passNo,
        });
        return;
      }
      case 'delete-replica': {
        const r = this.state.replicas.find((x) => x.id === action.replicaId);
        if (!r) throw new Error(`delete of unknown replica ${action.replicaId}`);
        if (r.phase === 'terminating') throw new Error(`replica ${r.id} deleted twice`);
        await this.runtime.stop(r.id, { graceMs: this.spec.termination.gracePeriodMs });
        r.phase = 'terminating';
        r.ready = false;
        r.readySinceMs = null;
        r.sincePass = this.passNo;
        return;
      }
    }
  }
}
