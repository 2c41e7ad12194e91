/**
 * The orchestrator's own Prometheus metrics (prefix zerodrop_orchestrator_). Gauges are computed
 * at scrape time from the controller's view; counters follow the timeline. Retired replicas'
 * final counts are exported so a PromQL sum over replicas that come and go stays exact
 * (observability.md 1.4: "orchestrator keeps final counts").
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { systemClock, type Clock } from '../../common/src/clock.js';
import type { DeploymentController } from './controller.js';
import type { TimelineEvent } from './timeline.js';

export interface OrchestratorMetricsOptions {
  /**
   * How long zerodrop_orchestrator_rollout_in_progress stays 1 after a rollout ends. A sampled
   * gauge misses a rollout shorter than the scrape interval (a CI run: a 1.2 s rollout, 1 s
   * scrapes, no sample saw it, no Grafana annotation). Two scrape intervals survive one failed
   * scrape. Default 2000 ms (the harness's 1 s scrapes).
   */
  rolloutHoldMs?: number;
  /** Monotonic clock for the hold (tests inject a fake one). */
  clock?: Clock;
}

export const ROLLOUT_HOLD_MS_DEFAULT = 2000;

export class OrchestratorMetrics {
  readonly registry = new Registry();

  constructor(controller: DeploymentController, runId: string, toolVersion: string, options: OrchestratorMetricsOptions = {}) {
    const holdMs = options.rolloutHoldMs ?? ROLLOUT_HOLD_MS_DEFAULT;
    const clock = options.clock ?? systemClock;
    let rolloutEndedMs: number | null = null;
    const registers = [this.registry];
    this.registry.setDefaultLabels({ run_id: runId });
    const prefix = 'zerodrop_orchestrator_';
    collectDefaultMetrics({ register: this.registry, prefix });
    // prom-client's *_total gauges fail `promtool check metrics` (a _total suffix means counter);
    // the per-type gauges nodejs_active_{handles,requests,resources}{type} keep the data.
    for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
      this.registry.removeSingleMetric(prefix + n);
    }

    new Gauge({
      name: 'zerodrop_orchestrator_build_info',
      help: 'zerodrop build information (always 1).',
      labelNames: ['version', 'node'],
      registers,
    }).set({ version: toolVersion, node: process.version }, 1);

    const desired = new Gauge({
      name: 'zerodrop_orchestrator_deployment_replicas',
      help: 'Deployment status counts (Kubernetes DeploymentStatus), by kind: desired, current, updated, ready, available, terminating.',
      labelNames: ['kind'],
      registers,
      collect() {
        const v = controller.view();
        this.set({ kind: 'desired' }, v.desiredReplicas);
        this.set({ kind: 'current' }, v.status.replicas);
        this.set({ kind: 'updated' }, v.status.updatedReplicas);
        this.set({ kind: 'ready' }, v.status.readyReplicas);
        this.set({ kind: 'available' }, v.status.availableReplicas);
        this.set({ kind: 'terminating' }, v.status.terminatingReplicas);
      },
    });
    void desired;

    new Gauge({
      name: 'zerodrop_orchestrator_replicas',
      help: 'Replicas by zone, version and state (starting, ready, unready, terminating).',
      labelNames: ['zone', 'version', 'state'],
      registers,
      collect() {
        this.reset();
        const v = controller.view();
        for (const r of v.replicas) {
          const state = r.phase === 'terminating' ? 'terminating' : r.phase === 'starting' ? 'starting' : r.ready ? 'ready' : 'unready';
          this.inc({ zone: r.zone, version: r.version, state });
        }
        // Keep every zone × version × "ready" series present, at 0 when empty (no missing series).
        for (const z of v.zones) for (const rs of v.replicaSets) this.inc({ zone: z.name, version: rs.version, state: 'ready' }, 0);
      },
    });

