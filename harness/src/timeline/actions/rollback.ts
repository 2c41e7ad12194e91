/** rollback: back to a previous revision (the last one by default); judged like a rollout. */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration } from '../../scenario/fields.js';
import { managed, type ActionDef, type StepBase } from '../types.js';
import { rolloutJudge } from '../judge.js';
import { rolloutOutcome } from '../outcome.js';

const schema = z.strictObject({ at: duration, action: z.literal('rollback'), toRevision: z.number().int().min(1).optional() });

export interface RollbackStep extends StepBase {
  kind: 'rollback';
  toRevision: number | undefined;
}

export const rollback: ActionDef<z.output<typeof schema>, RollbackStep> = {
  action: 'rollback',
  schema,
  plan: (step) => ({ atMs: step.at, kind: 'rollback', label: `rollback at ${formatDuration(step.at)}`, toRevision: step.toRevision }),
  async execute(step, ctx) {
    const controller = managed(ctx);
    const done = await controller.rollback(step.toRevision).done;
    return { outcome: done.outcome === 'complete' ? 'done' : 'failed', detail: done.reason };
  },
  outcome: rolloutOutcome,
  judge: rolloutJudge,
  // Until its own revision completed, or its runner gave up.
  windowEnd: (o) => o.endMs ?? o.ran?.endedMs ?? null,
  disruptionKind: 'rollback',
  replicaStarts: (_step, d) => d.replicas,
};
