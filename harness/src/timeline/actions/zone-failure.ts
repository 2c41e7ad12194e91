/**
 * crash-zone and hang-zone: every replica of a zone killed (SIGKILL) or frozen (SIGSTOP: TCP
 * accepts, nothing answers). One module for both: they differ only in how the zone fails.
 * Judged by being injected and by the workload getting back to full strength under load.
 */
import { z } from 'zod';
import { formatDuration } from '../../scenario/duration.js';
import { duration, name } from '../../scenario/fields.js';
import { managed, zoneShare, type ActionDef, type StepBase } from '../types.js';
import { zoneFailureJudge } from '../judge.js';
import { zoneDownOutcome } from '../outcome.js';

export interface ZoneFailureStep extends StepBase {
  kind: 'crash-zone' | 'hang-zone';
  zone: string;
}

function zoneFailure<A extends 'crash-zone' | 'hang-zone'>(action: A) {
  const schema = z.strictObject({ at: duration, action: z.literal(action), zone: name });
  const mode = action === 'crash-zone' ? 'crash' : 'hang';
  const def: ActionDef<z.output<typeof schema>, ZoneFailureStep> = {
    action,
    schema,
    plan: (step) => ({ atMs: step.at, kind: action, label: `zone ${step.zone} ${mode} at ${formatDuration(step.at)}`, zone: step.zone }),
    async execute(step, ctx) {
      const controller = managed(ctx);
      await controller.failZone(step.zone, mode);
      return { outcome: 'done', detail: null };
    },
    outcome: zoneDownOutcome,
    judge: zoneFailureJudge,
    checkSuffixes: ['-injected', '-recovered'],
    disruptionKind: action === 'crash-zone' ? 'zone-crash' : 'zone-hang',
    // The zone's replicas are replaced in the others.
    replicaStarts: (_step, d) => zoneShare(d),
  };
  return def;
}

export const crashZone = zoneFailure('crash-zone');
export const hangZone = zoneFailure('hang-zone');
