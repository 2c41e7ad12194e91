/**
 * rotate-secret: a new value for one of the Deployment's secrets, rolled out with the old value
 * still accepted (the overlap window); the clients switch once no old replica is routed. Judged
 * like a rollout, from the timeline events it produces.
 */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, name } from '../../scenario/fields.js';
import { managed, type ActionDef, type StepBase } from '../types.js';
import { rolloutJudge } from '../judge.js';
import { rolloutOutcome } from '../outcome.js';

const schema = z.strictObject({ at: duration, action: z.literal('rotate-secret'), name });

export interface RotateSecretStep extends StepBase {
  kind: 'rotate-secret';
  name: string;
}

export const rotateSecret: ActionDef<z.output<typeof schema>, RotateSecretStep> = {
  action: 'rotate-secret',
  schema,
  fixes: { 'timeline.*.name': 'the name of a secret under deployment.secrets, e.g. name: token' },
  plan: (step) => ({ atMs: step.at, kind: 'rotate-secret', label: `rotate secret ${step.name} at ${formatDuration(step.at)}`, name: step.name }),
  async execute(step, ctx) {
    const controller = managed(ctx);
    if (!ctx.secrets) return { outcome: 'invalid', detail: `rotate-secret ${step.name}: the deployment has no secrets` };
    const done = await ctx.secrets.rotate(step.name, controller, (h) => ctx.setHeaders?.(h));
    ctx.log(
      `${done.outcome === 'complete' ? '✔' : '✘'} ${step.label}: rolled out in ${(done.durationMs / 1000).toFixed(1)}s, clients switched to the new value`,
    );
    return { outcome: done.outcome === 'complete' ? 'done' : 'failed', detail: done.reason };
  },
  outcome: rolloutOutcome,
  judge: rolloutJudge,
  // Until its own revision completed, or its runner gave up.
  windowEnd: (o) => o.endMs ?? o.ran?.endedMs ?? null,
  disruptionKind: 'rotate-secret',
};
