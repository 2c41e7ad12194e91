/** rollout: a new template (version, env, image, command); judged complete while under load. */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, envMap, version } from '../../scenario/fields.js';
import { stepCheck, managed, type ActionDef, type PodTemplate, type StepBase } from '../types.js';

const schema = z.strictObject({
  at: duration,
  action: z.literal('rollout'),
  version,
  env: envMap.optional(),
  image: z.string().min(1).optional(),
  command: z.array(z.string().min(1)).min(1).optional(),
  /** Negative controls for the new version only (sample-app). */
  appFaults: z.array(z.string()).optional(),
});

export interface RolloutStep extends StepBase {
  kind: 'rollout';
  patch: Partial<PodTemplate>;
}

export const rollout: ActionDef<z.output<typeof schema>, RolloutStep> = {
  action: 'rollout',
  schema,
  plan(step, { scenario: s, sampleAppCommand }) {
    const patch: Partial<PodTemplate> = { version: step.version };
    if (step.env) patch.env = { ...s.target.env, ...step.env };
    if (step.image) patch.image = step.image;
    if (step.command) patch.command = step.command;
    if (step.appFaults) {
      const command = sampleAppCommand([...s.target.appFaults, ...step.appFaults]);
      if (command) patch.command = command;
    }
    return { atMs: step.at, kind: 'rollout', label: `rollout ${step.version} at ${formatDuration(step.at)}`, patch };
  },
  async execute(step, ctx) {
    const controller = managed(ctx);
    const log = ctx.log;
    const done = await controller.rolloutTo(step.patch).done;
    log(`${done.outcome === 'complete' ? '✔' : '✘'} ${step.label}: ${done.outcome} in ${(done.durationMs / 1000).toFixed(1)}s${done.reason ? ` (${done.reason})` : ''}`);
    return { outcome: done.outcome === 'complete' ? 'done' : 'failed', detail: done.reason };
  },
  checks: (step, id, ran, ctx) => [completedUnderLoad(step.label, id, ran, ctx.events, ctx.sendEnd)],
  windowEnd: (ran) => ran.endedMs,
  disruptionKind: 'rollout',
};

/** Shared with rollback: the rollout it started completed before the load ended. */
export function completedUnderLoad(label: string, id: string, ran: { startedMs: number; detail: string | null; outcome: string }, events: { type: string; t: number }[], sendEnd: number) {
  const completed = events.find((e) => e.type === 'rollout.completed' && e.t >= ran.startedMs);
  const inLoad = completed !== undefined && completed.t <= sendEnd;
  return stepCheck(id, `${label}: completed under load`, inLoad ? 'pass' : 'fail',
    'rollout complete (all replicas updated and available) before the load ended',
    completed ? `completed in ${((completed.t - ran.startedMs) / 1000).toFixed(1)} s${inLoad ? '' : ' — after the load had ended'}` : `not completed (${ran.detail ?? ran.outcome})`,
    inLoad ? undefined : 'a rollout that never finishes (readiness never true, progress deadline) is a failed deploy; if it was just slow, start it earlier or lengthen the load');
}
