/** rollout: a new template (version, env, image, command); judged complete while under load. */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, envMap, version } from '../../scenario/fields.js';
import { managed, type ActionDef, type PodTemplate, type StepBase } from '../types.js';
import { rolloutJudge } from '../judge.js';
import { rolloutOutcome } from '../outcome.js';

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
    const env = ctx.secrets?.rolloutEnv(step.patch.env);
    const done = await controller.rolloutTo(env ? { ...step.patch, env } : step.patch).done;
    log(
      `${done.outcome === 'complete' ? '✔' : '✘'} ${step.label}: ${done.outcome} in ${(done.durationMs / 1000).toFixed(1)}s${done.reason ? ` (${done.reason})` : ''}`,
    );
    return { outcome: done.outcome === 'complete' ? 'done' : 'failed', detail: done.reason };
  },
  outcome: rolloutOutcome,
  judge: rolloutJudge,
  // Until its own revision completed, or its runner gave up.
  windowEnd: (o) => o.endMs ?? o.ran?.endedMs ?? null,
  disruptionKind: 'rollout',
  // A surge rollout replaces every replica.
  replicaStarts: (_step, d) => d.replicas,
};
