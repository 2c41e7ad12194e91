/** scale: a new replica count; judged by having run. */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration } from '../../scenario/fields.js';
import { managed, type ActionDef, type StepBase } from '../types.js';
import { scaleJudge } from '../judge.js';
import { scaleOutcome } from '../outcome.js';

const schema = z.strictObject({ at: duration, action: z.literal('scale'), replicas: z.number().int().min(0).max(64) });

export interface ScaleStep extends StepBase {
  kind: 'scale';
  replicas: number;
}

export const scale: ActionDef<z.output<typeof schema>, ScaleStep> = {
  action: 'scale',
  schema,
  plan: (step) => ({ atMs: step.at, kind: 'scale', label: `scale to ${step.replicas} at ${formatDuration(step.at)}`, replicas: step.replicas }),
  async execute(step, ctx) {
    const controller = managed(ctx);
    controller.scale(step.replicas);
    return { outcome: 'done', detail: null };
  },
  outcome: scaleOutcome,
  judge: scaleJudge,
  disruptionKind: 'scale',
  replicaStarts: (step) => step.replicas,
};
