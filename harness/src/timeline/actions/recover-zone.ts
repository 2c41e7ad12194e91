/** recover-zone: a failed zone comes back (its nodes are schedulable again); judged by having run. */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, name } from '../../scenario/fields.js';
import { managed, zoneShare, type ActionDef, type StepBase } from '../types.js';
import { recoverZoneJudge } from '../judge.js';
import { zoneUpOutcome } from '../outcome.js';

const INSTANT_STEP_WINDOW_MS = 2000;

const schema = z.strictObject({ at: duration, action: z.literal('recover-zone'), zone: name });

export interface RecoverZoneStep extends StepBase {
  kind: 'recover-zone';
  zone: string;
}

export const recoverZone: ActionDef<z.output<typeof schema>, RecoverZoneStep> = {
  action: 'recover-zone',
  schema,
  plan: (step) => ({ atMs: step.at, kind: 'recover-zone', label: `zone ${step.zone} recovers at ${formatDuration(step.at)}`, zone: step.zone }),
  async execute(step, ctx) {
    const controller = managed(ctx);
    await controller.recoverZone(step.zone);
    return { outcome: 'done', detail: null };
  },
  outcome: zoneUpOutcome,
  judge: recoverZoneJudge,
  // No effect that lasts: a short window after it.
  windowEnd: (o) => (o.ran ? o.ran.startedMs + INSTANT_STEP_WINDOW_MS : null),
  disruptionKind: 'zone-recover',
  // The zone's share comes back to it.
  replicaStarts: (_step, d) => zoneShare(d),
  disruptive: false,
};