    new Gauge({
      name: 'zerodrop_orchestrator_zone_up',
      help: '1 while a zone is up, 0 while a zone failure is injected.',
      labelNames: ['zone'],
      registers,
      collect() {
        for (const z of controller.view().zones) this.set({ zone: z.name }, z.up ? 1 : 0);
      },
    });

    new Gauge({
      name: 'zerodrop_orchestrator_rollout_in_progress',
      help: `1 while a rollout is in progress and for ${holdMs} ms after it ends, so a scrape sees even a rollout shorter than the scrape interval (Grafana draws it as a region annotation).`,
      registers,
      collect() {
        const held = rolloutEndedMs !== null && clock.now() - rolloutEndedMs < holdMs;
        this.set(controller.rolloutInProgress || held ? 1 : 0);
      },
    });

    new Gauge({
      name: 'zerodrop_orchestrator_deployment_revision',
      help: 'Revision of the current pod template.',
      registers,
      collect() {
        this.set(controller.currentRevision);
      },
    });

    const finals = new Gauge({
      name: 'zerodrop_orchestrator_replica_final_responses',
      help: 'Traffic responses a retired replica served, read from its metrics after it drained and before SIGTERM.',
      labelNames: ['replica', 'zone', 'version'],
      registers,
    });
    const started = new Counter({
      name: 'zerodrop_orchestrator_replicas_started_total',
      help: 'Replicas started.',
      labelNames: ['zone', 'version'],
      registers,
    });
    const retired = new Counter({
      name: 'zerodrop_orchestrator_replicas_retired_total',
      help: 'Replicas that exited, by how: graceful (inside the grace period), killed (SIGKILL), crashed.',
      labelNames: ['zone', 'version', 'kind'],
      registers,
    });
    const rollouts = new Counter({
      name: 'zerodrop_orchestrator_rollouts_total',
      help: 'Rollouts by result: started, completed, failed.',
      labelNames: ['result'],
      registers,
    });
    const breaches = new Counter({
      name: 'zerodrop_orchestrator_invariant_breaches_total',
      help: 'Steps that broke available ≥ replicas − maxUnavailable or total ≤ replicas + maxSurge (must stay 0).',
      labelNames: ['invariant'],
      registers,
    });
    const eventTime = new Gauge({
      name: 'zerodrop_orchestrator_event_timestamp_seconds',
      help: 'Unix time of the last event of each kind (Grafana: series value as timestamp, × 1000).',
      labelNames: ['event'],
      registers,
    });
    for (const result of ['started', 'completed', 'failed']) rollouts.inc({ result }, 0);
    for (const invariant of ['min-available', 'max-total']) breaches.inc({ invariant }, 0);

    const onEvent = (e: TimelineEvent): void => {
      switch (e.type) {
        case 'replica.started':
          started.inc({ zone: e.zone, version: e.version });
          break;
        case 'replica.terminated':
          retired.inc({ zone: e.zone, version: e.version, kind: e.exit });
          break;
        case 'replica.final-counts':
          if (e.responses !== null) finals.set({ replica: e.replica, zone: e.zone, version: e.version }, e.responses);
          break;
        case 'rollout.started':
          rollouts.inc({ result: 'started' });
          break;
        case 'rollout.completed':
          rollouts.inc({ result: 'completed' });
          rolloutEndedMs = clock.now();
          break;
        case 'rollout.failed':
          rollouts.inc({ result: 'failed' });
          rolloutEndedMs = clock.now();
          break;
        case 'invariant.breach':
          breaches.inc({ invariant: e.invariant });
          break;
        default:
          break;
      }
      if (e.type === 'rollout.started' || e.type === 'rollout.completed' || e.type === 'zone.down' || e.type === 'zone.up') {
        eventTime.set({ event: e.type.replace('.', '_') }, Date.now() / 1000);
      }
    };
    for (const e of controller.timeline) onEvent(e);
    rolloutEndedMs = null; // replayed events are history, not a rollout that just ended
    controller.on('event', onEvent);
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
